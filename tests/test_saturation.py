"""Saturated outputs: bce with a sigmoid output far from 0, softmax with huge logits.

These are correct networks: each must solve and verify, with values checked against mpmath
at 50 digits (log-sigmoid and log-sum-exp written out here, not taken from derive), and the
command line must print nothing but derive's own lines on stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

from derive.loader import parse_problem
from derive.numeric import lambdify, stable_form
from derive.pipeline import solve
from derive.registry import ACTIVATIONS, LOSSES

mpmath.mp.dps = 50
ROOT = Path(__file__).resolve().parents[1]
ETA = 0.5


def bce_problem(z: float, target: float) -> str:
    """One sigmoid neuron, input 1, weight 1 and bias z - 1, so that z is the output's pre-activation."""
    return f"""\
title: saturated sigmoid with binary cross-entropy
network: {{layers: [1, 1], activations: [sigmoid], loss: bce}}
parameters: {{W1: [[1.0]], b1: [{z - 1.0!r}]}}
data: {{inputs: [[1.0]], targets: [[{target!r}]]}}
training: {{learning_rate: {ETA}, steps: 1}}
"""


def softplus(x) -> mpmath.mpf:
    return mpmath.log(1 + mpmath.exp(x))


def bce_by_hand(z, y) -> mpmath.mpf:
    """-y log sigma(z) - (1 - y) log(1 - sigma(z)) = y softplus(-z) + (1 - y) softplus(z)."""
    return y * softplus(-z) + (1 - y) * softplus(z)


def close(value: float, expected: mpmath.mpf, rel: float = 1e-9, floor: float = 1e-12) -> bool:
    return abs(mpmath.mpf(value) - expected) <= rel * abs(expected) + floor


BCE_CASES = [(z, 0.0) for z in (10.0, 12.0, 20.0, 37.0, 40.0, 100.0, 800.0)] + [
    (z, 1.0) for z in (37.0, 40.0, 800.0, -40.0, -750.0, -800.0)
]


@pytest.mark.parametrize("z, y", BCE_CASES)
def test_saturated_bce_solves_and_verifies_with_the_right_numbers(z, y):
    verified = solve(parse_problem(bce_problem(z, y)))  # raises VerificationError on any disagreement
    step = verified.solution.steps[0]
    zm, ym = mpmath.mpf(z), mpmath.mpf(y)
    dz = 1 / (1 + mpmath.exp(-zm)) - ym  # dL/dz = sigma(z) - y; dz/dw = x = 1, dz/db = 1
    assert close(step.loss, bce_by_hand(zm, ym))
    layer = step.layers[0]
    assert close(layer.delta[0, 0], dz) and close(layer.grad_W[0, 0], dz) and close(layer.grad_b[0], dz)
    assert close(layer.W[0, 0], 1 - ETA * dz) and close(layer.b[0], mpmath.mpf(z - 1.0) - ETA * dz)
    z_after = mpmath.mpf(layer.W[0, 0]) + mpmath.mpf(layer.b[0])
    assert close(step.loss_after, bce_by_hand(z_after, ym))
    rule = verified.solution.chain_rules[0]
    assert close(rule.value, dz)


def test_saturated_bce_behind_a_hidden_layer_verifies():
    problem = parse_problem("""\
title: saturated output behind a tanh layer
network: {layers: [2, 2, 1], activations: [tanh, sigmoid], loss: bce}
parameters: {W1: [[0.5, -0.5], [0.25, 0.75]], b1: [0.1, -0.1], W2: [[30.0, 25.0]], b2: [5.0]}
data: {inputs: [[1.0, 0.5], [0.5, 1.0]], targets: [[0.0], [1.0]]}
training: {learning_rate: 0.1, steps: 2}
""")
    step = solve(problem).solution.steps[0]
    X = np.array([[1.0, 0.5], [0.5, 1.0]])
    hidden = [[mpmath.tanh(sum(mpmath.mpf(w) * x for w, x in zip(row, xs)) + b)
               for row, b in zip([[0.5, -0.5], [0.25, 0.75]], [0.1, -0.1])] for xs in X]
    z_out = [30 * h[0] + 25 * h[1] + 5 for h in hidden]
    assert z_out[0] > 20  # target 0: log(1 - a) has lost its digits
    expected = sum(bce_by_hand(z, mpmath.mpf(y)) for z, y in zip(z_out, (0, 1))) / 2
    assert close(step.loss, expected)


def test_softmax_with_logits_past_a_thousand_solves_and_verifies():
    problem = parse_problem("""\
title: softmax with every logit shifted by 1000
network: {layers: [1, 3], activations: [softmax], loss: cross_entropy}
parameters: {W1: [[0.1], [0.2], [0.3]], b1: [1000.0, 1001.0, 1002.0]}
data: {inputs: [[1.0]], targets: [[1.0, 0.0, 0.0]]}
training: {learning_rate: 0.5, steps: 1}
""")
    step = solve(problem).solution.steps[0]
    z = [mpmath.mpf(1000) + mpmath.mpf("0.1"), mpmath.mpf(1001) + mpmath.mpf("0.2"), mpmath.mpf(1002) + mpmath.mpf("0.3")]
    log_total = mpmath.log(sum(mpmath.exp(v) for v in z))
    a = [mpmath.exp(v - log_total) for v in z]
    layer = step.layers[0]
    assert all(close(layer.a[0, k], a[k]) for k in range(3))
    assert close(step.loss, log_total - z[0])
    dz = [a[0] - 1, a[1], a[2]]
    assert all(close(layer.grad_b[k], dz[k]) and close(layer.grad_W[k, 0], dz[k]) for k in range(3))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_cli_solves_a_saturated_problem_with_a_clean_stderr(tmp_path):
    path = tmp_path / "saturated.yaml"
    path.write_text(bce_problem(40.0, 0.0))
    done = run_cli("solve", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_cli_failed_verification_prints_only_derives_message(tmp_path):
    """Weights of 1e200 overflow the L2-free loss to inf: exit 3, and no RuntimeWarning before it."""
    huge = "1" + "0" * 200 + ".0"
    path = tmp_path / "overflow.yaml"
    path.write_text(f"""\
title: overflowing numbers
network: {{layers: [1, 2, 1], activations: [tanh, sigmoid], loss: half_mse}}
parameters: {{W1: [[{huge}], [1.0]], b1: [0.0, 0.0], W2: [[{huge}, {huge}]], b2: [0.0]}}
data: {{inputs: [[10.0]], targets: [[1.0]]}}
training: {{learning_rate: 0.5, steps: 1}}
""")
    done = run_cli("solve", str(path))
    assert done.returncode == 3
    assert "RuntimeWarning" not in done.stderr
    assert done.stderr.startswith("error: the answer key failed verification")


def test_stable_forms_evaluate_where_the_derived_forms_overflow():
    z, y = sp.symbols("z_1:4"), sp.symbols("y_1:4")
    softmax = [stable_form(f) for f in ACTIVATIONS["softmax"].sympy(z)]
    values = lambdify(z, softmax)(1000.0, 1001.0, 1002.0)
    total = sum(mpmath.exp(k) for k in (0, 1, 2))
    assert all(close(v, mpmath.exp(k) / total) for v, k in zip(values, (0, 1, 2)))
    bce = stable_form(LOSSES["bce"].sympy(ACTIVATIONS["sigmoid"].sympy(z[:1]), y[:1]))
    assert lambdify((z[0], y[0]), bce)(-800.0, 1.0) == pytest.approx(800.0, rel=1e-15)
    assert lambdify((z[0], y[0]), bce)(40.0, 0.0) == pytest.approx(float(softplus(mpmath.mpf(40))), rel=1e-15)
