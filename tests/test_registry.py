"""The registry's three forms of every activation and loss agree with each other.

For each entry the NumPy forward is compared with the SymPy form evaluated exactly (``subs``
with 30-digit floats, no lambdify), every hand-written NumPy backward rule with SymPy's own
derivative of the SymPy form and with central finite differences of the NumPy forward, and
a few values with numbers worked out by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from derive.derivation import output_rule
from derive.registry import ACTIVATIONS, LEAKY_SLOPE, LOSSES

Z = sp.Symbol("z")
H = 1e-6  # central-difference step
FD_RTOL, FD_ATOL = 1e-7, 1e-9

POINTS = np.array([-4.5, -2.0, -1.25, -0.5, -1e-3, 0.0, 1e-3, 0.3, 0.75, 2.0, 3.5])
ELEMENTWISE = sorted(name for name, act in ACTIVATIONS.items() if act.elementwise)
ELEMENTWISE_DIFFERENTIABLE = [n for n in ELEMENTWISE if ACTIVATIONS[n].numpy_backward is not None]


def sympy_scalar(name: str) -> sp.Expr:
    return ACTIVATIONS[name].sympy([Z])[0]


def evaluate(expr: sp.Expr, values: dict) -> float:
    """Exact evaluation of a SymPy expression (no lambdify) at float points."""
    return float(expr.subs({s: sp.Float(v, 30) for s, v in values.items()}))


def test_registry_has_the_documented_entries():
    assert {"sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax", "step"} <= set(ACTIVATIONS)
    assert {"half_mse", "mse", "bce", "cross_entropy"} <= set(LOSSES)
    assert LEAKY_SLOPE == sp.Rational(1, 100)


def test_only_softmax_is_vector_valued_and_output_only():
    assert [n for n, a in ACTIVATIONS.items() if not a.elementwise] == ["softmax"]
    assert [n for n, a in ACTIVATIONS.items() if a.output_only] == ["softmax"]


# --------------------------------------------------------------------------------------------
# elementwise activations
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_numpy_forward_matches_sympy_form(name):
    expr = sympy_scalar(name)
    expected = np.array([evaluate(expr, {Z: p}) for p in POINTS])
    got = ACTIVATIONS[name].numpy(POINTS)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_numpy_forward_keeps_batch_shape(name):
    batch = POINTS[:10].reshape(2, 5)
    got = ACTIVATIONS[name].numpy(batch)
    assert got.shape == (2, 5)
    np.testing.assert_allclose(got.ravel(), ACTIVATIONS[name].numpy(POINTS[:10]), rtol=0, atol=0)


@pytest.mark.parametrize(
    "name, z, expected",
    [
        ("sigmoid", 0.0, 0.5),
        ("sigmoid", 2.0, 1 / (1 + math.exp(-2.0))),
        ("sigmoid", -2.0, 1 / (1 + math.exp(2.0))),
        ("tanh", 0.5, math.tanh(0.5)),
        ("relu", -2.0, 0.0),
        ("relu", 0.0, 0.0),
        ("relu", 1.5, 1.5),
        ("leaky_relu", -2.0, -0.02),
        ("leaky_relu", 0.0, 0.0),
        ("leaky_relu", 1.5, 1.5),
        ("identity", -0.7, -0.7),
        ("step", -1e-9, 0.0),
        ("step", 0.0, 1.0),  # 1 for z >= 0 (classic perceptron)
        ("step", 3.0, 1.0),
    ],
)
def test_forward_hand_values(name, z, expected):
    assert ACTIVATIONS[name].numpy(np.array([z]))[0] == pytest.approx(expected, rel=1e-15, abs=1e-300)


def test_sigmoid_numpy_saturates_cleanly_for_large_z():
    with np.errstate(invalid="raise", divide="raise"):
        got = ACTIVATIONS["sigmoid"].numpy(np.array([-800.0, 800.0]))
    np.testing.assert_allclose(got, [0.0, 1.0], atol=1e-300)


@pytest.mark.parametrize("name", ELEMENTWISE_DIFFERENTIABLE)
def test_numpy_backward_matches_sympy_derivative(name):
    act = ACTIVATIONS[name]
    derivative = sp.diff(sympy_scalar(name), Z)
    g = np.linspace(-1.5, 2.0, len(POINTS))  # upstream gradient dL/da
    got = act.numpy_backward(POINTS, act.numpy(POINTS), g)
    expected = np.array([gi * evaluate(derivative, {Z: p}) for gi, p in zip(g, POINTS)])
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ELEMENTWISE_DIFFERENTIABLE)
def test_numpy_backward_matches_finite_differences(name):
    act = ACTIVATIONS[name]
    z = POINTS[POINTS != 0.0]  # away from the ReLU kink by at least 1e-3 >> H
    g = np.linspace(0.5, 2.0, len(z))
    fd = (act.numpy(z + H) - act.numpy(z - H)) / (2 * H)
    np.testing.assert_allclose(act.numpy_backward(z, act.numpy(z), g), g * fd, rtol=FD_RTOL, atol=FD_ATOL)


@pytest.mark.parametrize(
    "name, z, derivative",
    [
        ("sigmoid", 0.0, 0.25),  # a (1 - a) with a = 1/2
        ("tanh", 0.0, 1.0),  # 1 - tanh(0)^2
        ("identity", 3.0, 1.0),
        ("relu", -1.0, 0.0),
        ("relu", 2.0, 1.0),
        ("leaky_relu", -1.0, 0.01),
        ("leaky_relu", 2.0, 1.0),
    ],
)
def test_backward_hand_values(name, z, derivative):
    act = ACTIVATIONS[name]
    zs = np.array([z])
    assert act.numpy_backward(zs, act.numpy(zs), np.array([1.0]))[0] == pytest.approx(derivative, rel=1e-15)


def test_relu_derivative_at_zero_is_zero_in_numpy_and_sympy():
    act = ACTIVATIONS["relu"]
    zero = np.array([0.0])
    assert act.numpy_backward(zero, act.numpy(zero), np.array([1.0]))[0] == 0.0
    assert sp.diff(sympy_scalar("relu"), Z).subs(Z, 0) == 0
    # it is the left derivative: (f(0) - f(-h)) / h
    assert (act.numpy(zero) - act.numpy(zero - H))[0] / H == 0.0


def test_leaky_relu_derivative_at_zero_is_the_slope_in_numpy_and_sympy():
    act = ACTIVATIONS["leaky_relu"]
    zero = np.array([0.0])
    assert act.numpy_backward(zero, act.numpy(zero), np.array([1.0]))[0] == 0.01
    assert sp.diff(sympy_scalar("leaky_relu"), Z).subs(Z, 0) == sp.Rational(1, 100)
    left = (act.numpy(zero) - act.numpy(zero - H))[0] / H
    assert left == pytest.approx(0.01, rel=1e-9)


def test_kinked_activations_document_their_convention():
    assert ACTIVATIONS["relu"].kink == 0.0 and "0" in ACTIVATIONS["relu"].kink_convention
    assert ACTIVATIONS["leaky_relu"].kink == 0.0 and "1/100" in ACTIVATIONS["leaky_relu"].kink_convention
    assert ACTIVATIONS["sigmoid"].kink is None


def test_step_has_no_backward():
    step = ACTIVATIONS["step"]
    assert step.numpy_backward is None
    assert step.differentiable is False
    assert all(ACTIVATIONS[n].differentiable for n in ACTIVATIONS if n != "step")


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if ACTIVATIONS[n].inverse is not None])
def test_inverse_undoes_the_sympy_form(name):
    act = ACTIVATIONS[name]
    for p in (-1.5, -0.2, 0.4, 1.7):
        a = evaluate(sympy_scalar(name), {Z: p})
        assert evaluate(act.inverse(sp.Symbol("a")), {sp.Symbol("a"): a}) == pytest.approx(p, rel=1e-12)


# --------------------------------------------------------------------------------------------
# softmax
# --------------------------------------------------------------------------------------------

SOFTMAX_POINTS = [
    [0.0, 0.0, 0.0],
    [1.0, 2.0, 3.0],
    [-0.4, 0.25, 1.3],
    [1000.0, 1001.0, 999.0],  # exact SymPy vs NumPy's shifted exponentials
    [-50.0, 0.0, 50.0],
]


def softmax_symbols(n: int):
    return sp.symbols(f"z_1:{n + 1}")


def test_softmax_forward_matches_sympy_form():
    z = softmax_symbols(3)
    forms = ACTIVATIONS["softmax"].sympy(z)
    batch = np.array(SOFTMAX_POINTS)
    got = ACTIVATIONS["softmax"].numpy(batch)
    expected = np.array([[evaluate(f, dict(zip(z, row))) for f in forms] for row in SOFTMAX_POINTS])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-15)


def test_softmax_hand_values():
    got = ACTIVATIONS["softmax"].numpy(np.array([[0.0, math.log(3.0)]]))
    np.testing.assert_allclose(got, [[0.25, 0.75]], rtol=1e-15)


def test_softmax_backward_is_the_jacobian_vector_product():
    z = softmax_symbols(3)
    forms = sp.Matrix(ACTIVATIONS["softmax"].sympy(z))
    jacobian = forms.jacobian(z)  # da_k / dz_j
    batch = np.array(SOFTMAX_POINTS[:3] + [[-50.0, 0.0, 50.0]])
    g = np.array([[0.3, -1.2, 0.7], [1.0, 0.0, 0.0], [-0.5, 2.0, 0.25], [0.1, 0.2, -0.3]])
    act = ACTIVATIONS["softmax"]
    got = act.numpy_backward(batch, act.numpy(batch), g)
    for row, grad_a, out in zip(batch, g, got):
        J = np.array(jacobian.subs({s: sp.Float(v, 30) for s, v in zip(z, row)}).evalf(30), dtype=float)
        np.testing.assert_allclose(out, J.T @ grad_a, rtol=1e-12, atol=1e-15)


def test_softmax_backward_matches_finite_differences():
    act = ACTIVATIONS["softmax"]
    rng = np.random.default_rng(7)
    zs = rng.normal(size=(4, 3))
    g = rng.normal(size=(4, 3))
    got = act.numpy_backward(zs, act.numpy(zs), g)
    fd = np.zeros_like(zs)
    for j in range(3):
        step = np.zeros(3)
        step[j] = H
        # d/dz_j of g . softmax(z), row by row
        fd[:, j] = ((act.numpy(zs + step) - act.numpy(zs - step)) * g).sum(axis=1) / (2 * H)
    np.testing.assert_allclose(got, fd, rtol=FD_RTOL, atol=FD_ATOL)


def test_softmax_backward_hand_value():
    # 2 classes, a = (1/4, 3/4), g = (1, 0): J^T g = (a1(1 - a1), -a1 a2) = (3/16, -3/16)
    act = ACTIVATIONS["softmax"]
    zs = np.array([[0.0, math.log(3.0)]])
    got = act.numpy_backward(zs, act.numpy(zs), np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(got, [[3 / 16, -3 / 16]], rtol=1e-14)


# --------------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------------


def loss_data(name: str, n: int):
    """Activations and targets each loss is defined on (rows = examples)."""
    rng = np.random.default_rng(sum(map(ord, name)) + n)
    if name in ("half_mse", "mse"):
        return rng.normal(size=(4, n)), rng.normal(size=(4, n))
    if name == "bce":
        return rng.uniform(0.05, 0.95, size=(4, n)), np.vstack([rng.uniform(0, 1, size=(2, n)), np.eye(2, n)])
    A = ACTIVATIONS["softmax"].numpy(rng.normal(size=(4, n)))
    Y = np.vstack([np.eye(n)[: min(n, 3)], np.full((4 - min(n, 3), n), 1.0 / n)])
    return A, Y


LOSS_CASES = [(name, n) for name in sorted(LOSSES) for n in (1, 3) if not (name == "cross_entropy" and n == 1)]


def loss_symbols(n: int):
    return sp.symbols(f"a_1:{n + 1}"), sp.symbols(f"y_1:{n + 1}")


@pytest.mark.parametrize("name, n", LOSS_CASES)
def test_loss_numpy_matches_sympy_form(name, n):
    a, y = loss_symbols(n)
    expr = LOSSES[name].sympy(a, y)
    A, Y = loss_data(name, n)
    got = LOSSES[name].numpy(A, Y)
    assert got.shape == (len(A),)
    expected = [evaluate(expr, {**dict(zip(a, ar)), **dict(zip(y, yr))}) for ar, yr in zip(A, Y)]
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name, n", LOSS_CASES)
def test_loss_numpy_grad_matches_sympy_derivative(name, n):
    a, y = loss_symbols(n)
    expr = LOSSES[name].sympy(a, y)
    A, Y = loss_data(name, n)
    got = LOSSES[name].numpy_grad(A, Y)
    assert got.shape == A.shape
    for row, (ar, yr) in enumerate(zip(A, Y)):
        at = {**dict(zip(a, ar)), **dict(zip(y, yr))}
        expected = [evaluate(sp.diff(expr, ak), at) for ak in a]
        np.testing.assert_allclose(got[row], expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, n", LOSS_CASES)
def test_loss_numpy_grad_matches_finite_differences(name, n):
    loss = LOSSES[name]
    A, Y = loss_data(name, n)
    fd = np.zeros_like(A)
    for k in range(n):
        step = np.zeros(n)
        step[k] = H
        fd[:, k] = (loss.numpy(A + step, Y) - loss.numpy(A - step, Y)) / (2 * H)
    np.testing.assert_allclose(loss.numpy_grad(A, Y), fd, rtol=FD_RTOL, atol=FD_ATOL)


@pytest.mark.parametrize(
    "name, A, Y, expected",
    [
        ("half_mse", [[0.75]], [[1.0]], 0.5 * 0.25**2),
        ("half_mse", [[1.0, 2.0]], [[0.0, 0.0]], 2.5),
        ("mse", [[1.0, 2.0]], [[0.0, 0.0]], 2.5),  # Keras: mean over outputs, no 1/2
        ("mse", [[0.75]], [[1.0]], 0.25**2),
        ("bce", [[0.8]], [[1.0]], -math.log(0.8)),
        ("bce", [[0.8, 0.3]], [[0.0, 1.0]], -math.log(0.2) - math.log(0.3)),  # summed over neurons
        ("cross_entropy", [[0.7, 0.2, 0.1]], [[0.0, 1.0, 0.0]], -math.log(0.2)),
    ],
)
def test_loss_hand_values(name, A, Y, expected):
    assert LOSSES[name].numpy(np.array(A), np.array(Y))[0] == pytest.approx(expected, rel=1e-14)


def test_loss_pairing_metadata():
    assert LOSSES["bce"].output_activations == ("sigmoid",)
    assert LOSSES["cross_entropy"].output_activations == ("softmax",)
    assert LOSSES["mse"].output_activations == () and LOSSES["half_mse"].output_activations == ()
    assert LOSSES["bce"].targets_in_unit_interval and not LOSSES["bce"].targets_sum_to_one
    assert LOSSES["cross_entropy"].targets_in_unit_interval and LOSSES["cross_entropy"].targets_sum_to_one


@pytest.mark.parametrize(
    "name, A, Y",
    [("bce", [[1.0]], [[1.0]]), ("bce", [[0.0]], [[0.0]]), ("cross_entropy", [[1.0, 0.0]], [[1.0, 0.0]])],
)
def test_saturated_output_with_matching_target_has_zero_loss(name, A, Y):
    with np.errstate(all="ignore"):
        assert LOSSES[name].numpy(np.array(A), np.array(Y))[0] == 0.0


@pytest.mark.parametrize("name", [n for n, loss in LOSSES.items() if loss.from_logits is not None])
def test_from_logits_is_the_loss_of_the_paired_activation(name):
    loss = LOSSES[name]
    rng = np.random.default_rng(7)
    Z = rng.normal(scale=3.0, size=(6, 3))
    Y = rng.dirichlet(np.ones(3), size=6) if loss.targets_sum_to_one else rng.uniform(size=(6, 3))
    A = ACTIVATIONS[loss.simplifies_with].numpy(Z)
    np.testing.assert_allclose(loss.from_logits(Z, Y), loss.numpy(A, Y), rtol=1e-12)


@pytest.mark.parametrize(
    "name, Z, Y, expected",
    [
        ("bce", [[800.0]], [[0.0]], 800.0),  # -log(1 - sigma(800)) = 800 + log(1 + e^-800)
        ("bce", [[-800.0]], [[1.0]], 800.0),
        ("bce", [[40.0]], [[1.0]], math.log1p(math.exp(-40.0))),
        ("cross_entropy", [[1000.0, 1000.0]], [[1.0, 0.0]], math.log(2.0)),
        ("cross_entropy", [[0.0, 1000.0]], [[1.0, 0.0]], 1000.0),
    ],
)
def test_from_logits_hand_values_where_the_output_saturates(name, Z, Y, expected):
    assert LOSSES[name].from_logits(np.array(Z), np.array(Y))[0] == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("name", [n for n, loss in LOSSES.items() if loss.simplifies_with is not None])
def test_simplifies_with_is_what_sympy_derives(name):
    """The registry's claim that dL/dz = a - y with this output activation, checked by SymPy."""
    loss = LOSSES[name]
    assert loss.simplifies_with in loss.output_activations and loss.from_logits is not None
    rule = output_rule(loss.simplifies_with, name, 3)
    assert all(sp.simplify(d - (a - y)) == 0 for d, a, y in zip(rule.delta, rule.a, rule.y))


def test_squared_error_forms_confuse_each_other_and_only_mse_averages():
    squared = [n for n, loss in LOSSES.items() if loss.confused_with]
    assert sorted(squared) == ["half_mse", "mse", "sse"]
    for name in squared:
        assert all(name in LOSSES[other].confused_with for other in LOSSES[name].confused_with)
        ones = lambda n: LOSSES[name].numpy(np.zeros((1, n)), np.ones((1, n)))[0]  # noqa: E731
        assert LOSSES[name].output_mean == (ones(1) == ones(4))  # a mean does not grow with n
    assert [n for n, loss in LOSSES.items() if loss.output_mean] == ["mse"]
