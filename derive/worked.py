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

import dataclasses
import functools
from dataclasses import dataclass, field, fields
from typing import Callable

import numpy as np
import sympy as sp

from .chain import ChainRule, chain_rules
from . import numeric, tree
from .derivation import A, Z, Derivation
from .fixed_order import matmul
from .notation import for_problem
from .numeric import stable_form
from .registry import ACTIVATIONS
from .spec import Network, Problem
from .worked_lines import LineBuilder, Quantity

__all__ = ["EpochLoss", "LayerValues", "Quantity", "SlottedLines", "Solution", "Step", "slotted_lines", "substitute"]


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
    """One SGD step: the batch, the loss before and after, every layer, every worked line.

    The worked lines are built when asked for (from the step's own numbers): an exam's variants
    that are never printed never build theirs.
    """

    index: int
    batch: tuple[int, ...]
    loss: float  # objective J before the update (data loss + L2 term)
    data_loss: float
    loss_after: float | None
    layers: tuple[LayerValues, ...]
    lines: Callable[[], tuple[Quantity, ...]] = field(repr=False, compare=False)
    notes: tuple[str, ...] = ()
    losses: tuple[float, ...] = ()  # the loss L of each example of the batch (the worked L lines' values)

    @property
    def worked(self) -> tuple[Quantity, ...]:
        """Every worked quantity of the step, in the order a student computes them (built anew
        on each call and not kept: thousands of variants' lines would not fit in memory)."""
        return self.lines()


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
    return substitute_many([problem], derivation)[0]


def substitute_many(problems, derivation: Derivation) -> tuple[Solution, ...]:
    """:func:`substitute` for problems that differ only in their numbers (an exam's variants).

    The derived formulas are evaluated once for all of them, the problems stacked on a leading
    array axis; each slice goes through the same floating-point operations as a problem alone.
    """
    first = problems[0]
    rules = _NumericRules.compile(first, derivation)
    stack = lambda rows: np.array(rows, dtype=float)  # noqa: E731
    weights = [stack([p.weights[l] for p in problems]) for l in range(first.network.depth)]
    biases = [stack([p.biases[l] for p in problems]) for l in range(first.network.depth)]
    X, Y = stack([p.inputs for p in problems]), stack([p.targets for p in problems])
    training = first.training
    if training.steps == 0:
        batches: tuple[tuple[int, ...], ...] = (tuple(range(first.examples)),)
    else:
        batches = training.batch_indices(first.examples)
    steps: list[list[Step]] = [[] for _ in problems]
    for index, batch in enumerate(batches):
        numbers = _step_numbers(first, rules, weights, biases, X[:, list(batch)], Y[:, list(batch)])
        for v, problem in enumerate(problems):
            steps[v].append(_step(problem, rules, index, batch, numbers.slice(v)))
        if numbers.new_W is not None:
            weights, biases = numbers.new_W, numbers.new_b
    return tuple(Solution(p, derivation, tuple(s), _first_chain_rules(p, derivation, s[0])) for p, s in zip(problems, steps))


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

    def slotted(self, shape: tuple, build: Callable[[], "SlottedLines"]) -> "SlottedLines":
        """``build()``, the worked lines with slots of a step of this ``shape`` (its notation,
        rounding, batch and arrays), made once with these rules (see :func:`slotted_lines`)."""
        found = self._slotted.get(shape)
        if found is None:
            found = self._slotted[shape] = build()
        return found

    @functools.cached_property  # per object, outside the fields: not compared or hashed
    def _slotted(self) -> dict:
        return {}


@functools.lru_cache(maxsize=16)
def _compile_rules(network: Network, derivation: Derivation) -> _NumericRules:
    """The derivation's expressions as NumPy functions (cached: lambdify is slow)."""
    forward, derivative = [], []
    for name, size, rule in zip(network.activations, network.layers[1:], derivation.activations):
        z = sp.symbols(f"z_1:{size + 1}")
        forms = ACTIVATIONS[name].sympy(z)
        forward.append(_by_rows(numeric.finite_or_stable(_columns(z, forms), _columns(z, [stable_form(f) for f in forms]))))
        if ACTIVATIONS[name].elementwise and ACTIVATIONS[name].differentiable:
            fprime = numeric.lambdify((Z, A), rule.derivative)
            derivative.append(lambda Zv, Av, f=fprime: np.broadcast_to(f(Zv, Av), Zv.shape).astype(float))
        else:
            derivative.append(None)
    out = derivation.output
    delta = _columns((*out.a, *out.y, *out.z), out.delta)
    return _NumericRules(tuple(forward), tuple(derivative), delta, _by_rows_loss(numeric.compile_loss(network, out)),
                         derivation)


def _by_rows(function: Callable) -> Callable:
    """A function of (m, n) matrices (row by row) applied to arrays with leading axes."""
    def apply(Z: np.ndarray) -> np.ndarray:
        return function(Z.reshape(-1, Z.shape[-1])).reshape(Z.shape)

    return apply


def _by_rows_loss(loss: Callable) -> Callable:
    """The per-example loss (A, Y, Z) -> (m,) applied to arrays with leading axes."""
    def apply(A: np.ndarray, Y: np.ndarray, Z: np.ndarray) -> np.ndarray:
        rows = lambda M: np.broadcast_to(M, A.shape).reshape(-1, A.shape[-1])  # noqa: E731
        return loss(rows(A), rows(Y), rows(Z)).reshape(A.shape[:-1])

    return apply


def _columns(symbols, exprs) -> Callable:
    """Compile expressions of per-neuron symbols into a function of (..., m, n) arrays (the
    neurons last, any leading axes)."""
    compiled = numeric.lambdify(symbols, list(exprs))

    def apply(*matrices: np.ndarray) -> np.ndarray:
        columns = [col for matrix in matrices for col in _split(matrix)]
        shape = matrices[0].shape[:-1]
        return np.stack([np.broadcast_to(c, shape).astype(float) for c in compiled(*columns)], axis=-1)

    return apply


def _split(matrix: np.ndarray) -> list[np.ndarray]:
    """The columns (last axis) of an array."""
    return [matrix[..., j] for j in range(matrix.shape[-1])]


# ----------------------------------------------------------------------------------------------
# One step


@dataclass(frozen=True)
class _StepNumbers:
    """Every number of one step, with the problems on a leading axis (or one problem's slice)."""

    X: np.ndarray
    Y: np.ndarray
    W: list  # the parameters the step starts from
    b: list
    z: list
    a: list  # a[0] is X
    per_example: np.ndarray
    penalty: np.ndarray
    loss: np.ndarray
    fprime: list | None = None  # fprime[l - 1] for the hidden layers l
    delta: list | None = None
    grad_W: list | None = None
    grad_b: list | None = None
    new_W: list | None = None
    new_b: list | None = None
    loss_after: np.ndarray | None = None

    def slice(self, v: int) -> "_StepNumbers":
        take = lambda value: None if value is None else ([x[v] for x in value] if isinstance(value, list) else value[v])  # noqa: E731
        return _StepNumbers(**{f.name: take(getattr(self, f.name)) for f in fields(self)})


def _step_numbers(problem, rules, weights, biases, X, Y) -> _StepNumbers:
    """The forward pass, the losses, the deltas from the derived rules, gradients and update."""
    network, training = problem.network, problem.training
    activations, pre_activations = [X], []
    for l, (W, b) in enumerate(zip(weights, biases)):
        pre_activations.append(matmul(activations[-1], np.swapaxes(W, -1, -2)) + b[:, None, :])
        activations.append(rules.forward[l](pre_activations[-1]))
    m = X.shape[1]
    per_example = rules.loss(activations[-1], Y, pre_activations[-1])
    penalty = training.l2 / (2 * m) * _squares(weights)
    loss = per_example.mean(axis=-1) + penalty
    numbers = _StepNumbers(X, Y, weights, biases, pre_activations, activations, per_example, penalty, loss)
    if training.steps == 0:
        return numbers
    depth = network.depth
    deltas: list = [None] * depth
    deltas[-1] = rules.output_delta(activations[-1], Y, pre_activations[-1])
    fprimes: list = [None] * (depth - 1)
    for l in range(depth - 1, 0, -1):
        fprimes[l - 1] = rules.derivative[l - 1](pre_activations[l - 1], activations[l])
        deltas[l - 1] = matmul(deltas[l], weights[l]) * fprimes[l - 1]
    grad_W = [matmul(np.swapaxes(d, -1, -2), a) / m + training.l2 / m * W for d, a, W in zip(deltas, activations, weights)]
    grad_b = [d.mean(axis=-2) if network.bias else np.zeros_like(b) for d, b in zip(deltas, biases)]
    new_W = [W - training.learning_rate * g for W, g in zip(weights, grad_W)]
    new_b = [b - training.learning_rate * g if problem.updates_biases else b for b, g in zip(biases, grad_b)]
    after = X
    for l, (W, b) in enumerate(zip(new_W, new_b)):
        after_z = matmul(after, np.swapaxes(W, -1, -2)) + b[:, None, :]
        after = rules.forward[l](after_z)
    loss_after = rules.loss(after, Y, after_z).mean(axis=-1) + training.l2 / (2 * m) * _squares(new_W)
    return dataclasses.replace(numbers, fprime=fprimes, delta=deltas, grad_W=grad_W, grad_b=grad_b,
                               new_W=new_W, new_b=new_b, loss_after=loss_after)


def _squares(weights) -> np.ndarray:
    """Per problem: the sum of every squared weight, layer by layer."""
    return sum(((W**2).sum(axis=(-2, -1)) for W in weights), np.zeros(len(weights[0])))


def _step(problem, rules, index, batch, n: _StepNumbers) -> Step:
    """One problem's step from its slice of the numbers; its worked lines are built on demand."""
    depth = problem.network.depth
    notes = [note for l in range(1, depth + 1) for note in _kink_notes(l, problem.network.activations[l - 1], n.z[l - 1], batch, for_problem(problem))]
    if n.delta is None:
        layers = tuple(LayerValues(l + 1, _readonly(n.z[l]), _readonly(n.a[l + 1]), None, None, None,
                                   _readonly(n.W[l]), _readonly(n.b[l])) for l in range(depth))
        return Step(index, batch, float(n.loss), float(n.per_example.mean()), None, layers,
                    functools.partial(_lines, problem, rules, batch, n), tuple(notes), tuple(map(float, n.per_example)))
    layers = tuple(LayerValues(l + 1, *(_readonly(v) for v in (n.z[l], n.a[l + 1], n.delta[l], n.grad_W[l], n.grad_b[l],
                                                                n.new_W[l], n.new_b[l]))) for l in range(depth))
    return Step(index, batch, float(n.loss), float(n.per_example.mean()), float(n.loss_after), layers,
                functools.partial(_lines, problem, rules, batch, n), tuple(notes), tuple(map(float, n.per_example)))


def _lines(problem, rules, batch, n: _StepNumbers) -> tuple[Quantity, ...]:
    """The worked lines of one step, in the order a student computes them."""
    network, training = problem.network, problem.training
    show = LineBuilder(rules.derivation, problem.answers.decimals, batch, for_problem(problem))
    lines = []
    for l in range(1, network.depth + 1):
        lines += show.forward_layer(l, network.activations[l - 1], n.W[l - 1], n.b[l - 1], n.a[l - 1], n.z[l - 1], n.a[l])
    lines += show.losses(network.loss, n.per_example, float(n.penalty), training.l2, float(n.loss), n.a[-1], n.Y)
    if n.delta is None:
        return tuple(lines)
    depth = network.depth
    lines += show.output_delta(depth, n.delta[-1], n.a[-1], n.Y, n.z[-1])
    for l in range(depth - 1, 0, -1):
        lines += show.hidden_delta(l, n.W[l], n.delta[l], n.fprime[l - 1], n.delta[l - 1], n.a[l], n.z[l - 1])
    for l in range(1, depth + 1):
        lines += show.gradients(l, n.W[l - 1], n.delta[l - 1], n.a[l - 1], n.grad_W[l - 1], n.grad_b[l - 1],
                                training.l2, problem.updates_biases)
        lines += show.updates(l, n.W[l - 1], n.b[l - 1], n.grad_W[l - 1], n.grad_b[l - 1], n.new_W[l - 1],
                              n.new_b[l - 1], training.learning_rate, problem.updates_biases)
    lines.append(show.loss_after(float(n.loss_after)))
    return tuple(lines)


# ----------------------------------------------------------------------------------------------
# The worked lines of every variant at once: an exam's variants share a network and a batch, so
# their lines differ only in the numbers. The lines are built once, each number a slot, and a
# printer prints them once (derive.sheet); a variant then only fills in its own numbers.


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per shape of step
class SlottedLines:
    """A step's worked lines with every number of the step a slot: a :class:`Quantity` whose
    ``tree.Num`` leaves and value hold ``tree.slot_tag(i)`` stand for the step's i-th number
    (:func:`slotted_lines` gives each step's numbers in that order)."""

    quantities: tuple[Quantity, ...]


def slotted_lines(step: Step) -> tuple[SlottedLines, np.ndarray]:
    """The step's worked lines with slots (made once for every step of the same shape) and the
    step's numbers in slot order: ``Num(tree.slot_tag(i))`` prints as ``numbers[i]`` does."""
    problem, rules, batch, n = step.lines.args  # the step's lines: _lines with these arguments
    training = problem.training
    parts = _parts(n)
    numbers = np.concatenate([*(part.reshape(-1) for part in parts), [training.learning_rate, training.l2]])
    shape = (for_problem(problem), problem.answers.decimals, batch, problem.updates_biases, training.l2 > 0,
             tuple(part.shape for part in parts))

    def build() -> SlottedLines:
        tags = iter(tree.slot_tag(i) for i in range(len(numbers)))
        tagged = _StepNumbers(**{f.name: _tagged(getattr(n, f.name), tags) for f in fields(n)})
        learning_rate, l2 = next(tags), next(tags)
        stand_in = dataclasses.replace(problem, training=dataclasses.replace(
            training, learning_rate=learning_rate, l2=l2 if training.l2 > 0 else training.l2))
        return SlottedLines(_lines(stand_in, rules, batch, tagged))

    return rules.slotted(shape, build), numbers


def _parts(n: _StepNumbers) -> list[np.ndarray]:
    """Every array of a step's numbers, in the order of its fields."""
    parts = []
    for f in fields(n):
        value = getattr(n, f.name)
        if value is not None:
            parts += [np.asarray(v) for v in value] if isinstance(value, list) else [np.asarray(value)]
    return parts


def _tagged(value, tags):
    """``value`` (an array, a list of arrays or None) with each number replaced by the next tag."""
    if value is None:
        return None
    if isinstance(value, list):
        return [_tagged(v, tags) for v in value]
    array = np.asarray(value, dtype=float)
    return np.fromiter((next(tags) for _ in range(array.size)), dtype=float, count=array.size).reshape(array.shape)


def _readonly(value):
    if isinstance(value, np.ndarray):
        value = value.copy()
        value.setflags(write=False)
    return value


def _kink_notes(layer: int, activation_name: str, Zl: np.ndarray, batch, notation) -> list[str]:
    activation = ACTIVATIONS[activation_name]
    if activation.kink is None:
        return []
    notes = []
    for row, col in zip(*np.nonzero(Zl == activation.kink)):
        notes.append(
            f"{notation.z(layer, col + 1, 'text')} = {activation.kink:g} exactly for example {batch[row] + 1}: "
            f"{activation.kink_convention}."
        )
    return notes
