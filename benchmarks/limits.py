"""Benchmark behind derive/limits.py: how long the work each limit bounds takes at sizes near it.

Prints, for the shipped 2-2-1 sigmoid problem changed one size at a time: ``derive solve``'s
pipeline (derivation, substitution, verification, terminal text) against the layer width and
the number of steps and examples; the time per exam variant; the time per randomisation draw
when no draw meets the constraints; and the time to read a YAML file near the size limit. The
limits themselves are lifted here, so that sizes beyond them can be timed. Run from the
repository root:  python benchmarks/limits.py [--quick]
"""

from __future__ import annotations

import argparse
import copy
import platform
import time
from pathlib import Path

import yaml

from derive import limits
from derive.exam import solve_variants
from derive.loader import parse_problem
from derive.pipeline import solve
from derive.randomise import make_variant
from derive.errors import ProblemError
from derive.terminal import worked_solution

SIGMOID = Path(__file__).resolve().parent.parent / "problems" / "sgd-sigmoid-hidden.yaml"


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def document() -> dict:
    return yaml.safe_load(SIGMOID.read_text(encoding="utf-8"))


def layered(layers: list[int]) -> str:
    """The sigmoid problem with the given layer sizes (every weight and bias 0.1, inputs 0.5)."""
    doc = document()
    doc.pop("randomisation")
    doc["network"].update(layers=layers, activations=["sigmoid"] * (len(layers) - 1))
    doc["parameters"] = {}
    for l in range(1, len(layers)):
        doc["parameters"][f"W{l}"] = [[0.1] * layers[l - 1] for _ in range(layers[l])]
        doc["parameters"][f"b{l}"] = [0.1] * layers[l]
    doc["data"] = {"inputs": [[0.5] * layers[0]], "targets": [[1.0] * layers[-1]]}
    return yaml.safe_dump(doc)


def stepped(steps: int, examples: int = 1) -> str:
    doc = document()
    doc.pop("randomisation")
    doc["training"]["steps"] = steps
    doc["data"] = {"inputs": [[0.5, 0.9]] * examples, "targets": [[1.0]] * examples}
    return yaml.safe_dump(doc)


def report(label: str, text: str) -> None:
    print(f"solve, {label}: {timed(lambda: worked_solution(solve(parse_problem(text)))):.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer sizes")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    solve(parse_problem(SIGMOID.read_text(encoding="utf-8")))  # warm up imports and caches
    for name in dir(limits):
        if name.startswith("MAX_") and name not in ("MAX_FILE_BYTES", "MAX_YAML_DEPTH"):
            setattr(limits, name, 10**12)
    for width in (2, 8, 16) if args.quick else (2, 4, 8, 16, 32, 48):
        report(f"layers [{width}, {width}, 1] ({width * width + 2 * width + 1} parameters)", layered([width, width, 1]))
    if not args.quick:
        report("layers [32, 32, 10] (1,386 parameters)", layered([32, 32, 10]))
        report("layers [16] * 8 (1,904 parameters)", layered([16] * 8))
    for steps, examples in ((1, 1), (100, 1), (1, 100)) if args.quick else ((1, 1), (100, 1), (1000, 1), (1, 100), (100, 100)):
        report(f"{steps} steps of {examples} examples", stepped(steps, examples))
    problem = parse_problem(SIGMOID.read_text(encoding="utf-8"))
    count = 10 if args.quick else 40
    seconds = timed(lambda: solve_variants(problem, 2026, list(range(1, count + 1))))
    print(f"exam variants drawn and verified: {seconds / count * 1000:.0f} ms per variant ({count} variants)")
    doc = document()
    doc["randomisation"]["constraints"]["max_abs_z"] = 1e-9
    doc["randomisation"]["max_draws"] = 2000
    impossible = parse_problem(yaml.safe_dump(doc))

    def draw_all():
        try:
            make_variant(impossible, 1, 1)
        except ProblemError:
            pass

    print(f"randomisation draws that fail: {timed(draw_all) / 2000 * 1000:.2f} ms per draw")
    text = "title: big\ninstructions: x\nparameters:\n" + "".join(
        f"  W{i}: [{', '.join(['0.125'] * 20)}]\n" for i in range(7000))
    seconds = timed(lambda: _parse_quietly(text))
    print(f"reading a {len(text.encode()) / 1e6:.2f} MB problem file: {seconds:.1f} s")


def _parse_quietly(text: str) -> None:
    try:
        parse_problem(text)
    except ProblemError:
        pass


if __name__ == "__main__":
    main()
