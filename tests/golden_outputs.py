"""Golden outputs: every shipped problem's files as derive writes them, for byte-for-byte tests.

``python tests/golden_outputs.py`` (from the repository root) rewrites ``tests/golden/``; review
the diff before committing: an intended change of output is a reviewed update of a golden file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
EXAM_SEED = 7
EXAM_VARIANTS = (1, 2)


def outputs(problem_path: Path) -> dict[str, str]:
    """Every file derive writes for one shipped problem (name -> text), each with the provenance
    comment the command line puts at its top."""
    from derive.answer_key import answer_key
    from derive.exam import documents, exam_blocks, key_blocks, key_json, solve_variants
    from derive.files import provenance, with_provenance
    from derive.loader import load_problem
    from derive.moodle import quiz_xml
    from derive.pipeline import solve, solve_compared
    from derive.quantities import answers_template
    from derive.sheet import answers_tex, worksheet_tex
    from derive.terminal import worked_solution

    relative = problem_path.relative_to(ROOT).as_posix()
    problem = load_problem(relative)
    verified = solve(problem)
    files = {
        "worksheet.tex": worksheet_tex(verified),
        "answers.tex": answers_tex(verified, solve_compared(problem, verified)),
        "solve.txt": worked_solution(verified) + "\n",
        "key.json": json.dumps(answer_key(verified), indent=2) + "\n",
        "template.yaml": answers_template(problem),
    }
    if problem.randomisation is not None:
        variants = solve_variants(problem, EXAM_SEED, list(EXAM_VARIANTS))
        files["exam.tex"] = documents(exam_blocks(variants, list(EXAM_VARIANTS)), problem.title, EXAM_SEED)[0]
        files["exam-key.tex"] = documents(key_blocks(variants), problem.title, EXAM_SEED)[0]
        files["exam-key.json"] = json.dumps(key_json(problem, EXAM_SEED, variants), indent=2) + "\n"
        category = f"derive/{problem_path.stem}-seed-{EXAM_SEED}"
        files["quiz.xml"] = quiz_xml([(v.number, v.verified) for v in variants], category)
    exam_files = ("exam.tex", "exam-key.tex", "exam-key.json", "quiz.xml")
    return {name: with_provenance(name, text, provenance(problem.source, problem.sha256,
                                                         EXAM_SEED if name in exam_files else None))
            for name, text in files.items()}


def main() -> int:
    import os

    os.chdir(ROOT)
    for path in PROBLEMS:
        folder = GOLDEN / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, text in outputs(path).items():
            (folder / name).write_text(text, encoding="utf-8")
        print(f"{folder.relative_to(ROOT)}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
