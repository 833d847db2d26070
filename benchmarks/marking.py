"""Benchmark: how long ``derive.marking.mark`` takes on each shipped problem.

For each problem it solves once, then builds a student's answers from the verified key (every
value rounded to the sheet's decimals, one value in three off by 0.3, so that the follow-through
and the mistake catalogue run), and times ``mark`` (best of ``--repeats``); "one slip" is the mean
time for sheets with a single wrong value each (what benchmarks/serve.py's students send). Marking reruns the
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


def student(verified, slipped=lambda i: i % 3 == 1) -> StudentAnswers:
    """The rounded key with 0.3 added to the quantities ``slipped`` picks (by position)."""
    expected = expected_values(verified)
    decimals = verified.problem.answers.decimals
    values = []
    for i, item in enumerate(asked_quantities(verified.problem)):
        value = round(expected[item.name], decimals)
        values.append((item.name, value + 0.3 if slipped(i) else value))
    return StudentAnswers("benchmark", tuple(values))


def one_slip(verified, sheets: int = 20) -> float:
    """Mean seconds to mark a sheet with one slip (at a different quantity on each sheet), as
    each simulated student of benchmarks/serve.py sends."""
    total = len(asked_quantities(verified.problem))
    students = [student(verified, lambda i, k=k: i == k * total // sheets) for k in range(sheets)]
    start = time.perf_counter()
    for answers in students:
        mark(verified, answers)
    return (time.perf_counter() - start) / sheets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'problem':26} {'quantities':>10} {'variants':>12} {'mark (ms)':>10} {'one slip':>9}  score")
    for path in sorted(PROBLEMS.glob("*.yaml")):
        verified = solve(load_problem(path))
        answers = student(verified)
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            marking = mark(verified, answers)
            best = min(best, time.perf_counter() - start)
        runs = len(mistake_variants(verified.problem))
        print(f"{path.stem:26} {marking.total:>10} {runs:>12} {best * 1000:>10.1f} {one_slip(verified) * 1000:>9.1f}"
              f"  {marking.score:g}/{marking.total}")


if __name__ == "__main__":
    main()
