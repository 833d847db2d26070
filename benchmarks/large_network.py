"""Benchmark: ``derive solve`` on a large sigmoid network, the whole process (goal: 32-64-64-10,
one example, one step, under 5 s on a 2-core machine, every key verified).

The problem file (weights, biases, the example and its target drawn from a fixed seed, 2
decimals) is written to a temporary folder; ``python -m derive solve FILE`` runs ``--repeats``
times in a fresh process each and the best wall time, its CPU time (user + system of the child)
and the load average are printed with derive's own verification line.

Run from the repository root:  python benchmarks/large_network.py [--sizes 32-64-64-10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

import machine  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parent.parent


def problem_file(sizes: list[int], folder: Path) -> Path:
    """A sigmoid/half_mse problem of these layer sizes with seeded random numbers."""
    rng = random.Random(20260101)
    u = lambda low=-1.0: round(rng.uniform(low, 1.0), 2)  # noqa: E731
    parameters = {}
    for l in range(1, len(sizes)):
        parameters[f"W{l}"] = [[u() for _ in range(sizes[l - 1])] for _ in range(sizes[l])]
        parameters[f"b{l}"] = [u() for _ in range(sizes[l])]
    document = {
        "title": f"One SGD step in a {'-'.join(map(str, sizes))} sigmoid network",
        "network": {"layers": sizes, "activations": ["sigmoid"] * (len(sizes) - 1), "loss": "half_mse"},
        "parameters": parameters,
        "data": {"inputs": [[u() for _ in range(sizes[0])]], "targets": [[u(0.0) for _ in range(sizes[-1])]]},
        "training": {"learning_rate": 0.5, "steps": 1},
        "answers": {"decimals": 4},
    }
    path = folder / "large.yaml"
    path.write_text(yaml.safe_dump(document, default_flow_style=None))
    return path


def run_once(path: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, its verification line)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "derive", "solve", str(path)], capture_output=True, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="32-64-64-10")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split("-")]
    print(machine.describe())
    with tempfile.TemporaryDirectory() as folder:
        path = problem_file(sizes, Path(folder))
        runs = [run_once(path) for _ in range(args.repeats)]
    wall, cpu, line = min(runs)
    print(f"derive solve {args.sizes} (one example, one step): best of {args.repeats} {wall:.2f} s wall, "
          f"{cpu:.2f} s CPU (all: {', '.join(f'{w:.1f}' for w, _, _ in runs)} s; goal < 5 s)")
    print(line)


if __name__ == "__main__":
    main()
