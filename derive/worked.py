"""Stage 2, numeric substitution: the problem's numbers put into every derived formula.

Numbers are computed by evaluating the SymPy expressions of the derivation (compiled once with
``lambdify``) in float64 and kept at full precision; rounding happens only when a line is
printed. Each quantity is recorded as a :class:`~derive.worked_lines.Quantity` (built by
:mod:`derive.worked_lines`): its name and section, the formula, the formula with the numbers
substituted, and the result, in the order a student computes them. A :class:`Solution` also
holds the first example's chain rule (:mod:`derive.chain`) and, trained by epochs, each
epoch's mean loss.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from .chain import ChainRule, chain_rules
from . import numeric
from .derivation import A, Z, Derivation
from .notation import for_problem
from .numeric import stable_form
from .registry import ACTIVATIONS
from .spec import Network, Problem
from .worked_lines import LineBuilder, Quantity

__all__ = ["EpochLoss", "LayerValues", "Quantity", "Solution", "Step", "substitute"]


@dataclass(frozen=True)
class LayerValues:
    """One non-input layer in one step. Rows of z, a, delta are the batch's examples."""

    layer: int
    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray | None
    grad_W: np.ndarray | None
    grad_b: np.ndarray | None
    W: np.ndarray  # after the update
    b: np.ndarray  # after the update


@dataclass(frozen=True)
class Step:
    """One SGD step: the batch, the loss before and after, every layer, every worked line."""

    index: int
    batch: tuple[int, ...]
    loss: float  # objective J before the update (data loss + L2 term)
    data_loss: float
    loss_after: float | None
    layers: tuple[LayerValues, ...]
    worked: tuple[Quantity, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class EpochLoss:
    """The mean loss over one epoch's steps (each weighted by its batch's size)."""

    epoch: int  # from 1
    mean_loss: float


@dataclass(frozen=True)
class Solution:
    """The worked solution of a problem: not yet verified."""

    problem: Problem
    derivation: Derivation
    steps: tuple[Step, ...]
    chain_rules: tuple[ChainRule, ...] = ()  # the first example of the first step, term by term

    @property
    def epochs(self) -> tuple[EpochLoss, ...]:
        """With ``epochs:`` training, the mean loss (before each update) of every epoch; else ()."""
        problem = self.problem
        if not problem.training.epochs:
            return ()
        per_epoch = problem.training.steps_per_epoch(problem.examples)
        means = []
        for start in range(0, len(self.steps), per_epoch):
            steps = self.steps[start : start + per_epoch]
            weights = [len(s.batch) for s in steps]
            means.append(EpochLoss(start // per_epoch + 1, sum(s.loss * w for s, w in zip(steps, weights)) / sum(weights)))
        return tuple(means)


def substitute(problem: Problem, derivation: Derivation) -> Solution:
    """Work every step of ``problem`` with the formulas of ``derivation``."""
    rules = _NumericRules.compile(problem, derivation)
    weights = [np.array(W, dtype=float) for W in problem.weights]
    biases = [np.array(b, dtype=float) for b in problem.biases]
    X, Y = np.array(problem.inputs, dtype=float), np.array(problem.targets, dtype=float)
    training = problem.training
    if training.steps == 0:
        batches: tuple[tuple[int, ...], ...] = (tuple(range(problem.examples)),)
    else:
        batches = training.batch_indices(problem.examples)
    steps = []
    for index, batch in enumerate(batches):
        step = _work_step(problem, rules, index, batch, weights, biases, X[list(batch)], Y[list(batch)])
        steps.append(step)
        weights = [layer.W for layer in step.layers]
        biases = [layer.b for layer in step.layers]
    return Solution(problem, derivation, tuple(steps), _first_chain_rules(problem, derivation, steps[0]))


def _first_chain_rules(problem: Problem, derivation: Derivation, step: "Step") -> tuple[ChainRule, ...]:
    if step.layers[0].delta is None:
        return ()  # forward pass only: nothing to differentiate
    layers = step.layers
    return chain_rules(problem, derivation, [l.z[0] for l in layers], [l.a[0] for l in layers],
                       [l.delta[0] for l in layers], step.batch[0])


@dataclass(frozen=True)
class _NumericRules:
    """The derivation's expressions compiled to NumPy functions (the substitution itself)."""

    forward: tuple[Callable, ...]  # per layer: Z (m, n) -> A (m, n)
    derivative: tuple[Callable, ...]  # per layer: (Z, A) -> f'(z) elementwise
    output_delta: Callable  # (A, Y, Z) -> delta (m, n)
    loss: Callable  # (A, Y, Z) -> per-example loss (m,)
    derivation: Derivation

    @staticmethod
    def compile(problem: Problem, derivation: Derivation) -> "_NumericRules":
        """Compiled once per (network, derivation): the variants of an exam share them."""
        return _compile_rules(problem.network, derivation)


@functools.lru_cache(maxsize=16)
def _compile_rules(network: Network, derivation: Derivation) -> _NumericRules:
    """The derivation's expressions as NumPy functions (cached: lambdify is slow)."""
    forward, derivative = [], []
    for name, size, rule in zip(network.activations, network.layers[1:], derivation.activations):
        z = sp.symbols(f"z_1:{size + 1}")
        forms = ACTIVATIONS[name].sympy(z)
        forward.append(numeric.finite_or_stable(_columns(z, forms), _columns(z, [stable_form(f) for f in forms])))
        if ACTIVATIONS[name].elementwise and ACTIVATIONS[name].differentiable:
            fprime = numeric.lambdify((Z, A), rule.derivative)
            derivative.append(lambda Zv, Av, f=fprime: np.broadcast_to(f(Zv, Av), Zv.shape).astype(float))
        else:
            derivative.append(None)
    out = derivation.output
    delta = _columns((*out.a, *out.y, *out.z), out.delta)
    return _NumericRules(tuple(forward), tuple(derivative), delta, numeric.compile_loss(network, out), derivation)


def _columns(symbols, exprs) -> Callable:
    """Compile expressions of per-neuron symbols into a function of (m, n) matrices."""
    compiled = numeric.lambdify(symbols, list(exprs))

    def apply(*matrices: np.ndarray) -> np.ndarray:
        columns = [col for matrix in matrices for col in matrix.T]
        rows = matrices[0].shape[0]
        return np.column_stack([np.broadcast_to(c, (rows,)).astype(float) for c in compiled(*columns)])

    return apply


# ----------------------------------------------------------------------------------------------
# One step


def _work_step(problem, rules, index, batch, weights, biases, X, Y) -> Step:
    network, training = problem.network, problem.training
    show = LineBuilder(rules.derivation, problem.answers.decimals, batch, for_problem(problem))
    pre_activations, activations, lines, notes = _forward(problem, rules, show, weights, biases, X)
    m = len(batch)
    per_example = rules.loss(activations[-1], Y, pre_activations[-1])
    data_loss = float(per_example.mean())
    penalty = training.l2 / (2 * m) * sum(float((W**2).sum()) for W in weights)
    loss = data_loss + penalty
    lines += show.losses(network.loss, per_example, penalty, training.l2, loss, activations[-1], Y)
    if training.steps == 0:
        layers = tuple(
            LayerValues(l + 1, pre_activations[l], activations[l + 1], None, None, None, weights[l], biases[l])
            for l in range(network.depth)
        )
        return Step(index, batch, loss, data_loss, None, layers, tuple(lines), tuple(notes))
    deltas = _backward(problem, rules, show, weights, pre_activations, activations, Y, lines)
    layers = _update(problem, show, weights, biases, deltas, activations, lines)
    frozen = tuple(LayerValues(l, *(_readonly(v) for v in (pre_activations[l - 1], activations[l], *rest)))
                   for l, *rest in layers)
    after_out = X
    for l, layer in enumerate(frozen):
        after_z = after_out @ layer.W.T + layer.b
        after_out = rules.forward[l](after_z)
    loss_after = float(rules.loss(after_out, Y, after_z).mean()) + training.l2 / (2 * m) * sum(
        float((layer.W**2).sum()) for layer in frozen
    )
    lines.append(show.loss_after(loss_after))
    return Step(index, batch, loss, data_loss, loss_after, frozen, tuple(lines), tuple(notes))


def _forward(problem, rules, show: LineBuilder, weights, biases, X):
    """The forward pass: every layer's z and a, their worked lines and any kink notes."""
    activations, pre_activations, lines, notes = [X], [], [], []
    for l, (W, b) in enumerate(zip(weights, biases), start=1):
        Zl = activations[-1] @ W.T + b
        Al = rules.forward[l - 1](Zl)
        pre_activations.append(Zl)
        activations.append(Al)
        lines += show.forward_layer(l, problem.network.activations[l - 1], W, b, activations[-2], Zl, Al)
        notes += _kink_notes(l, problem.network.activations[l - 1], Zl, show)
    return pre_activations, activations, lines, notes


def _backward(problem, rules, show: LineBuilder, weights, pre_activations, activations, Y, lines) -> list:
    """The output delta from the derived rule, then the hidden-layer rule, layer by layer back."""
    depth = problem.network.depth
    deltas = [None] * depth
    deltas[-1] = rules.output_delta(activations[-1], Y, pre_activations[-1])
    lines += show.output_delta(depth, deltas[-1], activations[-1], Y, pre_activations[-1])
    for l in range(depth - 1, 0, -1):
        fprime = rules.derivative[l - 1](pre_activations[l - 1], activations[l])
        deltas[l - 1] = (deltas[l] @ weights[l]) * fprime
        lines += show.hidden_delta(l, weights[l], deltas[l], fprime, deltas[l - 1],
                                   activations[l], pre_activations[l - 1])
    return deltas


def _update(problem, show: LineBuilder, weights, biases, deltas, activations, lines) -> list:
    """Gradients (batch mean, plus the L2 term on weights only) and the update, per layer."""
    training, bias = problem.training, problem.updates_biases  # held fixed: no bias lines
    m = len(show.batch)
    layers = []
    for l in range(1, problem.network.depth + 1):
        W, b, delta, a_prev = weights[l - 1], biases[l - 1], deltas[l - 1], activations[l - 1]
        grad_W = delta.T @ a_prev / m + training.l2 / m * W
        grad_b = delta.mean(axis=0) if problem.network.bias else np.zeros_like(b)
        new_W = W - training.learning_rate * grad_W
        new_b = b - training.learning_rate * grad_b if bias else b
        lines += show.gradients(l, W, delta, a_prev, grad_W, grad_b, training.l2, bias)
        lines += show.updates(l, W, b, grad_W, grad_b, new_W, new_b, training.learning_rate, bias)
        layers.append((l, delta, grad_W, grad_b, new_W, new_b))
    return layers


def _readonly(value):
    if isinstance(value, np.ndarray):
        value = value.copy()
        value.setflags(write=False)
    return value


def _kink_notes(layer: int, activation_name: str, Zl: np.ndarray, show: LineBuilder) -> list[str]:
    activation = ACTIVATIONS[activation_name]
    if activation.kink is None:
        return []
    notes = []
    batch = show.batch
    for row, col in zip(*np.nonzero(Zl == activation.kink)):
        notes.append(
            f"{show.notation.z(layer, col + 1, 'text')} = {activation.kink:g} exactly for example {batch[row] + 1}: "
            f"{activation.kink_convention}."
        )
    return notes
