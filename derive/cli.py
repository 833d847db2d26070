"""Command line: ``derive solve``, ``formulas``, ``sheet``, ``exam``, ``check``, ``serve``, ``code`` and ``lab``.

The CLI is one of the few places that touch files: it loads the problem, runs the pipeline and
writes outputs atomically (a temporary file moved into place), so a failure never leaves a
half-written file. Every :class:`DeriveError` becomes one line on stderr and its exit code.
``derive check`` marks a student's answers file (see :mod:`derive.marking`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .derivation import derive as derive_formulas
from .entry import stop
from .errors import DeriveError, Interrupted, one_line
from .exam import (answer_blocks, document_parts, documents, exam_batches, exam_piece, exam_request, key_json_parts,
                   sheet_blocks, variant_numbers, BATCH, PARALLEL_BATCH, PARALLEL_FROM)
from .files import provenance, with_provenance, write_file, write_run
from .formulas import formulas as formula_list
from .loader import load_problem as _load_file
from .notation import PROFILES, for_problem
from .yaml_reader import read_yaml
from .roster import load_roster
from .canvas import canvas_package
from .moodle import quiz_parts
from .parallel import run_batches
from .pipeline import solve as solve_problem, solve_compared
from .randomise import make_variant
from .answer_key import answer_key
from .answers_loader import load_answers
from .check_report import marking_json, print_marking
from .marking import mark
from .quantities import answers_template
from .sentences import verification_sentence
from .terminal import formula_listing, worked_solution
from .pdf import Engine, build_sheet, compile_joined
from .codegen import Framework, code_script
from .lab import run_lab, torch_module
from .lab_loader import load_dataset, load_lab
from .lab_report import agreement_text, figures as lab_figures, report_tex, results_json
from .pdf import compile_pdf
from .i18n import LANGUAGES, language_problem


_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())


class _Group(click.Group):
    """Maps derive's errors, and click's usage errors, to one clear line and an exit code, never
    a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            # Overflow in a network's numbers gives inf or nan, which the verification reports
            # in derive's own message: NumPy's warnings would only print before it.
            with np.errstate(all="ignore"):
                return super().invoke(ctx)
        except DeriveError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:  # before click turns it into "Aborted!"
            raise Interrupted("interrupted", 130) from None

    def main(self, *args, **kwargs):
        kwargs.pop("standalone_mode", None)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except _NO_ARGS as err:  # no command at all: the help, as click shows it
            click.echo(err.format_message(), err=True)
            sys.exit(err.exit_code)
        except click.UsageError as err:
            where = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
            click.echo(f"error: {one_line(err.format_message())}{where}", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            click.echo(f"error: {one_line(err.format_message())}", err=True)
            sys.exit(err.exit_code)
        except Interrupted as interruption:  # also when started as derive.cli:main
            stop(interruption)
        sys.exit(code if isinstance(code, int) else 0)


def _check_language(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (wrong := language_problem(value)) is not None:
        raise click.BadParameter(wrong, ctx, param)
    return value


_language_option = click.option(
    "--lang", "language", callback=_check_language, metavar="|".join(LANGUAGES),
    help="Language of the sheets' text (default: the problem file's language:, else en).")


def _load(problem_file: Path, language: str | None = None, notation: str | None = None):
    """The problem, in ``language`` and ``notation`` when they are given on the command line."""
    problem = load_problem(problem_file, notation)
    return problem if language is None else replace(problem, language=language)


@click.group(cls=_Group)
@click.version_option(package_name="derive")
def main() -> None:
    """derive: backpropagation derived with SymPy, worked with numbers, verified with NumPy."""


#: ``--notation``, on the commands that write what a student reads (solve, sheet, exam, check).
notation_option = click.option("--notation", type=click.Choice(list(PROFILES)), default=None,
                               help="Notation profile (default: the problem file's `notation:`, else nielsen).")


def load_problem(path: Path, notation: str | None = None):
    """The problem file, with ``--notation`` (when given) in place of its own profile."""
    problem = _load_file(path)
    return problem if notation is None else dataclasses.replace(problem, notation=notation)


@main.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.argument("answers_file", type=click.Path(path_type=Path), required=False)
@click.option("--template", "template_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a blank answers file listing every asked quantity, then stop.")
@click.option("--seed", type=int, help="Exam seed (with --variant): check a variant of an exam set.")
@click.option("--variant", type=click.IntRange(min=1), help="Variant number, from 1 (with --seed).")
@click.option("--json", "as_json", is_flag=True, help="Print the marking as JSON instead of a table.")
@click.option("--force", is_flag=True, help="Replace or remove files that are not derive's own output.")
@notation_option
def check(problem_file: Path, answers_file: Path | None, template_out: Path | None, seed: int | None,
          variant: int | None, as_json: bool, force: bool, notation: str | None) -> None:
    """Check a student's ANSWERS_FILE for PROBLEM_FILE: right, follow-through or wrong, and why.

    Exit code 0 when every answer is right, 1 when any is wrong or missing, 2 for bad input.
    """
    if (seed is None) != (variant is None):
        raise click.UsageError("--seed and --variant go together: give both or neither")
    if (template_out is None) == (answers_file is None):
        raise click.UsageError("give either ANSWERS_FILE to check it, or --template FILE to write a blank one")
    problem = load_problem(problem_file, notation)
    if seed is not None:
        problem = make_variant(problem, seed, variant)
    if template_out is not None:
        line = provenance(problem.source, problem.sha256, seed, variant)
        where = write_file(template_out, with_provenance("template.yaml", answers_template(problem), line), _is_blank_template, force)
        if where != "standard output":
            click.echo(f"answers template written to {where}")
        return
    answers = load_answers(answers_file, problem)
    marking = mark(solve_problem(problem), answers)
    if as_json:
        variant_id = None if seed is None else (seed, variant)
        click.echo(json.dumps(marking_json(marking, variant_id), indent=2))
    else:
        print_marking(marking)
    sys.exit(0 if marking.all_correct else 1)


@main.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the verified answer key as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the verification line.")
@click.option("--force", is_flag=True, help="Replace or remove files that are not derive's own output.")
@_language_option
@notation_option
def solve(problem_file: Path, json_out: Path | None, quiet: bool, force: bool, language: str | None, notation: str | None) -> None:
    """Solve PROBLEM_FILE step by step and verify every number (--json -: the key on stdout only)."""
    verified = solve_problem(_load(problem_file, language, notation))
    if json_out is not None:
        where = write_file(json_out, json.dumps(answer_key(verified), indent=2) + "\n", _is_answer_key, force)
        if where == "standard output":
            return
    click.echo(verification_sentence(verified) if quiet else worked_solution(verified))
    if json_out is not None:
        click.echo(f"answer key written to {where}")


@main.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
def formulas(problem_file: Path) -> None:
    """Print the general formulas SymPy derives for PROBLEM_FILE's network (text and LaTeX)."""
    problem = load_problem(problem_file)
    derivation = derive_formulas(problem.network)
    click.echo(formula_listing(formula_list(derivation, for_problem(problem)), derivation.proofs))


@main.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.option("--output", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: output/<problem name>/).")
@click.option("--tex-only", is_flag=True, help="Write the .tex files only; no TeX engine needed.")
@click.option("--force", is_flag=True, help="Replace or remove files that are not derive's own output.")
@_language_option
@notation_option
def sheet(problem_file: Path, out_dir: Path | None, tex_only: bool, force: bool, language: str | None, notation: str | None) -> None:
    """Write a worksheet and an answer key for PROBLEM_FILE as LaTeX and PDF."""
    problem = _load(problem_file, language, notation)
    verified = solve_problem(problem)
    out_dir = out_dir if out_dir is not None else Path("output") / Path(problem_file).stem
    for path in build_sheet(verified, out_dir, tex_only, solve_compared(problem, verified), force):
        click.echo(f"written: {path}")


@main.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.option("--variants", "count", type=int, help="Number of variants (default with --roster: one per student).")
@click.option("--seed", type=click.IntRange(min=0), required=True, help="Seed: the same seed gives the same variants.")
@click.option("--roster", type=click.Path(path_type=Path), help="UTF-8 CSV with columns name,id: one stamped sheet per student.")
@click.option("--moodle", is_flag=True, help="Also write quiz.xml: one Moodle cloze question per variant.")
@click.option("--canvas", is_flag=True, help="Also write canvas-quiz.zip: a QTI 1.2 quiz for Canvas, a question group per variant.")
@click.option("--output", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: output/<problem name>-<seed>/).")
@click.option("--tex-only", is_flag=True, help="Write the .tex files (and key.json, quiz.xml, canvas-quiz.zip) only; no TeX engine needed.")
@click.option("--force", is_flag=True, help="Replace or remove files that are not derive's own output.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help=f"Worker processes (default: one per core from {PARALLEL_FROM:,} variants on, else 1).")
@_language_option
@notation_option
def exam(problem_file: Path, count: int | None, seed: int, roster: Path | None, moodle: bool, canvas: bool,
         out_dir: Path | None, tex_only: bool, force: bool, jobs: int | None, language: str | None,
         notation: str | None) -> None:
    """Write N randomised, verified variants of PROBLEM_FILE: exam.pdf, key.pdf, key.json (and quiz.xml)."""
    problem = _load(problem_file, language, notation)
    students = load_roster(roster) if roster is not None else ()
    sheets = variant_numbers(count, students)
    engine = None if tex_only else Engine.find(single_pass=True)  # the collections have no cross-references
    out_dir = out_dir if out_dir is not None else Path("output") / f"{Path(problem_file).stem}-{seed}"
    category = f"derive/{Path(problem_file).stem}-seed-{seed}"
    request = exam_request(problem, seed, sheets, students, category if moodle else None, canvas)
    workers = jobs if jobs is not None else (os.cpu_count() or 1) if len(set(sheets)) >= PARALLEL_FROM else 1
    batches = exam_batches(request, sheets, PARALLEL_BATCH if workers > 1 else BATCH)
    with _progress() as bar:
        drawn = bar.add_task("variants drawn, verified and laid out", total=len(set(sheets)))
        pieces = list(run_batches(exam_piece, batches, workers, done=lambda piece: bar.advance(drawn, len(piece.numbers))))
        sheet_pages, key_pages = sheet_blocks(pieces, sheets, students), answer_blocks(pieces)
        pdfs: dict[str, bytes] = {}
        if engine is not None:
            parts = os.cpu_count() or 1
            sources = {"exam": documents(sheet_pages, problem.title, seed, parts, problem.language),
                       "key": documents(key_pages, problem.title, seed, parts, problem.language)}
            compiling = bar.add_task("LaTeX parts compiled", total=sum(len(p) for p in sources.values()))
            compiled = compile_joined(sources, engine, done=lambda: bar.advance(compiling))
            pdfs = {f"{name}.pdf": content for name, content in compiled.items()}
        # The files are laid out and written under a bar of their own: for a large set that takes seconds.
        writing = bar.add_task("files written", total=3 + moodle + canvas + len(pdfs))
        files: dict[str, str | bytes | list[str]] = {
            "exam.tex": document_parts(sheet_pages, problem.title, seed, language=problem.language),
            "key.tex": document_parts(key_pages, problem.title, seed, language=problem.language),
            "key.json": key_json_parts(problem, seed, pieces),
        }
        if moodle:
            files["quiz.xml"] = quiz_parts(category, [piece.questions for piece in pieces])
        if canvas:
            files["canvas-quiz.zip"] = canvas_package([g for piece in pieces for g in piece.canvas], problem.title)
        files.update(pdfs)
        line = provenance(problem.source, problem.sha256, seed)
        files = {name: with_provenance(name, content, line) if not isinstance(content, bytes) else content
                 for name, content in files.items()}
        written = write_run(out_dir, files, force, done=lambda _: bar.advance(writing))
    for path in written:
        click.echo(f"written: {path}")


def _is_answer_key(text: str) -> bool:
    """Whether ``text`` is an answer key derive wrote (``solve --json``), safe to replace."""
    try:
        key = json.loads(text)
    except ValueError:
        return False
    return isinstance(key, dict) and {"schema", "source", "sha256"} <= key.keys()


def _is_blank_template(text: str) -> bool:
    """Whether ``text`` is an answers template derive wrote with nothing filled in yet (a
    student's answers must never be replaced by a blank template)."""
    if not text.startswith(("# Written by derive", "# Answers for:")):
        return False
    try:
        document = read_yaml(text, "")
    except DeriveError:
        return False
    return document is None or (isinstance(document, dict) and all(v is None for v in document.values()))


def _progress() -> Progress:
    """A progress bar on stderr (silent when stderr is not a terminal)."""
    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, disable=not console.is_terminal, transient=False)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (the default serves this computer only; 0.0.0.0 serves a class).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes (one per core for a class; each solves the sheets at its start).")
def serve(path: Path, port: int, host: str, workers: int) -> None:
    """Serve the sheets of PATH (a folder of problem files, or one file) as web pages students check
    their answers in. Every problem is solved and verified once, at start."""
    import uvicorn  # noqa: PLC0415 (only this command needs the web server)

    from .web.app import PATH_VARIABLE, create_app, load_catalogue  # noqa: PLC0415

    catalogue = load_catalogue(path, progress=lambda line: click.echo(line, err=True))
    if not catalogue.sheets:
        raise DeriveError(f"{path}: no problem file could be served")
    click.echo(f"serving {len(catalogue.sheets)} sheet(s) on http://{host}:{port}/ (Ctrl+C stops)", err=True)
    if workers == 1:
        uvicorn.run(create_app(catalogue), host=host, port=port, log_level="warning")
    else:  # each worker process builds its own app from the path
        os.environ[PATH_VARIABLE] = str(path)
        uvicorn.run("derive.web.app:app_from_environment", factory=True, workers=workers, host=host, port=port,
                    log_level="warning")


@main.command()
@click.argument("problem_file", type=click.Path(path_type=Path))
@click.option("--framework", type=click.Choice([f.value for f in Framework]), required=True,
              help="numpy (from scratch), pytorch (autograd) or keras.")
@click.option("--exercise", is_flag=True, help="NumPy only: leave the backward pass to the student, with TODOs naming the formulas.")
@click.option("--output", "-o", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the script to this file (default: print it).")
@click.option("--force", is_flag=True, help="Replace FILE even when it is not a script derive wrote.")
def code(problem_file: Path, framework: str, exercise: bool, out_file: Path | None, force: bool) -> None:
    """Write PROBLEM_FILE as a standalone NumPy, PyTorch or Keras script that prints the verified key's numbers."""
    if exercise and framework != Framework.NUMPY.value:
        raise click.UsageError("--exercise goes with --framework numpy only")
    problem = load_problem(problem_file)
    script = code_script(solve_problem(problem), framework, exercise)
    if out_file is None:
        click.echo(script, nl=False)
        return
    line = provenance(problem.source, problem.sha256)
    where = write_file(out_file, with_provenance("script.py", script, line), _is_derive_script, force)
    click.echo(f"written: {where}", err=True)


def _is_derive_script(text: str) -> bool:
    """Whether ``text`` is a script ``derive code`` wrote (it starts with derive's provenance line)."""
    return text.startswith("# Written by derive from ")


@main.command()
@click.argument("lab_file", type=click.Path(path_type=Path))
@click.option("--output", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: output/<lab name>/).")
@click.option("--tex-only", is_flag=True, help="Write report.tex (and the figures and results.json) without compiling the PDF.")
@click.option("--force", is_flag=True, help="Replace or remove files in the output folder that are not derive's own.")
def lab(lab_file: Path, out_dir: Path | None, tex_only: bool, force: bool) -> None:
    """Train LAB_FILE's network on its dataset with the generated NumPy code and with PyTorch; write a report."""
    spec = load_lab(lab_file)
    engine = None if tex_only else Engine.find()  # before the training: no engine, no wasted minutes
    dataset = load_dataset(spec.dataset)
    out_dir = out_dir if out_dir is not None else Path("output") / Path(lab_file).stem
    torch = torch_module()
    with _progress() as bar:
        task = bar.add_task("epochs (NumPy and PyTorch)" if torch else "epochs (NumPy; PyTorch is not installed)", total=spec.epochs)
        result = run_lab(spec, dataset, torch, progress=lambda: bar.advance(task))
    files: dict[str, str | bytes] = {**lab_figures(result), "report.tex": report_tex(result), "results.json": results_json(result)}
    if engine is not None:
        assets = {name: content for name, content in files.items() if name.endswith(".png")}
        files["report.pdf"] = compile_pdf(files["report.tex"], "report", engine, assets)
    click.echo(agreement_text(result))
    for path in write_run(out_dir, files, force):
        click.echo(f"written: {path}")
