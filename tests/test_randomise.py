"""Randomisation: the problem file's section, make_variant's draws and its constraints.

The constraints are re-checked here with a small NumPy forward and backward pass written in this
file for the shipped 2-3-3-1 problem (ReLU, ReLU, identity, half squared error, full batch), not
with derive's own reference code.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from derive.errors import ProblemError
from derive.loader import load_problem, parse_problem
from derive.randomise import make_variant, numbers

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
RELU = PROBLEMS / "relu-2-3-3-1-batch.yaml"
SIGMOID = PROBLEMS / "sgd-sigmoid-hidden.yaml"


@pytest.fixture(scope="module")
def relu():
    return load_problem(RELU)


def with_randomisation(path: Path, section: dict) -> str:
    document = yaml.safe_load(path.read_text())
    document["randomisation"] = section
    return yaml.safe_dump(document)


def backprop(p):
    """z, a, deltas, gradients and updated parameters of one full-batch step (ReLU, ReLU, identity)."""
    X, Y = np.array(p.inputs), np.array(p.targets)
    Ws = [np.array(W) for W in p.weights]
    bs = [np.array(b) for b in p.biases]
    zs, acts = [], [X]
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = acts[-1] @ W.T + b
        zs.append(z)
        acts.append(z if l == len(Ws) - 1 else np.maximum(z, 0))
    m = len(X)
    delta = acts[-1] - Y
    deltas = [delta]
    for l in range(len(Ws) - 1, 0, -1):
        delta = (delta @ Ws[l]) * (zs[l - 1] > 0)
        deltas.insert(0, delta)
    gW = [d.T @ a / m for d, a in zip(deltas, acts)]
    gb = [d.mean(axis=0) for d in deltas]
    eta = p.training.learning_rate
    return zs, acts[1:], deltas, gW, gb, [W - eta * g for W, g in zip(Ws, gW)], [b - eta * g for b, g in zip(bs, gb)]


def rounded(values) -> list[str]:
    """Each nonzero value as the sheet prints it to 4 decimals: on paper, half away from zero on the
    value written to 12 figures (0.29755 shows as 0.2976, although the float is a hair below)."""
    return [str(Decimal(f"{v:.12g}").quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
            for v in np.ravel(values) if v != 0.0]


# ----------------------------------------------------------------------------------------------
# The section in the problem file


def test_shipped_problems_have_a_randomisation_section(relu):
    spec = relu.randomisation
    assert dict(spec.parameters)["W1"].step == 0.1 and dict(spec.parameters)["W3"].maximum == 1.0
    assert dict(spec.parameters)["b3"].choices == (-0.2, -0.1, 0.1, 0.2)
    assert spec.constraints.max_abs_z == 4 and spec.constraints.inactive_relu == 0
    assert load_problem(SIGMOID).randomisation is not None


@pytest.mark.parametrize("section, field, words", [
    ({"parameters": {"weights": {"min": 1, "max": -1, "step": 0.1}}}, "randomisation.parameters.weights", "min 1 is greater than max -1"),
    ({"parameters": {"W9": {"choices": [1]}}}, "randomisation.parameters.W9", "unknown key"),
    ({"parameters": {"weights": {"min": 0, "max": 1, "step": 0.00001}}}, "randomisation.parameters.weights.step", "more decimals"),
    ({"parameters": {"weights": {"min": 0, "max": 1}}}, "randomisation.parameters.weights", "missing step"),
    ({"parameters": {"b1": {"choices": [1], "min": 0}}}, "randomisation.parameters.b1", "not both"),
    ({"parameters": {"b1": {"choices": [0], "nonzero": True}}}, "randomisation.parameters.b1", "no choice left"),
    ({"parameters": {"weights": {"one_hot": True}}}, "randomisation.parameters.weights", "only for data.targets"),
    ({"data": {"inputs": {"min": 0.01, "max": 0.09, "step": 0.1}}}, "randomisation.data.inputs", "no multiple of 0.1"),
    ({"constraints": {"max_abs_z": -1}}, "randomisation.constraints.max_abs_z", "greater than 0"),
])
def test_bad_sections_name_the_field(section, field, words):
    with pytest.raises(ProblemError) as caught:
        parse_problem(with_randomisation(RELU, section), "x.yaml")
    assert caught.value.field == field and words in caught.value.message


def test_per_key_override_beats_the_default():
    problem = parse_problem(with_randomisation(RELU, {"parameters": {
        "weights": {"choices": [0.5]}, "W2": {"choices": [-0.5]}, "biases": {"choices": [0.1]}}}))
    draws = dict(problem.randomisation.parameters)
    assert draws["W1"].choices == (0.5,) and draws["W3"].choices == (0.5,) and draws["W2"].choices == (-0.5,)
    assert draws["b2"].choices == (0.1,)


# ----------------------------------------------------------------------------------------------
# make_variant


def test_variant_is_an_ordinary_problem_on_the_grid(relu):
    variant = make_variant(relu, 2026, 3)
    assert variant.title.endswith("(variant 3)") and variant.randomisation is None
    assert variant.network == relu.network and variant.training == relu.training
    for W in variant.weights[:2]:
        for w in (w for row in W for w in row):
            assert -0.5 <= w <= 1 and w != 0 and Decimal(repr(w)) % Decimal("0.1") == 0
    for w in variant.weights[2][0]:
        assert -1 <= w <= 1 and Decimal(repr(w)) % Decimal("0.1") == 0
    assert variant.biases[2][0] in (-0.2, -0.1, 0.1, 0.2)
    assert all(x in (0.5, 1.0, 1.5, 2.0) for row in variant.inputs for x in row)


def test_same_seed_same_variant_different_seed_different_numbers(relu):
    assert make_variant(relu, 7, 5) == make_variant(relu, 7, 5)
    assert make_variant(relu, 7, 5).weights != make_variant(relu, 8, 5).weights
    assert make_variant(relu, 7, 5).weights != make_variant(relu, 7, 6).weights


def test_numbers_write_back_as_an_ordinary_problem_file(relu):
    variant = make_variant(relu, 1, 1)
    document = yaml.safe_load(RELU.read_text())
    del document["randomisation"]
    document.update(numbers(variant))
    again = parse_problem(yaml.safe_dump(document))
    assert (again.weights, again.biases, again.inputs, again.targets) == (variant.weights, variant.biases, variant.inputs, variant.targets)


@pytest.mark.parametrize("variant", [0, -3])
def test_variant_numbers_start_at_one(relu, variant):
    with pytest.raises(ProblemError) as caught:
        make_variant(relu, 1, variant)
    assert caught.value.field == "variant"


def test_problem_without_a_section_has_no_variants():
    with pytest.raises(ProblemError) as caught:
        make_variant(load_problem(PROBLEMS / "sgd-tanh-hidden.yaml"), 1, 1)
    assert caught.value.field == "randomisation" and "no randomisation section" in caught.value.message


def test_unmeetable_constraint_is_named(relu):
    tight = dataclasses.replace(relu.randomisation, max_draws=50,
                                constraints=dataclasses.replace(relu.randomisation.constraints, max_abs_z=0.05))
    with pytest.raises(ProblemError) as caught:
        make_variant(dataclasses.replace(relu, randomisation=tight), 1, 1)
    assert caught.value.field == "randomisation.constraints.max_abs_z"
    assert "50 draws" in caught.value.message


def test_targets_must_suit_the_loss():
    text = with_randomisation(PROBLEMS / "bce-relu-epochs.yaml", {"data": {"targets": {"choices": [2, 3]}}, "max_draws": 5})
    with pytest.raises(ProblemError) as caught:
        make_variant(parse_problem(text), 1, 1)
    assert caught.value.field == "randomisation.data.targets" and "targets valid for the loss" in caught.value.message


def test_chosen_number_of_inactive_relu_units():
    text = with_randomisation(RELU, {
        "parameters": {"weights": {"min": -1, "max": 1, "step": 0.1, "nonzero": True}, "biases": {"min": -0.5, "max": 0.5, "step": 0.1}},
        "constraints": {"inactive_relu": 2, "distinct_answers": False}, "max_draws": 20000})
    variant = make_variant(parse_problem(text), 3, 1)
    zs = backprop(variant)[0]
    assert int((zs[0] < 0).sum() + (zs[1] < 0).sum()) == 2
    assert all(abs(z) >= 0.00005 for layer in zs[:2] for z in np.ravel(layer))


def test_one_hot_targets():
    text = with_randomisation(PROBLEMS / "softmax-3class.yaml", {"data": {"targets": {"one_hot": True}}, "constraints": {"distinct_answers": False}})
    variant = make_variant(parse_problem(text), 1, 2)
    assert all(sorted(row) == [0.0] * (len(row) - 1) + [1.0] for row in variant.targets)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**63), k=st.integers(1, 10_000))
def test_every_constraint_holds_on_every_variant(relu, seed, k):
    variant = make_variant(relu, seed, k)
    zs, acts, deltas, gW, gb, newW, newb = backprop(variant)
    assert all(np.abs(z).max() < 4 for z in zs)
    for z in zs[:2]:  # every ReLU unit active, visibly
        assert (z >= 0.00005).all()
    for g_W, g_b in zip(gW, gb):
        values = [*np.ravel(g_W), *g_b]
        assert 0.0 not in values and "0.0000" not in [shown.lstrip("-") for shown in rounded(values)]
    groups = [*([z] for z in zs), *([a] for a in acts), deltas, [*gW, *gb], [*newW, *newb]]
    for group in groups:
        shown = [v for m in group for v in rounded(m)]
        assert len(set(shown)) == len(shown)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**63), k=st.integers(1, 10_000))
def test_sigmoid_variants_are_not_saturated(seed, k):
    variant = make_variant(load_problem(SIGMOID), seed, k)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    x, y = np.array(variant.inputs[0]), np.array(variant.targets[0])
    W1, W2 = np.array(variant.weights[0]), np.array(variant.weights[1])
    z1 = W1 @ x + np.array(variant.biases[0])
    a1 = sigmoid(z1)
    z2 = W2 @ a1 + np.array(variant.biases[1])
    a2 = sigmoid(z2)
    assert np.abs(z1).max() < 2 and np.abs(z2).max() < 2
    d2 = (a2 - y) * a2 * (1 - a2)
    d1 = (W2.T @ d2) * a1 * (1 - a1)
    gradients = [*np.outer(d2, a1).ravel(), *d2, *np.outer(d1, x).ravel(), *d1]
    assert all(f"{abs(g):.4f}" != "0.0000" for g in gradients)
    assert y[0] in (0.0, 1.0) and all(0 < v <= 1 for v in x)


def test_no_rounding_ties_when_asked(relu):
    strict = dataclasses.replace(relu.randomisation, max_draws=20000, constraints=dataclasses.replace(
        relu.randomisation.constraints, no_rounding_ties=True))
    for k in (1, 2):
        zs, acts, deltas, gW, gb, newW, newb = backprop(make_variant(dataclasses.replace(relu, randomisation=strict), 4, k))
        for value in np.concatenate([np.ravel(m) for m in (*zs, *acts, *deltas, *gW, *gb, *newW, *newb)]):
            assert abs(abs(value) * 1e4 % 1 - 0.5) > 1e-6


def test_variants_can_have_their_own_instructions():
    problem = load_problem(SIGMOID)
    assert "compare the three updates" in problem.instructions
    variant = make_variant(problem, 1, 1)
    assert "compare" not in variant.instructions and "learning rate 0.5" in variant.instructions


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=20), st.integers(0, 6), st.integers(0, 8))
def test_constraint_checks_see_each_number_as_the_sheet_prints_it(ks, decimals, places):
    """The constraints read values as printed (times 10^d): half-way points included, rounded
    away from zero as the sheet does, never by the float's last bit."""
    from derive.printing import number
    from derive.randomise import _shown

    values = np.array([(k + 0.5) / 10**places for k in ks] + [k / 7 / 10**places for k in ks])
    expected = [float(round(Decimal(number(v, decimals, False)) * 10**decimals)) for v in values]
    assert _shown(values, decimals).tolist() == expected
