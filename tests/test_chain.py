"""The chain rule written out term by term: factor values worked by hand with ``math``."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from derive.errors import VerificationError
from derive.loader import load_problem
from derive.pipeline import solve
from derive.printing import latex, text
from derive.verify import verify

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


@pytest.fixture(scope="module")
def tanh_chain():
    return solve(load_problem(PROBLEMS / "sgd-tanh-hidden.yaml")).solution.chain_rules


def test_output_weight_chain_of_the_tanh_problem(tanh_chain):
    # z^(1) = W1 x + b1 with x = (0.5, 0.9); a^(2) = sigmoid(0.5 a1 - 0.6 a2 + 0.2); y = 1
    a1, a2 = math.tanh(0.2 * 0.5 - 0.1 * 0.9 + 0.1), math.tanh(0.4 * 0.5 + 0.3 * 0.9 - 0.1)
    out = sigmoid(0.5 * a1 - 0.6 * a2 + 0.2)
    output = tanh_chain[0]
    assert (output.layer, output.row, output.col) == (2, 1, 1)
    assert [f.value for f in output.factors] == pytest.approx([out - 1, out * (1 - out), a1], rel=1e-12)
    assert output.value == pytest.approx((out - 1) * out * (1 - out) * a1, rel=1e-12)
    assert [latex(f.formula) for f in output.factors] == [
        "a^{(2)}_{1} - y_{1}", r"a^{(2)}_{1} \cdot \left(1 - a^{(2)}_{1}\right)", "a^{(1)}_{1}"]


def test_hidden_weight_chain_of_the_tanh_problem(tanh_chain):
    a1, a2 = math.tanh(0.11), math.tanh(0.37)
    out = sigmoid(0.5 * a1 - 0.6 * a2 + 0.2)
    hidden = tanh_chain[1]
    assert (hidden.layer, hidden.row, hidden.col) == (1, 1, 1)
    expected = [out - 1, out * (1 - out), 0.5, 1 - a1**2, 0.5]  # dL/da, da/dz, w^(2)_11, tanh', x_1
    assert [f.value for f in hidden.factors] == pytest.approx(expected, rel=1e-12)
    assert hidden.value == pytest.approx(math.prod(expected), rel=1e-12)
    assert latex(hidden.factors[2].substituted) == "0.5" and latex(hidden.factors[3].substituted) == r"1 - 0.1096^{2}"
    assert text(hidden.symbol) == "dL/dw(1)_11" and latex(hidden.symbol) == r"\frac{\partial L}{\partial w^{(1)}_{11}}"
    assert text(hidden.factors[3].partial) == "da(1)_1/dz(1)_1"


def test_softmax_output_sums_over_the_output_deltas():
    verified = solve(load_problem(PROBLEMS / "softmax-3class.yaml"))
    problem, step = verified.problem, verified.solution.steps[0]
    W1, b1 = np.array(problem.weights[0]), np.array(problem.biases[0])
    W2, b2 = np.array(problem.weights[1]), np.array(problem.biases[1])
    x, y = np.array(problem.inputs[0]), np.array(problem.targets[0])
    a1 = np.tanh(W1 @ x + b1)
    z2 = W2 @ a1 + b2
    a2 = np.exp(z2) / np.exp(z2).sum()
    delta2 = a2 - y  # softmax + cross-entropy
    output, hidden = verified.solution.chain_rules
    assert latex(output.factors[0].formula) == "a^{(2)}_{1} - y_{1}"
    assert latex(hidden.factors[0].partial) == (
        r"\sum_k \frac{\partial L}{\partial z^{(2)}_{k}} \frac{\partial z^{(2)}_{k}}{\partial a^{(1)}_{1}}")
    assert text(hidden.factors[0].formula) == "delta(2)_1 * w(2)_11 + delta(2)_2 * w(2)_21 + delta(2)_3 * w(2)_31"
    assert output.value == pytest.approx(delta2[0] * a1[0], rel=1e-10)
    assert hidden.factors[0].value == pytest.approx(delta2 @ W2[:, 0], rel=1e-10)
    assert hidden.value == pytest.approx((delta2 @ W2[:, 0]) * (1 - a1[0] ** 2) * x[0], rel=1e-10)
    assert step.batch[0] == output.example == 0


def test_forward_only_problem_has_no_chain_rule():
    problem = load_problem(PROBLEMS / "sgd-tanh-hidden.yaml")
    forward_only = dataclasses.replace(problem, training=dataclasses.replace(problem.training, steps=0))
    assert solve(forward_only).solution.chain_rules == ()


def test_verification_rejects_a_wrong_chain_rule_factor():
    solution = solve(load_problem(PROBLEMS / "sgd-tanh-hidden.yaml")).solution
    rule = solution.chain_rules[1]
    bad_factor = dataclasses.replace(rule.factors[3], value=rule.factors[3].value + 0.01)
    bad_rule = dataclasses.replace(rule, factors=(*rule.factors[:3], bad_factor, *rule.factors[4:]))
    tampered = dataclasses.replace(solution, chain_rules=(solution.chain_rules[0], bad_rule))
    with pytest.raises(VerificationError, match=r"chain rule dL/dw\(1\)_11 of example 1"):
        verify(tampered)
