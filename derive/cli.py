"""Command line: ``derive solve``, ``derive formulas`` and ``derive sheet``.

The CLI is one of the few places that touch files: it loads the problem, runs the pipeline and
writes outputs atomically (a temporary file moved into place), so a failure never leaves a
half-written file. Every :class:`DeriveError` becomes one line on stderr and its exit code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .derivation import derive as derive_formulas
from .errors import DeriveError
from .files import write_atomically
from .formulas import formulas as formula_list
from .loader import load_problem
from .pipeline import solve as solve_problem, solve_compared
from .answer_key import answer_key
from .terminal import formula_listing, worked_solution
from .pdf import build_sheet


class _Group(click.Group):
    """Maps derive's errors to one clear line and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DeriveError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(err.exit_code)


@click.group(cls=_Group)
@click.version_option(package_name="derive")
def main() -> None:
    """derive: backpropagation derived with SymPy, worked with numbers, verified with NumPy."""


@main.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the verified answer key as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the verification line.")
def solve(problem_file: Path, json_out: Path | None, quiet: bool) -> None:
    """Solve PROBLEM_FILE step by step and verify every number."""
    verified = solve_problem(load_problem(problem_file))
    if json_out is not None:
        write_atomically(json_out, json.dumps(answer_key(verified), indent=2) + "\n")
    click.echo(verified.report.summary() if quiet else worked_solution(verified))
    if json_out is not None:
        click.echo(f"answer key written to {json_out}")


@main.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
def formulas(problem_file: Path) -> None:
    """Print the general formulas SymPy derives for PROBLEM_FILE's network (text and LaTeX)."""
    problem = load_problem(problem_file)
    derivation = derive_formulas(problem.network)
    click.echo(formula_listing(formula_list(derivation), derivation.proofs))


@main.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.option("--output", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: output/<problem name>/).")
@click.option("--tex-only", is_flag=True, help="Write the .tex files only; no TeX engine needed.")
def sheet(problem_file: Path, out_dir: Path | None, tex_only: bool) -> None:
    """Write a worksheet and an answer key for PROBLEM_FILE as LaTeX and PDF."""
    problem = load_problem(problem_file)
    verified = solve_problem(problem)
    out_dir = out_dir if out_dir is not None else Path("output") / Path(problem_file).stem
    for path in build_sheet(verified, out_dir, tex_only=tex_only, compared=solve_compared(problem)):
        click.echo(f"written: {path}")
