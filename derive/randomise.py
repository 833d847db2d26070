"""Stage 0.5, randomisation: variant k of a problem file's randomisation section.

A pure core: :func:`make_variant` turns (problem, seed, k) into an ordinary :class:`Problem`
whose numbers were drawn on the section's decimal grids (integers times the step, as exact
decimals, then floats), redrawn until the pen-and-paper constraints hold. Each attempt uses its
own generator ``numpy.random.default_rng([seed, k, attempt])``, so variant k is the same whether
10 or 400 are made, on any machine. The constraints are checked on the independent NumPy
reference (:mod:`derive.reference`), which is fast; the accepted variant then goes through the
ordinary pipeline (derivation, substitution, verification) like any other problem.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, Iterable

import numpy as np

from .i18n import gettext_for
from . import reference
from .errors import ProblemError
from .grid import grid_values
from .problem_checks import target_error
from .printing import number
from .registry import ACTIVATIONS
from .spec import Constraints, Draw, Problem


def make_variant(problem: Problem, seed: int, variant: int) -> Problem:
    """Variant ``variant`` (from 1) of ``problem`` for ``seed``: an ordinary problem, drawn anew.

    Raises :class:`ProblemError` when the problem has no randomisation section, the variant
    number is below 1, the seed is negative, or no draw meets the constraints.
    """
    spec = problem.randomisation
    if spec is None:
        raise ProblemError(problem.source, "randomisation", "missing: the problem has no randomisation section, so it has no variants")
    if variant < 1:
        raise ProblemError(problem.source, "variant", f"variants are numbered from 1, got {variant}")
    if seed < 0:
        raise ProblemError(problem.source, "seed", f"the seed must be 0 or more, got {seed}")
    failures: Counter[str] = Counter()
    for attempt in range(spec.max_draws):
        candidate = _draw(problem, np.random.default_rng([seed, variant, attempt]), variant)
        broken = violated_constraint(candidate, spec.constraints)
        if broken is None:
            return candidate
        failures[broken] += 1
    name, count = failures.most_common(1)[0]
    field = "randomisation.data.targets" if name == "targets" else f"randomisation.constraints.{name}"
    raise ProblemError(
        problem.source, field,
        f"no draw for variant {variant} (seed {seed}) met the constraints in {spec.max_draws} draws; "
        f"{_DESCRIPTIONS[name]} failed {count} times: widen the ranges, relax the constraint or raise max_draws",
    )


def numbers(problem: Problem) -> dict[str, Any]:
    """A problem's ``parameters`` and ``data`` in the problem file's keys (to write it back out)."""
    parameters: dict[str, Any] = {}
    for l, (W, b) in enumerate(zip(problem.weights, problem.biases), start=1):
        parameters[f"W{l}"] = [list(row) for row in W]
        if problem.network.bias:
            parameters[f"b{l}"] = list(b)
    data = {"inputs": [list(row) for row in problem.inputs], "targets": [list(row) for row in problem.targets]}
    return {"parameters": parameters, "data": data}


# ----------------------------------------------------------------------------------------------
# Drawing


def _draw(problem: Problem, rng: np.random.Generator, variant: int) -> Problem:
    spec = problem.randomisation
    assert spec is not None
    draws = dict(spec.parameters)
    weights = tuple(_matrix(draws.get(f"W{l}"), W, rng) for l, W in enumerate(problem.weights, start=1))
    biases = tuple(
        tuple(_matrix(draws.get(f"b{l}"), (b,), rng)[0]) if problem.network.bias else b
        for l, b in enumerate(problem.biases, start=1)
    )
    inputs = _matrix(spec.inputs, problem.inputs, rng)
    targets = _one_hot(len(problem.targets), problem.network.layers[-1], rng) if spec.targets and spec.targets.one_hot \
        else _matrix(spec.targets, problem.targets, rng)
    instructions = problem.instructions if spec.instructions is None else spec.instructions
    return dataclasses.replace(problem, title=_variant_title(problem, variant), instructions=instructions,
                               weights=weights, biases=biases, inputs=inputs, targets=targets, randomisation=None)


def _matrix(draw: Draw | None, given: tuple[tuple[float, ...], ...], rng: np.random.Generator):
    """A matrix shaped like ``given``, drawn from ``draw`` (or ``given`` itself when None)."""
    if draw is None:
        return given
    grid = grid_values(draw)
    picks = rng.integers(len(grid), size=(len(given), len(given[0])))
    return tuple(tuple(float(grid[i]) for i in row) for row in picks)


def _one_hot(rows: int, classes: int, rng: np.random.Generator):
    picks = rng.integers(classes, size=rows)
    return tuple(tuple(1.0 if k == c else 0.0 for k in range(classes)) for c in picks)


# ----------------------------------------------------------------------------------------------
# Constraints

_DESCRIPTIONS = {
    "targets": "targets valid for the loss",
    "max_abs_z": "|z| under max_abs_z",
    "inactive_relu": "the number of inactive ReLU units (and no pre-activation that rounds to 0)",
    "nonzero_gradients": "no gradient that rounds to 0",
    "distinct_answers": "no two equal answers",
    "no_rounding_ties": "no answer halfway between two rounded values",
}


def violated_constraint(problem: Problem, constraints: Constraints) -> str | None:
    """The name of the first constraint ``problem`` breaks (see :class:`Constraints`), or None."""
    if any(target_error(row, problem.network.loss) for row in problem.targets):
        return "targets"
    steps = reference.run(problem)
    d = problem.answers.decimals
    kinked = [ACTIVATIONS[name].kink is not None for name in problem.network.activations]
    if constraints.max_abs_z is not None and any(np.abs(z).max() >= constraints.max_abs_z for s in steps for z in s.z):
        return "max_abs_z"
    relu_z = [z for s in steps for z, k in zip(s.z, kinked) if k]
    if any(_rounds_to_zero(v, d) for z in relu_z for v in z.flat) or \
            sum(int((z < 0).sum()) for z in relu_z) != constraints.inactive_relu:
        return "inactive_relu"
    if constraints.nonzero_gradients and any(_small_gradients(s, kinked, problem.updates_biases, d) for s in steps):
        return "nonzero_gradients"
    if constraints.distinct_answers and any(_equal_answers(problem, s, d) for s in steps):
        return "distinct_answers"
    if constraints.no_rounding_ties and any(_on_a_tie(_answers(s), d) for s in steps):
        return "no_rounding_ties"
    return None


def _rounds_to_zero(value: float, decimals: int) -> bool:
    return number(value, decimals, False) == "0"


def _small_gradients(step, kinked: list[bool], bias: bool, d: int) -> bool:
    if step.grad_W is None:
        return False
    for z, grad_W, grad_b, k in zip(step.z, step.grad_W, step.grad_b, kinked):
        for j in range(grad_W.shape[0]):
            if k and np.all(z[:, j] < 0):
                continue  # a unit inactive for the whole batch: its gradients are exactly 0
            values = list(grad_W[j]) + ([grad_b[j]] if bias else [])
            if any(_rounds_to_zero(v, d) for v in values):
                return True
    return False


def _equal_answers(problem: Problem, step, d: int) -> bool:
    Y = np.array(problem.targets, dtype=float)[list(step.batch)]
    per_example = reference.per_example_loss(problem, step.z[-1], step.a[-1], Y)
    losses = [step.loss] + ([] if step.loss_after is None else [step.loss_after])
    groups = [[z] for z in step.z] + [[a] for a in step.a] + [[per_example if len(step.batch) > 1 else np.array([]), np.array(losses)]]
    if step.delta is not None:
        groups += [step.delta, [*step.grad_W, *(step.grad_b if problem.updates_biases else ())],
                   [*step.new_W, *(step.new_b if problem.updates_biases else ())]]  # fixed biases: not asked
    return any(_has_duplicates(np.concatenate([np.ravel(m) for m in group]), d) for group in groups)


def _answers(step) -> np.ndarray:
    """Every answer of a step (forward pass, losses, deltas, gradients, new parameters) as one array."""
    arrays = [*step.z, *step.a, np.array([step.loss] + ([] if step.loss_after is None else [step.loss_after]))]
    if step.delta is not None:
        arrays += [*step.delta, *step.grad_W, *step.grad_b, *step.new_W, *step.new_b]
    return np.concatenate([np.ravel(a) for a in arrays])


def _on_a_tie(values: np.ndarray, d: int) -> bool:
    scaled = np.abs(values) * 10.0**d
    return bool(np.any(np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6))


def _has_duplicates(values: Iterable[float], d: int) -> bool:
    shown = [number(v, d, False) for v in values if v != 0.0]
    return len(set(shown)) != len(shown)


def _variant_title(problem: Problem, variant: int) -> str:
    """The problem's title with the variant number, in the sheet's language."""
    _ = gettext_for(problem.language)
    return _("{title} (variant {n})").format(title=problem.title, n=variant)
