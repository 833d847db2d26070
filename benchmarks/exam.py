"""Benchmark: ``derive exam`` on the shipped 2-3-3-1 problem (goal: 200 variants verified in
under 10 s before TeX; exam.pdf plus key.pdf in under 60 s on a 2-core machine).

It times, in one process, the stages the command runs:

* variants: drawing (with the constraint redraws), substitution and verification of every
  variant, the derivation of the network's formulas included (done once);
* LaTeX source: the exam and key documents (whole, and cut in one part per core);
* PDF: compiling the parts concurrently (one per core) and joining them with pdfunite;

and prints the figures with the page counts. Nothing is written outside a temporary folder.

Run from the repository root:  python benchmarks/exam.py [--variants 200] [--seed 2026] [--tex-only]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

from derive.exam import documents, exam_blocks, key_blocks, solve_variants, variant_numbers
from derive.loader import load_problem
from derive.pdf import Engine, compile_joined

PROBLEM = Path(__file__).resolve().parent.parent / "problems" / "relu-2-3-3-1-batch.yaml"


def pages(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        info = subprocess.run(["pdfinfo", handle.name], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tex-only", action="store_true", help="stop before compiling LaTeX")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"{platform.processor() or platform.machine()}, {cores} cores, Python {platform.python_version()}")
    problem = load_problem(PROBLEM)
    sheets = variant_numbers(args.variants)

    start = time.perf_counter()
    variants = solve_variants(problem, args.seed, sheets)
    solved = time.perf_counter() - start
    numbers = sum(v.verified.report.quantities_checked for v in variants)
    print(f"variants drawn, substituted and verified: {len(variants)} in {solved:.2f} s "
          f"({numbers} numbers checked against NumPy; goal < 10 s)")

    start = time.perf_counter()
    sheet_blocks, answer_blocks = exam_blocks(variants, sheets), key_blocks(variants)
    whole = documents(sheet_blocks, problem.title, args.seed)[0], documents(answer_blocks, problem.title, args.seed)[0]
    sources = {"exam": documents(sheet_blocks, problem.title, args.seed, cores),
               "key": documents(answer_blocks, problem.title, args.seed, cores)}
    rendered = time.perf_counter() - start
    print(f"LaTeX source: exam.tex {len(whole[0]) / 1e6:.1f} MB, key.tex {len(whole[1]) / 1e6:.1f} MB "
          f"in {rendered:.2f} s")
    print(f"before TeX: {solved + rendered:.2f} s")
    if args.tex_only:
        return

    start = time.perf_counter()
    pdfs = compile_joined(sources, Engine.find(single_pass=True), workers=cores)
    compiled = time.perf_counter() - start
    print(f"PDF: exam.pdf {pages(pdfs['exam'])} pages, key.pdf {pages(pdfs['key'])} pages, "
          f"{sum(len(p) for p in sources.values())} parts on {cores} cores in {compiled:.1f} s")
    print(f"total: {solved + rendered + compiled:.1f} s (goal < 60 s)")


if __name__ == "__main__":
    main()
