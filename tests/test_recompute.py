"""The mistake engine: typed settings, the honest computation equal to the NumPy reference, each
setting's effect against values computed here by hand."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path

import numpy as np
import pytest

from derive import reference
from derive.loader import load_problem
from derive.mistakes import MISTAKES, mistake_variants
from derive.quantities import QuantityName
from derive.recompute import (HONEST, BiasTimesInput, BiasUpdate, FPrime, Method, NextWeights, ShiftedWeights,
                              recompute)

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
SHIPPED = sorted(PROBLEMS.glob("*.yaml"))
SIGMOID = load_problem(PROBLEMS / "sgd-sigmoid-hidden.yaml")
RELU_BATCH = load_problem(PROBLEMS / "relu-2-3-3-1-batch.yaml")


def _typed(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, enum.Enum)) or (
        dataclasses.is_dataclass(value) and value.__dataclass_params__.frozen)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_mistake_setting_is_typed_and_hashable(path):
    problem = load_problem(path)
    for mistake, method in mistake_variants(problem):
        hash(method)
        for field in dataclasses.fields(Method):
            value = getattr(method, field.name)
            assert _typed(value), (mistake.id, field.name, value)
            assert not (isinstance(value, str) and ":" in value), (mistake.id, field.name, value)


def test_loss_settings_name_registered_losses():
    for path in SHIPPED:
        for _, method in mistake_variants(load_problem(path)):
            assert method.loss is None or method.loss in ("half_mse", "mse", "sse")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_honest_computation_is_the_reference(path):
    problem = load_problem(path)
    first = reference.run(problem)[0]
    for method in HONEST[:2]:  # f' from z and from a; no rounding
        values = recompute(problem, method, {})
        for l, (z, a) in enumerate(zip(first.z, first.a), start=1):
            for (example, j) in np.ndindex(z.shape):
                assert values[QuantityName("z", l, (j,), example)] == pytest.approx(z[example, j], rel=1e-12, abs=1e-15)
                assert values[QuantityName("a", l, (j,), example)] == pytest.approx(a[example, j], rel=1e-12, abs=1e-15)
        if first.grad_W is None:
            continue
        for l, (gW, newW) in enumerate(zip(first.grad_W, first.new_W), start=1):
            for j, k in np.ndindex(gW.shape):
                assert values[QuantityName("dW", l, (j, k))] == pytest.approx(gW[j, k], rel=1e-12, abs=1e-15)
                assert values[QuantityName("W", l, (j, k))] == pytest.approx(newW[j, k], rel=1e-12, abs=1e-15)


def _value(problem, method, kind, layer, index, example=None):
    return recompute(problem, method, {})[QuantityName(kind, layer, index, example)]


def test_shifted_weights_take_the_next_neurons_weights():
    """relu-2-3-3-1: delta^(1)_1 from W^(2)'s column 2 (neuron 1 takes neuron 2's weights)."""
    shifted = recompute(RELU_BATCH, Method(hidden_weights=ShiftedWeights(1)), {})
    W2 = np.array(RELU_BATCH.weights[1])
    delta2 = [shifted[QuantityName("delta", 2, (k,), 0)] for k in range(W2.shape[0])]
    z1 = shifted[QuantityName("z", 1, (0,), 0)]
    expected = sum(delta2[k] * W2[k, 1] for k in range(W2.shape[0])) * (1.0 if z1 > 0 else 0.0)
    assert shifted[QuantityName("delta", 1, (0,), 0)] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_bias_times_input_multiplies_by_that_input():
    honest = recompute(SIGMOID, Method(), {})
    x2 = SIGMOID.inputs[0][1]
    got = _value(SIGMOID, Method(bias=BiasTimesInput(1)), "db", 1, (0,))
    assert got == pytest.approx(honest[QuantityName("delta", 1, (0,), 0)] * x2, rel=1e-12)


def test_fixed_bias_and_forgotten_derivative():
    honest = recompute(SIGMOID, Method(), {})
    assert _value(SIGMOID, Method(bias=BiasUpdate.FIXED), "b", 2, (0,)) == SIGMOID.biases[1][0]
    a2 = honest[QuantityName("a", 2, (0,), 0)]
    y = SIGMOID.targets[0][0]
    assert _value(SIGMOID, Method(fprime=FPrime.FORGOTTEN), "delta", 2, (0,), 0) == pytest.approx(a2 - y, rel=1e-12)


def test_transposed_weights_need_a_square_matrix():
    """sgd-sigmoid-hidden's W^(2) is 1x2: W instead of W^T has no meaning there (NaN, matches nothing)."""
    got = _value(SIGMOID, Method(hidden_weights=NextWeights.TRANSPOSED), "delta", 1, (0,), 0)
    assert np.isnan(got)


def test_the_catalogue_uses_only_typed_settings():
    for mistake in MISTAKES.values():
        for method in mistake.variants(RELU_BATCH):
            assert isinstance(method.fprime, FPrime)
            assert isinstance(method.hidden_weights, (NextWeights, ShiftedWeights))
            assert isinstance(method.bias, (BiasUpdate, BiasTimesInput))
