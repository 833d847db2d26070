"""derive sheet: LaTeX worksheet and answer key, compiled to PDF (needs TeX Live and poppler)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from derive import pdf
from derive.cli import main
from derive.derivation import derive as derive_network
from derive.errors import DeriveError
from derive.loader import load_problem
from derive.pdf import LatexError, build_sheet
from derive.pipeline import solve
from derive.printing import number
from derive.sheet import answers_tex, escape, worksheet_tex
from derive.worked import substitute

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = sorted((ROOT / "problems").glob("*.yaml"))
NASTY_TITLES = (r"\input{/etc/passwd}", "50% & $x_1$ #1")


def pdf_text(path: Path) -> str:
    """The PDF's text with whitespace collapsed (pdftotext breaks lines where TeX did)."""
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


@pytest.fixture(scope="module")
def solved():
    return {path.stem: solve(load_problem(path)) for path in PROBLEMS}


@pytest.fixture(scope="module")
def built(solved, tmp_path_factory):
    """Every shipped problem built once (two at a time; each builds its two documents in parallel)."""
    root = tmp_path_factory.mktemp("sheets")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda item: (item[0], build_sheet(item[1], root / item[0])), solved.items())
        return {name: root / name for name, _ in results}


def test_shipped_problems_exist():
    assert len(PROBLEMS) >= 8


@pytest.mark.parametrize("name", [p.stem for p in PROBLEMS])
def test_every_shipped_problem_compiles(built, name):
    folder = built[name]
    for document in ("worksheet", "answers"):
        assert (folder / f"{document}.tex").is_file()
        assert (folder / f"{document}.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in folder.iterdir()) == ["answers.pdf", "answers.tex", "worksheet.pdf", "worksheet.tex"]


@pytest.mark.parametrize("name", [p.stem for p in PROBLEMS])
def test_answer_key_shows_the_verified_losses(built, solved, name):
    verified = solved[name]
    d = verified.problem.answers.decimals
    text = pdf_text(built[name] / "answers.pdf")
    first, last = verified.solution.steps[0], verified.solution.steps[-1]
    assert number(first.loss, d, False) in text
    if last.loss_after is not None:
        assert number(last.loss_after, d, False) in text
    assert "verified against an independent NumPy implementation" in text
    assert f"{verified.report.max_abs_diff_finite_difference:.1e}" in text


def test_answer_key_shows_updated_weights_and_plot_for_several_steps(built, solved):
    verified = solved["bce-relu-epochs"]
    text = pdf_text(built["bce-relu-epochs"] / "answers.pdf")
    step = verified.solution.steps[0]
    for value in step.layers[-1].W.ravel():
        assert number(value, 4, False) in text
    assert "Loss per step" in text and "mean loss" in text
    assert r"\addplot" in (built["bce-relu-epochs"] / "answers.tex").read_text()


def test_worksheet_has_title_questions_and_no_answers(built, solved):
    verified = solved["sgd-tanh-hidden"]
    text = pdf_text(built["sgd-tanh-hidden"] / "worksheet.pdf")
    assert verified.problem.title in text
    assert "1. Compute the forward pass" in text and "7. Compute the loss again" in text
    assert number(verified.solution.steps[0].loss_after, 4, False) not in text
    tex = (built["sgd-tanh-hidden"] / "worksheet.tex").read_text()
    assert tex.count(r"\draw[->") == 2 * 2 + 2 * 1  # every edge drawn, labelled with its weight
    assert "b = 0.1" in tex and r"\tanh" in tex


def test_asked_limits_the_questions(solved):
    verified = solved["sgd-tanh-hidden"]
    problem = dataclasses.replace(verified.problem, answers=dataclasses.replace(verified.problem.answers, asked=("forward", "loss")))
    tex = worksheet_tex(solve(problem))
    assert "Compute the forward pass" in tex and "Compute the loss." in tex
    assert "deltas" not in tex.split(r"\subsection*{Questions}")[1]


@pytest.mark.parametrize("title", NASTY_TITLES)
def test_problem_text_prints_literally(solved, tmp_path, title):
    base = solved["sgd-sigmoid-hidden"].problem
    verified = solve(dataclasses.replace(base, title=title, instructions=f"Careful: {title} <a|b> ~x^2"))
    build_sheet(verified, tmp_path)
    for document in ("worksheet", "answers"):
        text = pdf_text(tmp_path / f"{document}.pdf")
        assert title in text
    assert "<a|b>" in pdf_text(tmp_path / "worksheet.pdf")


def test_escape_filter():
    assert escape(r"\input{/etc/passwd}") == r"\textbackslash{}input\{/etc/passwd\}"
    assert escape("50% & $x_1$ #1") == r"50\% \& \$x\textunderscore{}1\$ \#1"


def test_failed_compile_leaves_no_pdf_and_quotes_the_log(solved, tmp_path, monkeypatch):
    for stale in ("worksheet.pdf", "answers.pdf"):
        (tmp_path / stale).write_bytes(b"%PDF stale")
    good = answers_tex(solved["sgd-tanh-hidden"])
    monkeypatch.setattr(pdf, "answers_tex", lambda v: good.replace(r"\section*{Derivation}", r"\section*{Derivation}\notacommand"))
    with pytest.raises(LatexError) as caught:
        build_sheet(solved["sgd-tanh-hidden"], tmp_path)
    message = str(caught.value)
    assert "answers.tex" in message and "! Undefined control sequence." in message and r"\notacommand" in message
    assert isinstance(caught.value, DeriveError) and caught.value.exit_code in (2, 4)
    assert not list(tmp_path.glob("*.pdf"))


def test_failed_compile_is_one_error_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "worksheet_tex", lambda v: "\\documentclass{article}\\begin{document}\\oops\\end{document}\n")
    result = CliRunner().invoke(main, ["sheet", str(ROOT / "problems/sgd-tanh-hidden.yaml"), "-o", str(tmp_path)])
    assert result.exit_code == 4
    assert "LaTeX failed on worksheet.tex" in result.output and "\\oops" in result.output
    assert not list(tmp_path.glob("*.pdf"))


def test_same_input_gives_identical_tex(solved, tmp_path):
    verified = solved["relu-2-3-3-1-batch"]
    again = solve(load_problem(ROOT / "problems/relu-2-3-3-1-batch.yaml"))
    assert answers_tex(verified) == answers_tex(again) and worksheet_tex(verified) == worksheet_tex(again)
    first = [p.read_bytes() for p in build_sheet(verified, tmp_path / "a", tex_only=True)]
    second = [p.read_bytes() for p in build_sheet(again, tmp_path / "b", tex_only=True)]
    assert first == second


def test_same_input_gives_identical_pdf(built, solved, tmp_path):
    build_sheet(solved["sgd-relu-hidden"], tmp_path)
    for document in ("worksheet.pdf", "answers.pdf"):
        assert (tmp_path / document).read_bytes() == (built["sgd-relu-hidden"] / document).read_bytes()


def test_tex_only_writes_no_pdf(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no TeX engine needed
    result = CliRunner().invoke(main, ["sheet", str(ROOT / "problems/softmax-3class.yaml"), "--tex-only", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.tex", "worksheet.tex"]


def test_missing_tex_engine_is_one_line_pointing_to_tex_only(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = CliRunner().invoke(main, ["sheet", str(ROOT / "problems/softmax-3class.yaml"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 4
    assert result.output.strip().count("\n") == 0 and "--tex-only" in result.output
    assert not (tmp_path / "out").exists()


def test_renderers_refuse_an_unverified_solution(solved):
    problem = solved["sgd-tanh-hidden"].problem
    unverified = substitute(problem, derive_network(problem.network))
    with pytest.raises(TypeError):
        answers_tex(unverified)
    with pytest.raises(TypeError):
        build_sheet(unverified, Path("never-written"))


def test_cli_end_to_end(tmp_path):
    result = subprocess.run([sys.executable, "-m", "derive", "sheet", "problems/sgd-tanh-hidden.yaml", "-o", str(tmp_path / "out")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["answers.pdf", "answers.tex", "worksheet.pdf", "worksheet.tex"]
    assert "One SGD step with a tanh hidden layer" in pdf_text(tmp_path / "out/worksheet.pdf")


def test_cli_default_output_folder(tmp_path):
    result = subprocess.run([sys.executable, "-m", "derive", "sheet", str(ROOT / "problems/sgd-keras-mse.yaml"), "--tex-only"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "output/sgd-keras-mse/answers.tex").is_file()
