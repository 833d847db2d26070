"""What SymPy derives: flat assertions against the textbook forms, worked out by hand."""

from __future__ import annotations

import dataclasses
import itertools
from functools import lru_cache

import pytest
import numpy as np
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import derivation
from derive.derivation import (
    END_TO_END_LIMIT,
    A,
    Z,
    ActivationRule,
    activation_rule,
    derive,
    output_rule,
    parameter_count,
    prove_end_to_end,
)
from derive.identities import vanishes as _vanishes
from derive.printing import text
from derive.spec import Network

a = A
x, y = sp.symbols("x y")


def same(expr, expected) -> bool:
    return sp.simplify(expr - expected) == 0


# --------------------------------------------------------------------------------------------
# activation derivatives
# --------------------------------------------------------------------------------------------


def test_sigmoid_derivative_in_a():
    assert same(activation_rule("sigmoid").derivative_a, a * (1 - a))


def test_sigmoid_derivative_prints_as_a_times_one_minus_a():
    assert text(activation_rule("sigmoid").derivative_a) == "a*(1 - a)"


def test_sigmoid_derivative_in_z():
    assert same(activation_rule("sigmoid").derivative_z, sp.exp(-Z) / (1 + sp.exp(-Z)) ** 2)


def test_tanh_derivative_in_a():
    assert same(activation_rule("tanh").derivative_a, 1 - a**2)


def test_tanh_derivative_prints_as_one_minus_a_squared():
    assert text(activation_rule("tanh").derivative_a) == "1 - a**2"


def test_tanh_derivative_in_z():
    assert same(activation_rule("tanh").derivative_z, 1 / sp.cosh(Z) ** 2)


def test_identity_derivative_is_one():
    assert activation_rule("identity").derivative == 1


def test_relu_derivative_is_zero_at_the_kink():
    assert activation_rule("relu").derivative_a is None
    assert activation_rule("relu").derivative.subs(Z, 0) == 0
    assert activation_rule("relu").derivative.subs(Z, sp.Rational(1, 3)) == 1
    assert activation_rule("relu").derivative.subs(Z, -2) == 0


def test_leaky_relu_derivative_is_the_slope_at_the_kink():
    assert activation_rule("leaky_relu").derivative.subs(Z, 0) == sp.Rational(1, 100)
    assert activation_rule("leaky_relu").derivative.subs(Z, -5) == sp.Rational(1, 100)
    assert activation_rule("leaky_relu").derivative.subs(Z, 5) == 1


def test_step_derivative_is_zero():
    assert activation_rule("step").derivative_z == 0


def test_softmax_has_no_elementwise_rule():
    assert activation_rule("softmax").derivative_a is None


# --------------------------------------------------------------------------------------------
# output deltas
# --------------------------------------------------------------------------------------------


def test_sigmoid_bce_delta_is_a_minus_y():
    rule = output_rule("sigmoid", "bce", 1)
    assert same(rule.delta[0], rule.a[0] - rule.y[0])
    assert str(rule.a[0]) == "a_1" and str(rule.y[0]) == "y_1"


def test_sigmoid_bce_delta_rule_before_simplifying_is_dL_da_times_sigma_prime():
    rule = output_rule("sigmoid", "bce", 1)
    a1, y1 = rule.a[0], rule.y[0]
    assert same(rule.dL_da[0], -y1 / a1 + (1 - y1) / (1 - a1))
    assert same(rule.delta_rule[0], (-y1 / a1 + (1 - y1) / (1 - a1)) * a1 * (1 - a1))


@pytest.mark.parametrize("size", [3, 4])
def test_softmax_cross_entropy_delta_is_a_minus_y(size):
    rule = output_rule("softmax", "cross_entropy", size)
    for j in range(size):
        assert same(rule.delta[j], rule.a[j] - rule.y[j]), f"delta_{j + 1} = {rule.delta[j]}"
        assert text(rule.delta[j]) == f"a_{j + 1} - y_{j + 1}"


def test_softmax_cross_entropy_delta_is_a_minus_y_for_two_classes():
    rule = output_rule("softmax", "cross_entropy", 2)
    assert [text(d) for d in rule.delta] == ["a_1 - y_1", "a_2 - y_2"]


def test_softmax_cross_entropy_two_classes_delta_is_right_on_the_simplex():
    rule = output_rule("softmax", "cross_entropy", 2)
    on_simplex = {rule.y[1]: 1 - rule.y[0]}
    for j in range(2):
        assert same(rule.delta[j].subs(on_simplex), (rule.a[j] - rule.y[j]).subs(on_simplex))


def test_softmax_cross_entropy_states_its_assumptions():
    rule = output_rule("softmax", "cross_entropy", 3)
    assert r"\sum_k a_k = 1" in rule.assumptions
    assert r"\sum_k y_k = 1" in rule.assumptions


def test_identity_half_mse_delta_is_a_minus_y():
    rule = output_rule("identity", "half_mse", 2)
    assert all(same(rule.delta[j], rule.a[j] - rule.y[j]) for j in range(2))


def test_sigmoid_half_mse_delta():
    rule = output_rule("sigmoid", "half_mse", 1)
    a1, y1 = rule.a[0], rule.y[0]
    assert same(rule.delta[0], (a1 - y1) * a1 * (1 - a1))


def test_tanh_mse_delta():
    rule = output_rule("tanh", "mse", 2)
    for j in range(2):
        aj, yj = rule.a[j], rule.y[j]
        assert same(rule.delta[j], (aj - yj) * (1 - aj**2))  # 2/n = 1 for n = 2


@pytest.mark.parametrize("activation", ["sigmoid", "identity", "tanh"])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_mse_over_half_mse_delta_ratio_is_two_over_n(activation, size):
    mse, half = output_rule(activation, "mse", size), output_rule(activation, "half_mse", size)
    for j in range(size):
        assert sp.simplify(mse.delta[j] / half.delta[j]) == sp.Rational(2, size)


def test_mse_delta_ratio_one_output_is_exactly_two():
    mse, half = output_rule("sigmoid", "mse", 1), output_rule("sigmoid", "half_mse", 1)
    assert sp.simplify(mse.delta[0] / half.delta[0]) == 2


@pytest.mark.parametrize(
    "activation, loss, size",
    [("sigmoid", "bce", 1), ("sigmoid", "bce", 2), ("softmax", "cross_entropy", 3), ("tanh", "half_mse", 2)],
)
def test_simplified_delta_equals_direct_derivative_in_z(activation, loss, size):
    """delta (in a) with a = f(z) substituted equals d/dz_j of the loss written in z."""
    from derive.registry import ACTIVATIONS, LOSSES

    rule = output_rule(activation, loss, size)
    forms = ACTIVATIONS[activation].sympy(rule.z)
    in_z = dict(zip(rule.a, forms))
    loss_in_z = LOSSES[loss].sympy(forms, rule.y)
    constraint = {rule.y[-1]: 1 - sp.Add(*rule.y[:-1])} if LOSSES[loss].targets_sum_to_one else {}
    for j, zj in enumerate(rule.z):
        difference = (rule.delta[j].subs(in_z) - sp.diff(loss_in_z, zj)).subs(constraint)
        # numerically at a few points rather than simplify: the identity must hold everywhere
        for point in ([0.3, -0.7, 1.1], [-1.2, 0.4, 0.05]):
            values = {**dict(zip(rule.z, point)), **dict(zip(rule.y, [0.2, 0.5, 0.3][:size]))}
            assert abs(float(difference.subs(values))) < 1e-12


# --------------------------------------------------------------------------------------------
# proofs
# --------------------------------------------------------------------------------------------

NETWORKS = {
    "2-2-2 sigmoid half_mse": Network((2, 2, 2), ("sigmoid", "sigmoid"), "half_mse"),
    "2-3-3-1 relu tanh sigmoid bce": Network((2, 3, 3, 1), ("relu", "tanh", "sigmoid"), "bce"),
    "2-3-3-1 sigmoid identity identity mse": Network((2, 3, 3, 1), ("sigmoid", "identity", "identity"), "mse"),
    "2-3-3 tanh softmax": Network((2, 3, 3), ("tanh", "softmax"), "cross_entropy"),
    "3-2-3 relu softmax no bias": Network((3, 2, 3), ("relu", "softmax"), "cross_entropy", bias=False),
    "2-2 softmax": Network((2, 2), ("softmax",), "cross_entropy"),
    "2-2-1 leaky sigmoid": Network((2, 2, 1), ("leaky_relu", "sigmoid"), "half_mse"),
    "4-5-5-3 wide (no end-to-end)": Network((4, 5, 5, 3), ("relu", "tanh", "softmax"), "cross_entropy"),
}


@lru_cache(maxsize=None)
def derived(name: str):
    return derive(NETWORKS[name])


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_proof_holds(name):
    network = NETWORKS[name]
    result = derived(name)
    assert result.proofs, "no proofs"
    for proof in result.proofs:
        assert proof.holds, proof.method
        assert proof.instances > 0
    assert result.proved
    # one hidden-layer proof per hidden layer, plus output, gradients, L2 (and end to end)
    expected = 3 + (network.depth - 1) + (parameter_count(network) <= END_TO_END_LIMIT)
    assert len(result.proofs) == expected


def test_every_proof_holds_leaky_relu_into_softmax():
    assert derive(Network((2, 2, 2), ("leaky_relu", "softmax"), "cross_entropy")).proved


def test_parameter_count():
    assert parameter_count(Network((2, 3, 3, 1), ("relu", "tanh", "sigmoid"), "bce")) == 9 + 12 + 4
    assert parameter_count(Network((3, 2, 3), ("relu", "softmax"), "cross_entropy", bias=False)) == 6 + 6


def test_gradient_proof_counts_every_parameter():
    gradients = [p for p in derived("2-3-3-1 relu tanh sigmoid bce").proofs if "every weight and bias" in p.method]
    assert [p.instances for p in gradients] == [25]


def test_end_to_end_proof_counts_every_parameter():
    proof = prove_end_to_end(NETWORKS["2-2-2 sigmoid half_mse"])
    assert proof.holds and proof.instances == 12


def test_regularisation_term_is_lambda_over_m_times_w():
    lam, m = derivation.LAMBDA, derivation.M
    assert same(derived("2-2-2 sigmoid half_mse").regularisation, lam * sp.Symbol("w") / m)


def test_end_to_end_detects_a_wrong_hidden_derivative(monkeypatch):
    """sigma' written as a (instead of a(1 - a)) must make the end-to-end proof fail."""
    network = Network((2, 2, 1), ("sigmoid", "sigmoid"), "half_mse")
    real = derivation.activation_rule

    def wrong(name):
        rule = real(name)
        return ActivationRule(name, rule.derivative_z, A) if name == "sigmoid" else rule

    monkeypatch.setattr(derivation, "activation_rule", wrong)
    assert prove_end_to_end(network).holds is False


def test_end_to_end_detects_a_wrong_output_delta(monkeypatch):
    """delta = a - y is right for sigmoid + bce, wrong for sigmoid + half_mse."""
    network = Network((2, 2, 1), ("sigmoid", "sigmoid"), "half_mse")
    real = derivation.output_rule

    def wrong(activation, loss, size):
        rule = real(activation, loss, size)
        return dataclasses.replace(rule, delta=tuple(aj - yj for aj, yj in zip(rule.a, rule.y)))

    monkeypatch.setattr(derivation, "output_rule", wrong)
    assert prove_end_to_end(network).holds is False


def test_end_to_end_detects_a_wrong_softmax_delta(monkeypatch):
    network = Network((2, 3), ("softmax",), "cross_entropy")
    real = derivation.output_rule

    def wrong(activation, loss, size):
        rule = real(activation, loss, size)
        return dataclasses.replace(rule, delta=tuple(2 * (aj - yj) for aj, yj in zip(rule.a, rule.y)))

    monkeypatch.setattr(derivation, "output_rule", wrong)
    assert prove_end_to_end(network).holds is False


def test_monkeypatches_did_not_leak():
    assert prove_end_to_end(Network((2, 2, 1), ("sigmoid", "sigmoid"), "half_mse")).holds


@pytest.mark.parametrize(
    "expr",
    [
        sp.exp(x) * sp.exp(y) - sp.exp(x + y),
        x * (1 - x) - (x - x**2),
        (x**2 - y**2) / (x - y) - (x + y),
        # sigma'(z) = sigma(z)(1 - sigma(z)), written with exponentials
        sp.exp(-x) / (1 + sp.exp(-x)) ** 2 - (1 / (1 + sp.exp(-x))) * (1 - 1 / (1 + sp.exp(-x))),
        sp.exp(2 * x) - sp.exp(x) ** 2,
        sp.exp(x) / (sp.exp(x) + sp.exp(y)) - 1 / (1 + sp.exp(y - x)),
        sp.log(x) * y - y * sp.log(x),
        sp.Piecewise((x, x > 0), (0, True)) * y - y * sp.Piecewise((x, x > 0), (0, True)),
        sp.Integer(0),
    ],
)
def test_vanishes_on_identities(expr):
    assert _vanishes(expr) is True


@pytest.mark.parametrize(
    "expr",
    [
        sp.exp(x) - sp.exp(y),
        x * (1 - x) - x,
        sp.exp(x) * sp.exp(y) - sp.exp(x - y),
        sp.tanh(x) - sp.tanh(y),
        sp.Integer(1),
        sp.Rational(1, 10**12),
        x - y + sp.Rational(1, 10**9),
    ],
)
def test_vanishes_rejects_nonzero_expressions(expr):
    assert _vanishes(expr) is False


def test_rules_are_cached():
    assert activation_rule("sigmoid") is activation_rule("sigmoid")
    assert output_rule("softmax", "cross_entropy", 3) is output_rule("softmax", "cross_entropy", 3)


# --------------------------------------------------------------------------------------------
# simplified: a polynomial is expanded, not simplified
# --------------------------------------------------------------------------------------------

_a1, _a2, _y1, _y2 = sp.symbols("a_1 a_2 y_1 y_2")
_polynomial_terms = st.sampled_from([_a1, _a2, _y1, _y2, sp.Integer(1), sp.Integer(-1), sp.Integer(2)])


@st.composite
def _polynomials(draw):
    """Sums of products of a's, y's and small integers, some left unevaluated as the delta rule
    leaves them (``_shown_product``)."""
    products = []
    for _ in range(draw(st.integers(1, 4))):
        factors = draw(st.lists(_polynomial_terms, min_size=1, max_size=3))
        if draw(st.booleans()):
            factors.append(sp.Add(*draw(st.lists(_polynomial_terms, min_size=2, max_size=3))))
        products.append(sp.Mul(*factors, evaluate=draw(st.booleans())))
    return sp.Add(*products)


@settings(max_examples=150, deadline=None)
@given(expr=_polynomials())
def test_a_polynomial_tidies_as_simplify_would_leave_it(expr):
    """tidy writes from the factored and expanded forms, which do not depend on how the polynomial
    is written: skipping simplify changes nothing a sheet shows, and 0 is still found as 0."""
    assert derivation.tidy(derivation.simplified(expr)) == derivation.tidy(sp.simplify(expr))
    assert (derivation.simplified(expr) == 0) == (sp.simplify(expr) == 0)


def test_every_output_delta_is_what_simplify_gives():
    """Each output rule (every activation, loss and size the registries offer) as it was derived
    with ``sp.simplify`` throughout, and each output proof's verdict as simplify gives it (a ReLU
    output under cross-entropy, which the loader refuses, is beyond simplify either way)."""
    from derive.registry import ACTIVATIONS, LOSSES

    for activation, loss, size in itertools.product(sorted(ACTIVATIONS), sorted(LOSSES), (1, 2, 3)):
        rule = output_rule(activation, loss, size)
        for j, delta_rule in enumerate(rule.delta_rule):
            expected = derivation._as_neuron_one(derivation.tidy, derivation._as_neuron_one(sp.simplify, delta_rule))
            if LOSSES[loss].targets_sum_to_one:  # sum(y) = 1 eliminates one target, as _simplify_delta does
                e = size - 1 if j != size - 1 else 0
                others = sp.Add(*[y_k for k, y_k in enumerate(rule.y) if k != e])
                expected = derivation.tidy(sp.simplify(sp.expand(sp.expand(expected).subs(rule.y[e], 1 - others))))
            assert rule.delta[j] == expected, (activation, loss, size, j)
        in_z = dict(zip(rule.a, ACTIVATIONS[activation].sympy(rule.z)))
        by_simplify = all(
            sp.simplify(d.subs(in_z) - direct) == 0 for d, direct in zip(rule.delta_rule, rule.direct)
        )
        assert derivation._prove_output(rule).holds == by_simplify, (activation, loss, size)


def test_compiled_formulas_are_the_code_lambdify_writes_for_numpy():
    """numeric.lambdify hands SymPy the numpy module rather than the name "numpy" (no star
    import): the code it generates is the same, and so are its values, for every output rule's
    delta, loss and dL/da and every activation's derivative."""
    import inspect

    from derive import numeric
    from derive.registry import ACTIVATIONS, LOSSES

    pairs = []
    for activation, loss in itertools.product(sorted(ACTIVATIONS), sorted(LOSSES)):
        rule = output_rule(activation, loss, 2)
        symbols = (*rule.a, *rule.y, *rule.z)
        pairs += [(symbols, e) for e in (*rule.delta, rule.loss_expr, *rule.dL_da)]
    pairs += [((Z, A), activation_rule(n).derivative) for n in sorted(ACTIVATIONS) if ACTIVATIONS[n].elementwise]
    rng = np.random.default_rng(7)
    for symbols, expr in pairs:
        ours = numeric.lambdify(symbols, expr)
        theirs = sp.lambdify(symbols, expr, modules=[{"LogSumExp": numeric._log_sum_exp}, "numpy"])
        assert inspect.getsource(ours.__closure__[0].cell_contents) == inspect.getsource(theirs)
        values = [rng.uniform(0.05, 0.95, 4) for _ in symbols]
        with np.errstate(all="ignore"):
            assert np.array_equal(np.broadcast_to(ours(*values), (4,)), np.broadcast_to(theirs(*values), (4,)),
                                  equal_nan=True)
