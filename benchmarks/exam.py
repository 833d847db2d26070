"""Benchmark: ``derive exam`` on the shipped 2-3-3-1 problem (goals, on a 2-core machine: 200
variants drawn, solved and verified in under 1 s, the derivation included; exam.pdf plus key.pdf
in under 60 s; 10,000 variants with key.json and quiz.xml in under 60 s and 2 GB).

It times, in one process, the stages the command runs, each as wall time and CPU time (other
jobs share the machine: the load average is printed, and CPU time is what the code costs):

* variants: the derivation of the network's formulas (once, cold), drawing with the
  constraint redraws, substitution and verification of every variant (in batches);
* LaTeX source: the exam and key documents (whole, and cut in one part per core);
* PDF: compiling the parts concurrently (one per core) and joining them with pdfunite;

and prints the figures with the page counts. ``--command`` instead runs the whole
``derive exam ... --tex-only --moodle`` in a child process and reports its time and peak memory.
Nothing is written outside a temporary folder.

Run from the repository root:
    python benchmarks/exam.py [--variants 200] [--seed 2026] [--tex-only]
    python benchmarks/exam.py --variants 10000 --command [--canvas]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from derive import pipeline
from derive.exam import documents, exam_blocks, key_blocks, solve_variants, variant_numbers
from derive.loader import load_problem
from derive.pdf import Engine, compile_joined
from derive.randomise import make_variants
from derive.verify import verify_many
from derive.worked import substitute_many

import machine  # benchmarks/machine.py

PROBLEM = Path(__file__).resolve().parent.parent / "problems" / "relu-2-3-3-1-batch.yaml"


def pages(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        info = subprocess.run(["pdfinfo", handle.name], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


class Clock:
    """Wall and CPU seconds of a stage."""

    def __enter__(self) -> "Clock":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU"


def stages(problem, seed: int, count: int) -> None:
    """The variants' stages one by one, cold (nothing derived or compiled yet in this process)."""
    with Clock() as derived:
        derivation = pipeline.derivation(problem.network)
    with Clock() as drawn:
        drawn_variants = make_variants(problem, seed, range(1, count + 1))
    with Clock() as substituted:
        solutions = substitute_many(drawn_variants, derivation)
    with Clock() as verified:
        verify_many(solutions)
    parts = (derived, drawn, substituted, verified)
    print(f"variants drawn, substituted and verified, cold: {count} in {sum(c.wall for c in parts):.2f} s wall, "
          f"{sum(c.cpu for c in parts):.2f} s CPU (goal < 1 s): derivation {derived}; drawing {drawn}; "
          f"substitution {substituted}; verification {verified}")


def command(count: int, seed: int, canvas: bool = False) -> None:
    """The whole command in a child process: time, CPU and peak memory (the resident memory of
    the command and its worker processes together, sampled every 50 ms from /proc)."""
    options = ["--tex-only", "--moodle", *(["--canvas"] if canvas else [])]
    with tempfile.TemporaryDirectory() as folder:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "derive", "exam", str(PROBLEM), "--variants", str(count),
                                  "--seed", str(seed), *options, "-o", str(Path(folder) / "out")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env={**os.environ, "PYTHONPATH": str(PROBLEM.parent.parent)})
        peak = 0
        while child.poll() is None:
            peak = max(peak, tree_memory(child.pid))
            time.sleep(0.05)
        if child.returncode != 0:
            sys.exit(f"derive exam failed: {child.stderr.read().decode()}")
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        sizes = {p.name: p.stat().st_size for p in (Path(folder) / "out").iterdir()}
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"derive exam --variants {count:,} {' '.join(options)}: {wall:.1f} s wall, {cpu:.1f} s CPU, "
          f"peak memory {peak / 2**20:.0f} MB, all processes together (goal < 60 s, < 2 GB)")
    print("  " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sorted(sizes.items())))


def tree_memory(pid: int) -> int:
    """Resident bytes of process ``pid`` and all its descendants (Linux /proc)."""
    parents, resident = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            resident[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    family, total = {pid}, 0
    for _ in range(4):  # the command, its workers (and their helpers)
        family |= {p for p, parent in parents.items() if parent in family}
    return sum(resident.get(p, 0) for p in family)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tex-only", action="store_true", help="stop before compiling LaTeX")
    parser.add_argument("--command", action="store_true", help="time the whole derive exam command instead")
    parser.add_argument("--canvas", action="store_true", help="with --command: also write the Canvas package")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(machine.describe())
    if args.command:
        command(args.variants, args.seed, args.canvas)
        return
    problem = load_problem(PROBLEM)
    sheets = variant_numbers(args.variants)
    stages(problem, args.seed, args.variants)

    with Clock() as solved:
        variants = solve_variants(problem, args.seed, sheets)
    numbers = sum(v.verified.report.quantities_checked for v in variants)
    fd = sum(v.verified.report.gradients_checked_fd for v in variants)
    print(f"again (derivation cached, as for a second exam in one process): {solved} "
          f"({numbers} numbers checked against NumPy, {fd} gradients by finite differences)")

    with Clock() as rendered:
        sheet_blocks, answer_blocks = exam_blocks(variants, sheets), key_blocks(variants)
        whole = documents(sheet_blocks, problem.title, args.seed)[0], documents(answer_blocks, problem.title, args.seed)[0]
        sources = {"exam": documents(sheet_blocks, problem.title, args.seed, cores),
                   "key": documents(answer_blocks, problem.title, args.seed, cores)}
    print(f"LaTeX source: exam.tex {len(whole[0]) / 1e6:.1f} MB, key.tex {len(whole[1]) / 1e6:.1f} MB in {rendered}")
    print(f"before TeX: {solved.wall + rendered.wall:.2f} s wall, {solved.cpu + rendered.cpu:.2f} s CPU")
    if args.tex_only:
        return

    start = time.perf_counter()
    pdfs = compile_joined(sources, Engine.find(single_pass=True), workers=cores)
    compiled = time.perf_counter() - start
    print(f"PDF: exam.pdf {pages(pdfs['exam'])} pages, key.pdf {pages(pdfs['key'])} pages, "
          f"{sum(len(p) for p in sources.values())} parts on {cores} cores in {compiled:.1f} s")
    print(f"total: {solved.wall + rendered.wall + compiled:.1f} s (goal < 60 s)")


if __name__ == "__main__":
    main()
