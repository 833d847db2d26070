"""Recomputing every step as a student would, from their own numbers (marking stage).

A small forward/backward engine, parameterised by a :class:`Method`: the honest way (f' from z,
or from a as in a(1 - a)), or a common mistake (see :mod:`derive.mistakes`). It is built from
the per-layer functions of the NumPy reference (:mod:`derive.reference`), with the method's
mutations in between. :func:`recompute` computes every quantity of every asked step in the order
a student does; after each layer it *substitutes the student's own values* (``given``) for the
ones computed, so the value recorded for a quantity is what follows from the student's upstream
answers, and each step starts from the parameters the student wrote at the end of the one
before (follow-through across steps). With ``given`` empty it is the whole computation done
with the method.

The engine is separate from the symbolic pipeline (worked.py); the marking compares it with the
verified answer key, never trusts it alone.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, fields
from typing import Iterator, Mapping, Sequence, Union

import numpy as np

from . import reference
from .fixed_order import matmul
from .quantities import QuantityName, checked_steps, has_cost, step_batch
from .registry import ACTIVATIONS, LOSSES
from .rounding import round_value
from .spec import Problem


class FPrime(enum.Enum):
    """How f'(z) of an elementwise activation is taken."""

    FROM_Z = "f'(z)"  # correct
    FROM_A = "f' written in a"  # sigma' = a(1 - a): also correct
    FORGOTTEN = "f' left out"  # taken as 1
    AT_A = "f' evaluated at a"  # sigma(a)(1 - sigma(a)), 1 - tanh(a)^2
    KINK_ONE = "f'(kink) = 1"  # ReLU'(0) taken as 1

    @property
    def honest(self) -> bool:
        return self in (FPrime.FROM_Z, FPrime.FROM_A)


class NextWeights(enum.Enum):
    """Which W^(l+1) the hidden delta of layer l is multiplied by."""

    OLD = "old"  # correct: the weights the step started from
    UPDATED = "updated"  # the already-updated weights
    TRANSPOSED = "transposed"  # W instead of W^T


@dataclass(frozen=True)
class ShiftedWeights:
    """Neuron j of the hidden layer takes the weights of neuron j + ``by`` (a wrong w_kj)."""

    by: int


class BiasUpdate(enum.Enum):
    """How the bias is updated."""

    GRADIENT = "gradient"  # correct: b - eta dJ/db
    FIXED = "fixed"  # not updated


@dataclass(frozen=True)
class BiasTimesInput:
    """dJ/db multiplied by input ``index`` (0-based) of the layer, as for a weight."""

    index: int


HiddenWeights = Union[NextWeights, ShiftedWeights]
BiasRule = Union[BiasUpdate, BiasTimesInput]


@dataclass(frozen=True)
class Method:
    """How a step is computed. The defaults are the correct computation.

    * ``fprime``: how f' is taken (:class:`FPrime`).
    * ``loss``: None for the problem's loss, else another loss's name (its ``confused_with``).
    * ``output_mean``: None as the loss says, True averaged / False summed over output neurons.
    * ``batch_sum``: the batch's losses and gradients summed instead of averaged.
    * ``hidden_weights``: which next-layer weights the hidden delta uses.
    * ``update_sign`` -1 (correct) or +1; ``apply_eta`` False: w - dJ/dw.
    * ``bias``: how the bias gradient and update are taken.
    * ``round_unwritten``: round the values the student did not write down (unanswered ones, and
      the z and a of the forward pass after the update) as the sheet rounds, before using them.
    """

    fprime: FPrime = FPrime.FROM_Z
    loss: str | None = None
    output_mean: bool | None = None
    batch_sum: bool = False
    hidden_weights: HiddenWeights = NextWeights.OLD
    update_sign: float = -1.0
    apply_eta: bool = True
    bias: BiasRule = BiasUpdate.GRADIENT
    round_unwritten: bool = False


HONEST = (Method(), Method(fprime=FPrime.FROM_A), Method(round_unwritten=True),
          Method(fprime=FPrime.FROM_A, round_unwritten=True))


@functools.lru_cache(maxsize=4096)
def combined(first: Method, second: Method) -> Method | None:
    """The method making both mistakes at once, or None when they change the same setting."""
    default, settings = Method(), {}
    for field in fields(Method):
        one, other = getattr(first, field.name), getattr(second, field.name)
        if one != getattr(default, field.name) and other != getattr(default, field.name) and one != other:
            return None
        settings[field.name] = one if one != getattr(default, field.name) else other
    return Method(**settings)


def recompute(problem: Problem, method: Method, given: Mapping[QuantityName, float]) -> Mapping[QuantityName, float]:
    """Every quantity of every asked step computed with ``method`` from the student's ``given``
    values. The mapping computes a step when one of its quantities is first read (a slip in step
    1 is diagnosed without recomputing twenty steps); ``given`` must not change meanwhile."""
    return _Run(problem, method, given)


def recompute_many(problems: Sequence[Problem], method: Method,
                   given: Mapping[QuantityName, np.ndarray]) -> Mapping[QuantityName, np.ndarray]:
    """:func:`recompute` for problems differing only in their numbers (an exam's variants), all at
    once: each given value and each value read is an array with one entry per problem, and entry
    v equals what ``recompute(problems[v], ...)`` gives, to the last bit."""
    return _Run(problems[0], method, given, stack=problems)


@functools.lru_cache(maxsize=1024)
def from_the_start(problem: Problem, method: Method) -> Mapping[QuantityName, float]:
    """:func:`recompute` with no answers of the student's: the whole computation done with
    ``method``. It depends on the problem alone, so it is made once per problem and method."""
    return recompute(problem, method, {})


@functools.lru_cache(maxsize=4096)
def _names(kind: str, layer: int, shape: tuple[int, ...], per_example: bool, step: int) -> tuple[QuantityName, ...]:
    """The name of each entry of a block of ``shape``, in the flat (C) order (made once, not per run)."""
    return tuple(QuantityName(kind, layer, position[1:] if per_example else position,
                              position[0] if per_example else None, step)
                 for position in np.ndindex(shape))


class _Blocks:
    """A student's answers grouped by block (kind, layer, step), so that a run puts a block's
    answers in without looking up every entry. Made once per answers mapping, shared by its runs."""

    last: tuple[Mapping, dict] | None = None

    @classmethod
    def of(cls, given: Mapping[QuantityName, float]) -> dict[tuple[str, int, int], dict[QuantityName, float]]:
        last = cls.last  # read once: another thread may replace it meanwhile
        if last is not None and last[0] is given:  # the marker passes one mapping to all its runs
            return last[1]
        blocks: dict[tuple[str, int, int], dict[QuantityName, float]] = {}
        for name, value in given.items():
            if value is not None:
                blocks.setdefault((name.kind, name.layer, name.step), {})[name] = value
        cls.last = (given, blocks)
        return blocks


class _Run(Mapping):
    """One recomputation, read as a mapping: what each quantity comes out as before the
    student's own value replaces it. Steps are computed in order, when first read."""

    def __init__(self, problem: Problem, method: Method, given: Mapping[QuantityName, float],
                 stack: Sequence[Problem] | None = None) -> None:
        self.problem, self.method, self.given = problem, method, given
        self.values: dict[QuantityName, float] = {}
        # a stack of problems has one leading axis: every array holds all of them, slice v problem v's
        self.lead = 0 if stack is None else 1
        problems = [problem] if stack is None else list(stack)
        arrays = lambda rows: np.array(rows if stack is not None else rows[0], dtype=float)  # noqa: E731
        self.W = [arrays([p.weights[l] for p in problems]) for l in range(problem.network.depth)]
        self.b = [arrays([p.biases[l] for p in problems]) for l in range(problem.network.depth)]
        self.inputs, self.targets = arrays([p.inputs for p in problems]), arrays([p.targets for p in problems])
        self.done, self.steps = 0, checked_steps(problem)
        self.blocks = _Blocks.of(given) if given else {}

    def through(self, step: int) -> None:
        """Compute every step up to ``step`` (from 0) not computed yet."""
        while self.done <= min(step, self.steps - 1):
            batch = list(step_batch(self.problem, self.done))
            self.step, self.m = self.done, len(batch)
            self.X, self.Y = self.inputs[..., batch, :], self.targets[..., batch, :]
            with np.errstate(all="ignore"):  # a student's wild value may overflow: it then matches nothing
                self.run()
            self.done += 1

    def __getitem__(self, name: QuantityName) -> float:
        if name.step >= self.done:
            self.through(name.step)
        return self.values[name]

    def __iter__(self) -> Iterator[QuantityName]:
        self.through(self.steps - 1)
        return iter(self.values)

    def __len__(self) -> int:
        self.through(self.steps - 1)
        return len(self.values)

    def settle(self, kind: str, layer: int, array: np.ndarray, per_example: bool, record: bool = True) -> np.ndarray:
        """Record ``array``'s entries (unless not ``record``), then return it with the student's
        values put in."""
        settled = np.array(array, dtype=float, order="C")  # C order: the reshape below is a view
        names = _names(kind, layer, settled.shape[self.lead:], per_example, self.step)
        flat = settled.reshape(settled.shape[:self.lead] + (-1,))  # a view: writing to it writes to settled
        if record:
            self.values.update(zip(names, flat.tolist() if not self.lead else flat.T.copy()))
        if self.method.round_unwritten:  # written values are put in below, over the rounded ones
            flat[:] = round_value(self.problem.answers, flat)
        answers = self.blocks.get((kind, layer, self.step))
        if answers:
            for i, name in enumerate(names):
                if name in answers:
                    flat[..., i] = answers[name]
        return settled

    def run(self) -> None:
        """One step: forward, loss, backward, update; the next step starts from the update."""
        zs, activations = self.forward()
        self.loss(zs[-1], activations[-1])
        if self.problem.training.steps == 0:
            return
        deltas = self.backward(zs, activations)
        new_W, new_b = self.update(deltas, activations)
        self.loss_after(new_W, new_b)
        self.W, self.b = new_W, new_b

    # ---- forward pass and loss

    def forward(self):
        zs, activations = [], [self.X]
        for l, name in enumerate(self.problem.network.activations, start=1):
            z = self.settle("z", l, reference.pre_activation(self.W[l - 1], self.b[l - 1], activations[-1]), True)
            zs.append(z)
            activations.append(self.settle("a", l, ACTIVATIONS[name].numpy(z), True))
        return zs, activations

    def per_example_loss(self, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
        method, n = self.method, A.shape[-1]
        if method.loss is None:
            per, averaged = reference.per_example_loss(self.problem, Z, A, self.Y), self.loss_entry.output_mean
        else:
            per, averaged = reference.by_rows(LOSSES[method.loss].numpy, A, self.Y), LOSSES[method.loss].output_mean
        if method.output_mean is not None and method.output_mean != averaged:
            per = per / n if method.output_mean else per * n
        return per

    @property
    def loss_entry(self):
        return LOSSES[self.method.loss or self.problem.network.loss]

    def cost(self, per_example: np.ndarray, weights) -> float:
        total = per_example.sum(axis=-1) if self.method.batch_sum else per_example.mean(axis=-1)
        return _scalar(total) + reference.penalty(self.problem, weights, self.m)

    def loss(self, Z: np.ndarray, A: np.ndarray) -> None:
        per_example = self.settle("L", 0, self.per_example_loss(Z, A), True)
        if has_cost(self.problem):
            self.settle("J", 0, np.array(self.cost(per_example, self.W)), False)

    # ---- backward pass

    def derivative(self, layer: int, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """f'(z) of an elementwise activation, as the method takes it."""
        activation = ACTIVATIONS[self.problem.network.activations[layer - 1]]
        ones = np.ones_like(z)
        how = self.method.fprime
        if how is FPrime.FORGOTTEN:
            return ones
        if how is FPrime.AT_A:
            return activation.numpy_backward(a, activation.numpy(a), ones)
        if how is FPrime.KINK_ONE and activation.kink is not None:
            return np.where(z >= activation.kink, 1.0, activation.numpy_backward(z, a, ones))
        if how is FPrime.FROM_A:
            return activation.numpy_backward(z, a, ones)  # the registry's smooth backward rules are written in a
        return activation.numpy_backward(z, activation.numpy(z), ones)

    def output_delta(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        network, method = self.problem.network, self.method
        output = ACTIVATIONS[network.activations[-1]]
        plain = method.loss is None and method.output_mean is None
        if plain and method.fprime.honest and LOSSES[network.loss].simplifies(output.name):
            return a - self.Y
        loss = self.loss_entry
        grad_a = reference.by_rows(loss.numpy_grad, a, self.Y)
        if method.output_mean is not None and method.output_mean != loss.output_mean:
            grad_a = grad_a / a.shape[-1] if method.output_mean else grad_a * a.shape[-1]
        if not output.elementwise:
            return reference.by_rows(output.numpy_backward, z, a, grad_a)
        return grad_a * self.derivative(network.depth, z, a)

    def hidden_weights(self, layer: int, delta_next: np.ndarray, a: np.ndarray) -> np.ndarray:
        """The matrix whose product with delta^(layer+1) (``delta_next``) the method takes for
        layer's delta (``a``: the activations of ``layer``)."""
        W = self.W[layer]
        how = self.method.hidden_weights
        if isinstance(how, ShiftedWeights):
            return np.roll(W, -how.by, axis=-1)
        if how is NextWeights.TRANSPOSED:
            return np.swapaxes(W, -1, -2) if W.shape[-2] == W.shape[-1] else np.full_like(W, np.nan)
        if how is NextWeights.UPDATED:  # updated on the way back: the student's own new W if written
            grad = reference.weight_gradient(self.problem, delta_next, a, W, self.method.batch_sum)
            grad = self.settle("dW", layer + 1, grad, False, record=False)
            return self.settle("W", layer + 1, W + self.method.update_sign * self.eta * grad, False, record=False)
        return W

    @property
    def eta(self) -> float:
        return self.problem.training.learning_rate if self.method.apply_eta else 1.0

    def backward(self, zs, activations) -> list[np.ndarray]:
        depth = self.problem.network.depth
        deltas = [None] * depth
        deltas[-1] = self.settle("delta", depth, self.output_delta(zs[-1], activations[-1]), True)
        for l in range(depth - 1, 0, -1):
            back = matmul(deltas[l], self.hidden_weights(l, deltas[l], activations[l]))
            deltas[l - 1] = self.settle("delta", l, back * self.derivative(l, zs[l - 1], activations[l]), True)
        return deltas

    # ---- gradients, update, loss after

    def update(self, deltas, activations):
        method, summed, eta = self.method, self.method.batch_sum, self.eta
        new_W, new_b = [], []
        for l in range(1, self.problem.network.depth + 1):
            W, b, delta, a_prev = self.W[l - 1], self.b[l - 1], deltas[l - 1], activations[l - 1]
            grad_W = self.settle("dW", l, reference.weight_gradient(self.problem, delta, a_prev, W, summed), False)
            new_W.append(self.settle("W", l, W + method.update_sign * eta * grad_W, False))
            if not self.problem.updates_biases:  # no biases, or held fixed: none asked
                new_b.append(b)
                continue
            grad_b = self.settle("db", l, reference.bias_gradient(self.problem, self.bias_delta(delta, a_prev), summed),
                                 False)
            stepped = b if method.bias is BiasUpdate.FIXED else b + method.update_sign * eta * grad_b
            new_b.append(self.settle("b", l, stepped, False))
        return new_W, new_b

    def bias_delta(self, delta: np.ndarray, a_prev: np.ndarray) -> np.ndarray:
        """The per-example terms the bias gradient averages: delta, or delta times an input."""
        if not isinstance(self.method.bias, BiasTimesInput):
            return delta
        k = self.method.bias.index
        column = a_prev[..., k] if k < a_prev.shape[-1] else np.full(a_prev.shape[:-1], np.nan)
        return delta * column[..., None]

    def loss_after(self, new_W, new_b) -> None:
        A = self.X
        for W, b, name in zip(new_W, new_b, self.problem.network.activations):
            z = reference.pre_activation(W, b, A)
            if self.method.round_unwritten:
                z = round_value(self.problem.answers, z)
            A = ACTIVATIONS[name].numpy(z)
            if self.method.round_unwritten:
                A = round_value(self.problem.answers, A)
        per_example = self.per_example_loss(z, A)
        if self.method.round_unwritten:
            per_example = round_value(self.problem.answers, per_example)
        value = self.cost(per_example, new_W) if has_cost(self.problem) else _scalar(per_example[..., 0])
        self.settle("L_after", 0, np.array(value), False)


def _scalar(value):
    """A float for one problem, the array itself for a stack of them."""
    return float(value) if np.ndim(value) == 0 else value
