"""Recomputing the first step as a student would, from their own numbers (marking stage).

A small forward/backward engine, parameterised by a :class:`Method`: the honest way (f' from z,
or from a as in a(1 - a)), or a common mistake (see :mod:`derive.mistakes`). It is built from
the per-layer functions of the NumPy reference (:mod:`derive.reference`), with the method's
mutations in between. :func:`recompute` computes every quantity of the first step in the order
a student does; after each layer it *substitutes the student's own values* (``given``) for the
ones computed, so the value recorded for a quantity is what follows from the student's upstream
answers. With ``given`` empty it is the whole computation done with the method.

The engine is separate from the symbolic pipeline (worked.py); the marking compares it with the
verified answer key, never trusts it alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Mapping, Union

import numpy as np

from . import reference
from .quantities import QuantityName, first_batch, has_cost
from .registry import ACTIVATIONS, LOSSES
from .rounding import round_value as round_as_sheet
from .spec import Answers, Problem


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


def recompute(problem: Problem, method: Method, given: Mapping[QuantityName, float]) -> dict[QuantityName, float]:
    """Every quantity of the first step computed with ``method`` from the student's ``given`` values."""
    return _Run(problem, method, given).values


class _Run:
    """One recomputation; ``values`` holds what each quantity comes out as before the
    student's own value replaces it."""

    def __init__(self, problem: Problem, method: Method, given: Mapping[QuantityName, float]) -> None:
        self.problem, self.method, self.given = problem, method, given
        self.values: dict[QuantityName, float] = {}
        batch = list(first_batch(problem))
        self.X = np.array(problem.inputs, dtype=float)[batch]
        self.Y = np.array(problem.targets, dtype=float)[batch]
        self.W = [np.array(W, dtype=float) for W in problem.weights]
        self.b = [np.array(b, dtype=float) for b in problem.biases]
        self.m = len(batch)
        with np.errstate(all="ignore"):  # a student's wild value may overflow: it then matches nothing
            self.run()

    def settle(self, kind: str, layer: int, array: np.ndarray, per_example: bool) -> np.ndarray:
        """Record ``array``'s entries, then return it with the student's values put in."""
        settled = np.array(array, dtype=float)
        for position in np.ndindex(settled.shape):
            example, index = (position[0], position[1:]) if per_example else (None, position)
            name = QuantityName(kind, layer, tuple(index), example)
            self.values[name] = float(settled[position])
            if self.given.get(name) is not None:
                settled[position] = self.given[name]
            elif self.method.round_unwritten:
                settled[position] = round_as_sheet(self.problem.answers, settled[position])
        return settled

    def run(self) -> None:
        zs, activations = self.forward()
        self.loss(zs[-1], activations[-1])
        if self.problem.training.steps == 0:
            return
        deltas = self.backward(zs, activations)
        new_W, new_b = self.update(deltas, activations)
        self.loss_after(new_W, new_b)

    # ---- forward pass and loss

    def forward(self):
        zs, activations = [], [self.X]
        for l, name in enumerate(self.problem.network.activations, start=1):
            z = self.settle("z", l, reference.pre_activation(self.W[l - 1], self.b[l - 1], activations[-1]), True)
            zs.append(z)
            activations.append(self.settle("a", l, ACTIVATIONS[name].numpy(z), True))
        return zs, activations

    def per_example_loss(self, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
        method, n = self.method, A.shape[1]
        if method.loss is None:
            per, averaged = reference.per_example_loss(self.problem, Z, A, self.Y), self.loss_entry.output_mean
        else:
            per, averaged = LOSSES[method.loss].numpy(A, self.Y), LOSSES[method.loss].output_mean
        if method.output_mean is not None and method.output_mean != averaged:
            per = per / n if method.output_mean else per * n
        return per

    @property
    def loss_entry(self):
        return LOSSES[self.method.loss or self.problem.network.loss]

    def cost(self, per_example: np.ndarray, weights) -> float:
        total = per_example.sum() if self.method.batch_sum else per_example.mean()
        return float(total) + reference.penalty(self.problem, weights, self.m)

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
        grad_a = loss.numpy_grad(a, self.Y)
        if method.output_mean is not None and method.output_mean != loss.output_mean:
            grad_a = grad_a / a.shape[1] if method.output_mean else grad_a * a.shape[1]
        if not output.elementwise:
            return output.numpy_backward(z, a, grad_a)
        return grad_a * self.derivative(network.depth, z, a)

    def hidden_weights(self, layer: int) -> np.ndarray:
        """The matrix whose product with delta^(layer+1) the method takes for layer's delta."""
        W = self.W[layer]
        how = self.method.hidden_weights
        if isinstance(how, ShiftedWeights):
            return np.roll(W, -how.by, axis=1)
        if how is NextWeights.TRANSPOSED:
            return W.T if W.shape[0] == W.shape[1] else np.full_like(W, np.nan)
        if how is NextWeights.UPDATED:
            honest = recompute(self.problem, replace(self.method, hidden_weights=NextWeights.OLD), self.given)
            updated = np.empty_like(W)
            for j, k in np.ndindex(W.shape):
                name = QuantityName("W", layer + 1, (j, k))
                updated[j, k] = self.given.get(name) if self.given.get(name) is not None else honest[name]
            return updated
        return W

    def backward(self, zs, activations) -> list[np.ndarray]:
        depth = self.problem.network.depth
        deltas = [None] * depth
        deltas[-1] = self.settle("delta", depth, self.output_delta(zs[-1], activations[-1]), True)
        for l in range(depth - 1, 0, -1):
            back = deltas[l] @ self.hidden_weights(l)
            deltas[l - 1] = self.settle("delta", l, back * self.derivative(l, zs[l - 1], activations[l]), True)
        return deltas

    # ---- gradients, update, loss after

    def update(self, deltas, activations):
        method, summed = self.method, self.method.batch_sum
        eta = self.problem.training.learning_rate if method.apply_eta else 1.0
        new_W, new_b = [], []
        for l in range(1, self.problem.network.depth + 1):
            W, b, delta, a_prev = self.W[l - 1], self.b[l - 1], deltas[l - 1], activations[l - 1]
            grad_W = self.settle("dW", l, reference.weight_gradient(self.problem, delta, a_prev, W, summed), False)
            new_W.append(self.settle("W", l, W + method.update_sign * eta * grad_W, False))
            if not self.problem.network.bias:
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
        column = a_prev[:, k] if k < a_prev.shape[1] else np.full(self.m, np.nan)
        return delta * column[:, None]

    def loss_after(self, new_W, new_b) -> None:
        A = self.X
        for W, b, name in zip(new_W, new_b, self.problem.network.activations):
            z = reference.pre_activation(W, b, A)
            if self.method.round_unwritten:
                z = round_as_sheet(self.problem.answers, z)
            A = ACTIVATIONS[name].numpy(z)
            if self.method.round_unwritten:
                A = round_as_sheet(self.problem.answers, A)
        per_example = self.per_example_loss(z, A)
        if self.method.round_unwritten:
            per_example = round_as_sheet(self.problem.answers, per_example)
        value = self.cost(per_example, new_W) if has_cost(self.problem) else float(per_example[0])
        self.settle("L_after", 0, np.array(value), False)
