"""Inline math in instructions: the whitelist's math is set as math; anything else, dollars
included, is printed literally and cannot run or break TeX."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from derive.loader import load_problem
from derive.moodle import question_html
from derive.pdf import compile_pdf
from derive.pipeline import solve
from derive.safe_math import is_safe, segments
from derive.sheet import worksheet_tex

ROOT = Path(__file__).resolve().parents[1]
needs_tex = pytest.mark.skipif(not (shutil.which("pdflatex") and shutil.which("pdftotext")),
                               reason="pdflatex and pdftotext are needed")

HOSTILE = [r"\input{/etc/passwd}", r"\write18{touch pwned}", r"\immediate\write18{touch pwned}", r"\def\x{1}",
           r"\catcode`\{=12", r"{a", r"a}", r"a^2^3", r"a^", r"\frac12", r"\frac{1}", r"50%", r"a & b", r"#1",
           r"\\", r"\text{x}", r"\left(", r"\csname relax\endcsname", r"\openout1=x", r"a^\input{x}", r"a^2'"]


def test_allowed_math():
    for math in (r"\frac{1}{2}(y-a)^2", r"w^{(1)}_{jk}", r"\delta^{(l)} = (W^{(l+1)})^\top \delta^{(l+1)} \odot f'(z^{(l)})",
                 r"\eta = 0.5", r"\sqrt{x_1^2 + x_2^2}", r"\sum_k (y_k - a_k)^2", r"a'^2", r"\hat{y}", r"x\,y"):
        assert is_safe(math), math


@pytest.mark.parametrize("math", HOSTILE)
def test_anything_else_is_refused(math):
    assert not is_safe(math)
    assert segments(f"see ${math}$ here") == [("text", f"see ${math}$ here")]


def test_segments():
    assert segments(r"loss $\frac{1}{2}(y-a)^2$, rate $\eta$.") == [
        ("text", "loss "), ("math", r"\frac{1}{2}(y-a)^2"), ("text", ", rate "), ("math", r"\eta"), ("text", ".")]
    assert segments("a $$ b and $5") == [("text", "a $$ b and $5")]


def sheet_with(instructions: str):
    return solve(replace(load_problem(ROOT / "problems/sgd-tanh-hidden.yaml"), instructions=instructions))


def test_the_worksheet_sets_math_and_escapes_the_rest():
    tex = worksheet_tex(sheet_with(r"Use $L = \frac{1}{2}(y-a)^2$ and not $\input{/etc/passwd}$."))
    assert r"Use $L = \frac{1}{2}(y-a)^2$ and not \$\textbackslash{}input\{/etc/passwd\}\$." in tex


def test_moodle_shows_the_math_with_mathjax():
    html = question_html(sheet_with(r"Use $\frac{1}{2}(y-a)^2$ & $\def\x{1}$"))
    assert r"Use \(\frac{1}{2}(y-a)^2\) &amp; $\def\x{1}$" in html


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    (tmp_path / "s.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "s.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", " ", text)


@needs_tex
def test_allowed_math_compiles(tmp_path):
    text = pdf_text(compile_pdf(worksheet_tex(sheet_with(r"Loss $L = \frac{1}{2}(y-a)^2$ with $w^{(1)}_{jk}$.")), "w"), tmp_path)
    assert "Loss L = " in text and "frac" not in text and "$" not in text


@needs_tex
def test_hostile_math_prints_literally_and_compiles(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    instructions = " ".join(f"${math}$" for math in HOSTILE)
    text = pdf_text(compile_pdf(worksheet_tex(sheet_with(instructions)), "w"), tmp_path)
    for literal in (r"$\input{/etc/passwd}$", r"$\write18{touch pwned}$", r"$\def\x{1}$", "${a$", "$a}$", "$50%$"):
        assert literal in text, literal
    assert "root:" not in text and not list(tmp_path.rglob("pwned"))
