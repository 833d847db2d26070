"""softplus, added by one registry entry: it works in every stage and command.

Values come from hand computations (log 2, the logistic function) and from tests/hand_backprop.py
(NumPy written for the tests); PyTorch agreement is in tests/test_torch.py. The problem file is
tests/problems/softplus-hidden.yaml (with a randomisation section, for ``derive exam``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import yaml

from derive.derivation import A, activation_rule
from derive.loader import load_problem
from derive.pipeline import solve
from derive.registry import ACTIVATIONS
from hand_backprop import first_step

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = ROOT / "tests" / "problems" / "softplus-hidden.yaml"
SOFTPLUS = ACTIVATIONS["softplus"]


@pytest.mark.parametrize(
    "z, expected",
    [(0.0, math.log(2.0)), (1.0, math.log(1.0 + math.e)), (-1.0, math.log(1.0 + 1.0 / math.e)),
     (800.0, 800.0), (-800.0, 0.0), (-30.0, math.exp(-30.0) - math.exp(-60.0) / 2)],
)
def test_softplus_hand_values_without_overflow(z, expected):
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow at +-800
        got = SOFTPLUS.numpy(np.array([z]))[0]
    assert got == pytest.approx(expected, rel=1e-15, abs=1e-300)


@pytest.mark.parametrize("z", [-3.0, -0.5, 0.0, 0.25, 2.0])
def test_softplus_backward_is_the_logistic_function(z):
    a = SOFTPLUS.numpy(np.array([z]))
    grad = SOFTPLUS.numpy_backward(np.array([z]), a, np.ones(1))[0]
    assert grad == pytest.approx(1.0 / (1.0 + math.exp(-z)), rel=1e-15)
    h = 1e-6
    fd = (math.log1p(math.exp(z + h)) - math.log1p(math.exp(z - h))) / (2 * h)
    assert grad == pytest.approx(fd, rel=1e-8)


def test_sympy_writes_the_derivative_in_a():
    """softplus'(z) = sigma(z) = 1 - e^(-a), since e^z = e^a - 1."""
    rule = activation_rule("softplus")
    assert sp.simplify(rule.derivative_a - (1 - sp.exp(-A))) == 0
    for z in (-2.0, 0.3, 1.7):
        a = math.log1p(math.exp(z))
        assert float(rule.derivative_a.subs(A, a)) == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-14)


def test_the_problem_solves_and_verifies_with_the_hand_values():
    verified = solve(load_problem(PROBLEM))
    expected = first_step(yaml.safe_load(PROBLEM.read_text(encoding="utf-8")))
    step = verified.solution.steps[0]
    got = {"z1_1": step.layers[0].z[0, 0], "a1_2": step.layers[0].a[0, 1], "L": step.loss,
           "delta1_1": step.layers[0].delta[0, 0], "delta1_2": step.layers[0].delta[0, 1],
           "dW1_12": step.layers[0].grad_W[0, 1], "new_W1_21": step.layers[0].W[1, 0],
           "new_b2_1": step.layers[1].b[0]}
    for name, value in got.items():
        assert value == pytest.approx(expected[name], rel=1e-12), name
    assert verified.report.gradients_checked_fd == 9 and not verified.report.fd_skipped


def derive_cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "derive", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_solve_prints_softplus_by_name(tmp_path):
    done = derive_cli("solve", PROBLEM, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "a(1)_1 = softplus(" in done.stdout and "operatorname" not in done.stdout


def test_sheet_is_written_and_compiles(tmp_path):
    tex_only = () if shutil.which("pdflatex") else ("--tex-only",)
    done = derive_cli("sheet", PROBLEM, "-o", "out", *tex_only, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    answers = (tmp_path / "out" / "answers.tex").read_text(encoding="utf-8")
    assert r"\operatorname{softplus}'(z)" in answers
    if not tex_only:
        assert (tmp_path / "out" / "answers.pdf").stat().st_size > 0


def test_exam_with_moodle_quiz(tmp_path):
    done = derive_cli("exam", PROBLEM, "--variants", 3, "--seed", 5, "--moodle", "--tex-only", "-o", "exam",
                      cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    key = json.loads((tmp_path / "exam" / "key.json").read_text(encoding="utf-8"))
    assert len(key["variants"]) == 3
    assert "softplus" in (tmp_path / "exam" / "quiz.xml").read_text(encoding="utf-8")


def fill(template: Path, values: dict[str, float]) -> str:
    lines = []
    for line in template.read_text(encoding="utf-8").splitlines():
        key = line.split(":")[0]
        if ": null" in line and key in values:
            line = line.replace(": null", f": {values[key]}", 1)
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_check_template_and_marking(tmp_path):
    made = derive_cli("check", PROBLEM, "--template", "mine.yaml", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    right = first_step(yaml.safe_load(PROBLEM.read_text(encoding="utf-8")), rnd=lambda v: round(float(v), 4))
    (tmp_path / "right.yaml").write_text(fill(tmp_path / "mine.yaml", right), encoding="utf-8")
    report = derive_cli("check", PROBLEM, "right.yaml", cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    # f' forgotten in both hidden deltas: the mistake catalogue names it
    slipped = dict(right, delta1_1=round(0.5 * right["delta2_1"], 4))
    (tmp_path / "slip.yaml").write_text(fill(tmp_path / "mine.yaml", slipped), encoding="utf-8")
    report = derive_cli("check", PROBLEM, "slip.yaml", "--json", cwd=tmp_path)
    assert report.returncode == 1
    marked = {q["quantity"]: q for q in json.loads(report.stdout)["quantities"]}
    assert "derivative_forgotten" in marked["delta1_1"]["mistakes"]


def test_check_a_variant_template(tmp_path):
    made = derive_cli("check", PROBLEM, "--seed", 5, "--variant", 2, "--template", "v2.yaml", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "delta1_2: null" in (tmp_path / "v2.yaml").read_text(encoding="utf-8")
