"""derive sheet: LaTeX worksheet and answer key, compiled to PDF (needs TeX Live and poppler)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from derive import pdf
from derive.cli import main
from derive.derivation import derive as derive_network
from derive.answer_key import answer_key
from derive.errors import DeriveError
from derive.loader import load_problem
from derive.files import write_run
from derive.pdf import LatexError, build_sheet
from derive.pipeline import solve, solve_compared
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
    assert sorted(p.name for p in folder.iterdir()) == ["answers.pdf", "answers.tex", "derive-manifest.json", "worksheet.pdf", "worksheet.tex"]


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
    write_run(tmp_path, {"worksheet.pdf": b"%PDF stale", "answers.pdf": b"%PDF stale"})  # an earlier run's
    good = answers_tex(solved["sgd-tanh-hidden"])
    monkeypatch.setattr(pdf, "answers_tex", lambda v, compared=(): good.replace(r"\section*{Derivation}", r"\section*{Derivation}\notacommand"))
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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.tex", "derive-manifest.json", "worksheet.tex"]


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
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["answers.pdf", "answers.tex", "derive-manifest.json", "worksheet.pdf", "worksheet.tex"]
    assert "One SGD step with a tanh hidden layer" in pdf_text(tmp_path / "out/worksheet.pdf")


def test_cli_default_output_folder(tmp_path):
    result = subprocess.run([sys.executable, "-m", "derive", "sheet", str(ROOT / "problems/sgd-keras-mse.yaml"), "--tex-only"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "output/sgd-keras-mse/answers.tex").is_file()


# ----------------------------------------------------------------------------------------------
# Comparisons, the derivation question, examples grouped, parameters as matrices


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _one_step_2_2_1(hidden, loss_factor):
    """The shipped 2-2-1 step in plain NumPy: output delta, hidden deltas, new W2 (independent)."""
    W1, b1 = np.array([[0.2, -0.1], [0.4, 0.3]]), np.array([0.1, -0.1])
    W2, b2 = np.array([[0.5, -0.6]]), np.array([0.2])
    x, y = np.array([0.5, 0.9]), np.array([1.0])
    z1 = W1 @ x + b1
    a1 = {"sigmoid": _sigmoid(z1), "tanh": np.tanh(z1), "relu": np.maximum(z1, 0)}[hidden]
    d1 = {"sigmoid": a1 * (1 - a1), "tanh": 1 - a1**2, "relu": (z1 > 0) * 1.0}[hidden]
    a2 = _sigmoid(W2 @ a1 + b2)
    delta2 = loss_factor * (a2 - y) * a2 * (1 - a2)
    delta1 = (W2.T @ delta2) * d1
    return delta2, delta1, W2 - 0.5 * np.outer(delta2, a1)


def _side_by_side_rows(tex: str) -> dict[str, list[str]]:
    table = tex.split(r"\subsection*{Side by side}")[1]
    rows = {}
    for line in table.splitlines():
        if line.startswith("$") and "&" in line:
            cells = [c.strip().strip("$") for c in line.rstrip("%").rstrip("\\").split("&")]
            rows[cells[0]] = cells[1:]
    return rows


def test_hidden_activation_comparison_table_matches_numpy():
    problem = load_problem(ROOT / "problems/compare-hidden-activations.yaml")
    verified = solve(problem)
    tex = answers_tex(verified, solve_compared(problem, verified))
    rows = _side_by_side_rows(tex)
    for column, hidden in enumerate(("sigmoid", "tanh", "relu")):
        delta2, delta1, new_W2 = _one_step_2_2_1(hidden, 1.0)
        assert float(rows[r"\delta^{(2)}_{1}"][column]) == pytest.approx(delta2[0], abs=5e-5)
        assert float(rows[r"\delta^{(1)}_{2}"][column]) == pytest.approx(delta1[1], abs=5e-5)
        assert float(rows["{w^{(2)}_{12}}'"][column]) == pytest.approx(new_W2[0, 1], abs=5e-5)
    assert r"\subsection*{With hidden activation tanh}" in tex and r"\subsection*{With hidden activation relu}" in tex
    assert tex.count("With relu: verified:") == 1


def test_loss_comparison_keras_deltas_are_twice_the_textbook_ones():
    problem = load_problem(ROOT / "problems/compare-half-mse-keras.yaml")
    rows = _side_by_side_rows(answers_tex(solve(problem), solve_compared(problem)))
    half, keras = _one_step_2_2_1("sigmoid", 1.0), _one_step_2_2_1("sigmoid", 2.0)  # d/da (y-a)^2 = 2 (a-y)
    assert [float(v) for v in rows[r"\delta^{(2)}_{1}"]] == pytest.approx([half[0][0], keras[0][0]], abs=5e-5)
    assert [float(v) for v in rows[r"\delta^{(1)}_{1}"]] == pytest.approx([half[1][0], keras[1][0]], abs=5e-5)


def test_comparison_problems_build_through_the_cli(tmp_path):
    result = CliRunner().invoke(main, ["sheet", str(ROOT / "problems/compare-hidden-activations.yaml"), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = pdf_text(tmp_path / "answers.pdf")
    assert "Side by side" in text and "sigmoid tanh relu" in text
    assert "replaced by each of sigmoid, tanh and relu" in pdf_text(tmp_path / "worksheet.pdf")


def test_derivation_question_only_when_asked(solved):
    verified = solved["sgd-tanh-hidden"]
    assert "Derive the backpropagation formulas" not in worksheet_tex(verified)
    answers = dataclasses.replace(verified.problem.answers, asked=("derivation", "forward"))
    tex = worksheet_tex(solve(dataclasses.replace(verified.problem, answers=answers)))
    questions = tex.split(r"\subsection*{Questions}")[1]
    assert questions.index("Derive the backpropagation formulas") < questions.index("Compute the forward pass")


def test_batch_lines_are_grouped_by_example(solved):
    tex = answers_tex(solved["relu-2-3-3-1-batch"])
    forward = tex.split(r"\subsubsection*{Forward pass}")[1].split(r"\subsubsection*")[0]
    assert [forward.index(f"Example {i}") for i in (1, 2, 3)] == sorted(forward.index(f"Example {i}") for i in (1, 2, 3))
    # example 1's whole forward pass (down to the output) comes before example 2's
    assert forward.index("a^{(3)}_{1}[1]") < forward.index("Example 2")


def test_worksheet_gives_the_parameters_as_matrices(solved):
    tex = worksheet_tex(solved["ng-4layer-regularised"])
    assert r"W^{(3)} = \begin{pmatrix} 0.6 & -0.3 & 0.2 \\ -0.4 & 0.5 & 0.1 \end{pmatrix}" in tex
    assert r"b^{(3)} = \begin{pmatrix} 0.1 \\ -0.2 \end{pmatrix}" in tex


def test_chain_rule_is_in_the_answer_key(built, solved):
    text = pdf_text(built["sgd-tanh-hidden"] / "answers.pdf")
    assert "The chain rule, term by term" in text
    tex = (built["sgd-tanh-hidden"] / "answers.tex").read_text()
    # the five local derivatives of dL/dw^(1)_11 in a 2-2-1 network, in order
    chain = tex.split(r"\subsection*{The chain rule, term by term}")[1].split(r"\section*")[0]
    assert (r"\frac{\partial L}{\partial w^{(1)}_{11}} = \frac{\partial L}{\partial a^{(2)}_{1}} \cdot "
            r"\frac{\partial a^{(2)}_{1}}{\partial z^{(2)}_{1}} \cdot \frac{\partial z^{(2)}_{1}}{\partial a^{(1)}_{1}} \cdot "
            r"\frac{\partial a^{(1)}_{1}}{\partial z^{(1)}_{1}} \cdot \frac{\partial z^{(1)}_{1}}{\partial w^{(1)}_{11}}") in chain


@pytest.mark.parametrize("name", ["sgd-tanh-hidden", "relu-2-3-3-1-batch", "softmax-3class", "ng-4layer-regularised"])
def test_answer_key_pdf_shows_every_number_of_the_json_key_for_step_1(built, solved, name):
    key = answer_key(solved[name])
    d = key["decimals"]
    text = pdf_text(built[name] / "answers.pdf").replace("\u2212", "-")
    for layer in key["steps"][0]["layers"]:
        for field in ("z", "a", "delta", "grad_W", "grad_b", "W", "b"):
            for value in np.ravel(layer[field]):
                assert number(value, d, False) in text, (field, layer["layer"], value)
