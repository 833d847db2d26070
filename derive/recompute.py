"""Recomputing the first step as a student would, from their own numbers (marking stage).

A small plain-NumPy forward/backward engine, parameterised by a :class:`Method`: the honest
way (f' from z, or from a as in a(1 - a)), or a common mistake (see :mod:`derive.mistakes`).
:func:`recompute` computes every quantity of the first step in the order a student does;
after each layer it *substitutes the student's own values* (``given``) for the ones computed,
so the value recorded for a quantity is what follows from the student's upstream answers.
With ``given`` empty it is the whole computation done with the method.

The engine is separate from the symbolic pipeline (worked.py) and from the verification
reference; the marking compares it with the verified answer key, never trusts it alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from .quantities import QuantityName, first_batch, has_cost
from .registry import ACTIVATIONS, LOSSES
from .rounding import round_value as round_as_sheet
from .spec import Answers, Problem

#: Output activation and loss pairs whose delta simplifies to a - y.
SIMPLIFIED = {("sigmoid", "bce"), ("softmax", "cross_entropy")}


@dataclass(frozen=True)
class Method:
    """How a step is computed. The defaults are the correct computation.

    * ``fprime``: "z" f'(z), "a" f' written in a (sigma' = a(1 - a): also correct), "one" (the
      derivative forgotten), "at_a" (f' evaluated at a: sigma(a)(1 - sigma(a)), 1 - tanh(a)^2),
      "kink_one" (ReLU'(0) taken as 1).
    * ``loss``: None for the problem's loss, else "half_mse", "mse" or "sum_squares".
    * ``output_mean``: None as the loss says, True averaged / False summed over output neurons.
    * ``batch_sum``: the batch's losses and gradients summed instead of averaged.
    * ``hidden_weights``: "old" (correct), "updated" (the already-updated W^(l+1)),
      "transposed" (W instead of W^T), "shifted:s" (neuron j takes neuron j+s's weights).
    * ``update_sign`` -1 (correct) or +1; ``apply_eta`` False: w - dJ/dw.
    * ``bias``: "gradient" (correct), "fixed" (not updated), "input:k" (dJ/db times input k).
    * ``round_unwritten``: round the values the student did not write down (unanswered ones, and
      the z and a of the forward pass after the update) as the sheet rounds, before using them.
    """

    fprime: str = "z"
    loss: str | None = None
    output_mean: bool | None = None
    batch_sum: bool = False
    hidden_weights: str = "old"
    update_sign: float = -1.0
    apply_eta: bool = True
    bias: str = "gradient"
    round_unwritten: bool = False


HONEST = (Method(), Method(fprime="a"), Method(round_unwritten=True), Method(fprime="a", round_unwritten=True))


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
        self.loss(activations[-1])
        if self.problem.training.steps == 0:
            return
        deltas = self.backward(zs, activations)
        new_W, new_b = self.update(deltas, activations)
        self.loss_after(new_W, new_b)

    # ---- forward pass and loss

    def forward(self):
        zs, activations = [], [self.X]
        for l, name in enumerate(self.problem.network.activations, start=1):
            z = self.settle("z", l, activations[-1] @ self.W[l - 1].T + self.b[l - 1], True)
            zs.append(z)
            activations.append(self.settle("a", l, ACTIVATIONS[name].numpy(z), True))
        return zs, activations

    def per_example_loss(self, A: np.ndarray) -> np.ndarray:
        method, n = self.method, A.shape[1]
        name = method.loss or self.problem.network.loss
        if name == "sum_squares":
            per = ((self.Y - A) ** 2).sum(axis=1)
        else:
            per = LOSSES[name].numpy(A, self.Y)
        averaged = name == "mse"
        if method.output_mean is not None and method.output_mean != averaged:
            per = per / n if method.output_mean else per * n
        return per

    def cost(self, per_example: np.ndarray, weights) -> float:
        penalty = self.problem.training.l2 / (2 * self.m) * sum(float((W**2).sum()) for W in weights)
        total = per_example.sum() if self.method.batch_sum else per_example.mean()
        return float(total) + penalty

    def loss(self, A: np.ndarray) -> None:
        per_example = self.settle("L", 0, self.per_example_loss(A), True)
        if has_cost(self.problem):
            self.settle("J", 0, np.array(self.cost(per_example, self.W)), False)

    # ---- backward pass

    def derivative(self, layer: int, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """f'(z) of an elementwise activation, as the method takes it."""
        name = self.problem.network.activations[layer - 1]
        backward = ACTIVATIONS[name].numpy_backward
        how = self.method.fprime
        ones = np.ones_like(z)
        if how == "one":
            return ones
        if how == "at_a":
            return backward(a, ACTIVATIONS[name].numpy(a), ones)
        if how == "kink_one" and ACTIVATIONS[name].kink is not None:
            return np.where(z >= ACTIVATIONS[name].kink, 1.0, backward(z, a, ones))
        if how == "a":
            return backward(z, a, ones)  # the registry's smooth backward rules are written in a
        return backward(z, ACTIVATIONS[name].numpy(z), ones)

    def output_delta(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        network, method = self.problem.network, self.method
        output = network.activations[-1]
        plain = method.loss is None and method.output_mean is None
        if plain and method.fprime in ("z", "a") and (output, network.loss) in SIMPLIFIED:
            return a - self.Y
        n = a.shape[1]
        name = method.loss or network.loss
        grad_a = 2.0 * (a - self.Y) if name == "sum_squares" else LOSSES[name].numpy_grad(a, self.Y)
        if method.output_mean is not None and method.output_mean != (name == "mse"):
            grad_a = grad_a / n if method.output_mean else grad_a * n
        if not ACTIVATIONS[output].elementwise:
            return ACTIVATIONS[output].numpy_backward(z, a, grad_a)
        return grad_a * self.derivative(network.depth, z, a)

    def hidden_weights(self, layer: int) -> np.ndarray:
        """The matrix whose product with delta^(layer+1) the method takes for layer's delta."""
        W = self.W[layer]
        how = self.method.hidden_weights
        if how == "updated":
            honest = recompute(self.problem, replace(self.method, hidden_weights="old"), self.given)
            updated = np.empty_like(W)
            for j, k in np.ndindex(W.shape):
                name = QuantityName("W", layer + 1, (j, k))
                updated[j, k] = self.given.get(name) if self.given.get(name) is not None else honest[name]
            return updated
        if how == "transposed":
            return W.T if W.shape[0] == W.shape[1] else np.full_like(W, np.nan)
        if how.startswith("shifted:"):
            return np.roll(W, -int(how.split(":")[1]), axis=1)
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
        training, method = self.problem.training, self.method
        scale = 1.0 if method.batch_sum else 1.0 / self.m
        eta = training.learning_rate if method.apply_eta else 1.0
        new_W, new_b = [], []
        for l in range(1, self.problem.network.depth + 1):
            W, b, delta, a_prev = self.W[l - 1], self.b[l - 1], deltas[l - 1], activations[l - 1]
            grad_W = self.settle("dW", l, delta.T @ a_prev * scale + training.l2 / self.m * W, False)
            new_W.append(self.settle("W", l, W + method.update_sign * eta * grad_W, False))
            if not self.problem.network.bias:
                new_b.append(b)
                continue
            if method.bias.startswith("input:"):
                k = int(method.bias.split(":")[1])
                column = a_prev[:, k] if k < a_prev.shape[1] else np.full(self.m, np.nan)
                grad_b = (delta * column[:, None]).sum(axis=0) * scale
            else:
                grad_b = delta.sum(axis=0) * scale
            grad_b = self.settle("db", l, grad_b, False)
            stepped = b if method.bias == "fixed" else b + method.update_sign * eta * grad_b
            new_b.append(self.settle("b", l, stepped, False))
        return new_W, new_b

    def loss_after(self, new_W, new_b) -> None:
        A = self.X
        for W, b, name in zip(new_W, new_b, self.problem.network.activations):
            z = A @ W.T + b
            if self.method.round_unwritten:
                z = round_as_sheet(self.problem.answers, z)
            A = ACTIVATIONS[name].numpy(z)
            if self.method.round_unwritten:
                A = round_as_sheet(self.problem.answers, A)
        per_example = self.per_example_loss(A)
        if self.method.round_unwritten:
            per_example = round_as_sheet(self.problem.answers, per_example)
        value = self.cost(per_example, new_W) if has_cost(self.problem) else float(per_example[0])
        self.settle("L_after", 0, np.array(value), False)
