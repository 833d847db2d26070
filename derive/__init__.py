"""derive: backpropagation exercises derived with SymPy, worked, verified and rendered.

Pipeline (one module per stage, data flowing one way):
spec/loader -> derivation -> worked (substitution) -> verify -> answer_key / terminal -> cli.
Marking a student's answers: verify + answers_loader -> marking (recompute, mistakes) -> check_report -> cli.
"""

__version__ = "0.1.0"
