"""Benchmark: how long ``derive.marking.mark`` takes on each shipped problem.

For each problem it solves once, then builds a student's answers from the verified key (every
value rounded to the sheet's decimals, one value in three off by 0.3, so that the follow-through
and the mistake catalogue run), and times ``mark`` (best of ``--repeats``). Marking reruns the
steps it needs 4 times the honest ways and once per catalogue variant from the student's values
(the variants' runs from the start are made once per problem, so the first call, not timed here,
is slower), plus pairs of mistakes for the values no single one explains (bounded per sheet).

Run from the repository root:  python benchmarks/marking.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from derive.loader import load_problem
from derive.marking import expected_values, mark
from derive.mistakes import mistake_variants
from derive.pipeline import solve
from derive.quantities import StudentAnswers, asked_quantities

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


def student(verified) -> StudentAnswers:
    expected = expected_values(verified)
    decimals = verified.problem.answers.decimals
    values = []
    for i, item in enumerate(asked_quantities(verified.problem)):
        value = round(expected[item.name], decimals)
        values.append((item.name, value + 0.3 if i % 3 == 1 else value))
    return StudentAnswers("benchmark", tuple(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'problem':26} {'quantities':>10} {'variants':>12} {'mark (ms)':>10}  score")
    for path in sorted(PROBLEMS.glob("*.yaml")):
        verified = solve(load_problem(path))
        answers = student(verified)
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            marking = mark(verified, answers)
            best = min(best, time.perf_counter() - start)
        runs = len(mistake_variants(verified.problem))
        print(f"{path.stem:26} {marking.total:>10} {runs:>12} {best * 1000:>10.1f}  {marking.score:g}/{marking.total}")


if __name__ == "__main__":
    main()
