"""derive: backpropagation exercises derived with SymPy, worked, verified and rendered.

Pipeline (one module per stage, data flowing one way):
spec/loader -> derivation -> worked, chain (substitution) -> verify -> answer_key / terminal / sheet
(LaTeX) -> pdf / cli. Exams: randomise (variants) -> the same pipeline -> exam, moodle -> pdf / cli.
Marking a student's answers: verify + answers_loader -> marking (recompute, mistakes) -> check_report -> cli.
"""

__version__ = "0.1.0"
