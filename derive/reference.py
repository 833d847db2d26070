"""Reference: an independent, vectorised NumPy implementation of training, for verification.

It depends on the spec and on the registry's NumPy forms and hand-written NumPy backward rules
only, never on SymPy or on the derivation, so that agreeing with it means something. Its
per-layer functions (pre-activation, loss, output delta, gradients, L2 term) are also the
building blocks of the marking's mistake engine (:mod:`derive.recompute`).
Rows are examples throughout: Z = A_prev W^T + b.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .registry import ACTIVATIONS, LOSSES, saturated_rows
from .spec import Problem


@dataclass(frozen=True)
class ReferenceStep:
    batch: tuple[int, ...]
    loss: float
    data_loss: float
    loss_after: float | None
    z: tuple[np.ndarray, ...]
    a: tuple[np.ndarray, ...]
    delta: tuple[np.ndarray, ...] | None
    grad_W: tuple[np.ndarray, ...] | None
    grad_b: tuple[np.ndarray, ...] | None
    W: tuple[np.ndarray, ...]  # the parameters the step started from
    b: tuple[np.ndarray, ...]
    new_W: tuple[np.ndarray, ...]
    new_b: tuple[np.ndarray, ...]


def pre_activation(W: np.ndarray, b: np.ndarray, A_prev: np.ndarray) -> np.ndarray:
    """z = W a + b for every example (row) of ``A_prev``."""
    return A_prev @ W.T + b


def forward(problem: Problem, weights, biases, X):
    """Pre-activations and activations of every non-input layer."""
    zs, activations = [], [X]
    for W, b, name in zip(weights, biases, problem.network.activations):
        z = pre_activation(W, b, activations[-1])
        zs.append(z)
        activations.append(ACTIVATIONS[name].numpy(z))
    return zs, activations


def per_example_loss(problem: Problem, Z: np.ndarray, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The loss of each example (row) from the output layer's pre-activations and activations.

    Where an output has saturated and the loss simplifies with the output activation (bce with a
    sigmoid, cross-entropy with a softmax), it is computed from z (log-sigmoid, log-sum-exp).
    """
    loss = LOSSES[problem.network.loss]
    plain = loss.numpy(A, Y)
    if not loss.simplifies(problem.network.activations[-1]):
        return plain
    return np.where(saturated_rows(A), loss.from_logits(Z, Y), plain)


def output_delta(problem: Problem, Z: np.ndarray, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dL/dz of the output layer: dL/da through the activation's backward rule, or a - y for a
    loss that simplifies with the output activation where the output has saturated (there
    dL/da and da/dz are 1/0 and 0 in floating point)."""
    loss = LOSSES[problem.network.loss]
    activation = ACTIVATIONS[problem.network.activations[-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = activation.numpy_backward(Z, A, loss.numpy_grad(A, Y))
    if not loss.simplifies(activation.name):
        return delta
    return np.where(saturated_rows(A)[:, None], A - Y, delta)


def data_loss(problem: Problem, weights, biases, X, Y) -> float:
    """The mean loss over the batch."""
    zs, activations = forward(problem, weights, biases, X)
    return float(per_example_loss(problem, zs[-1], activations[-1], Y).mean())


def penalty(problem: Problem, weights, m: int) -> float:
    """The L2 term lambda/(2m) * sum of squared weights (biases are not penalised)."""
    return float(problem.training.l2 / (2 * m) * sum((W**2).sum() for W in weights))


def objective(problem: Problem, weights, biases, X, Y) -> float:
    """J = mean loss over the batch + lambda/(2m) * sum of squared weights."""
    return data_loss(problem, weights, biases, X, Y) + penalty(problem, weights, len(X))


def weight_gradient(problem: Problem, delta: np.ndarray, A_prev: np.ndarray, W: np.ndarray,
                    summed: bool = False) -> np.ndarray:
    """dJ/dW: delta a^T averaged over the batch (``summed``: added up), plus lambda/m W."""
    m = len(delta)
    product = delta.T @ A_prev if summed else delta.T @ A_prev / m
    return product + problem.training.l2 / m * W


def bias_gradient(problem: Problem, delta: np.ndarray, summed: bool = False) -> np.ndarray:
    """dJ/db: delta averaged over the batch (``summed``: added up); 0 without biases."""
    if not problem.network.bias:
        return np.zeros(delta.shape[1])
    return delta.sum(axis=0) if summed else delta.mean(axis=0)


def backward(problem: Problem, weights, zs, activations, Y):
    """Deltas and gradients (batch mean, L2 on weights only)."""
    deltas = [None] * len(weights)
    deltas[-1] = output_delta(problem, zs[-1], activations[-1], Y)
    for l in reversed(range(len(weights) - 1)):
        activation = ACTIVATIONS[problem.network.activations[l]]
        deltas[l] = activation.numpy_backward(zs[l], activations[l + 1], deltas[l + 1] @ weights[l + 1])
    grad_W = [weight_gradient(problem, d, a, W) for d, a, W in zip(deltas, activations, weights)]
    grad_b = [bias_gradient(problem, d) for d in deltas]
    return deltas, grad_W, grad_b


def run(problem: Problem) -> tuple[ReferenceStep, ...]:
    """Train as the problem says and record every step."""
    weights = [np.array(W, dtype=float) for W in problem.weights]
    biases = [np.array(b, dtype=float) for b in problem.biases]
    X_all, Y_all = np.array(problem.inputs, dtype=float), np.array(problem.targets, dtype=float)
    eta = problem.training.learning_rate
    if problem.training.steps == 0:
        zs, activations = forward(problem, weights, biases, X_all)
        loss = objective(problem, weights, biases, X_all, Y_all)
        keep = (tuple(weights), tuple(biases))
        return (ReferenceStep(tuple(range(len(X_all))), loss, data_loss(problem, weights, biases, X_all, Y_all), None, tuple(zs), tuple(activations[1:]),
                              None, None, None, *keep, *keep),)
    steps = []
    for batch in problem.training.batch_indices(problem.examples):
        X, Y = X_all[list(batch)], Y_all[list(batch)]
        zs, activations = forward(problem, weights, biases, X)
        deltas, grad_W, grad_b = backward(problem, weights, zs, activations, Y)
        new_W = [W - eta * g for W, g in zip(weights, grad_W)]
        new_b = [b - eta * g if problem.updates_biases else b for b, g in zip(biases, grad_b)]
        steps.append(ReferenceStep(
            batch, objective(problem, weights, biases, X, Y), data_loss(problem, weights, biases, X, Y),
            objective(problem, new_W, new_b, X, Y),
            tuple(zs), tuple(activations[1:]), tuple(deltas), tuple(grad_W), tuple(grad_b),
            tuple(weights), tuple(biases), tuple(new_W), tuple(new_b),
        ))
        weights, biases = new_W, new_b
    return tuple(steps)


def finite_difference_gradients(problem: Problem, weights, biases, X, Y, h: float = 1e-6):
    """Central differences of J with respect to every weight and bias (from the loss alone)."""
    def J(ws, bs):
        return objective(problem, ws, bs, X, Y)

    grads_W, grads_b = [], []
    for l in range(len(weights)):
        gW = np.zeros_like(weights[l])
        for idx in np.ndindex(weights[l].shape):
            plus, minus = [W.copy() for W in weights], [W.copy() for W in weights]
            plus[l][idx] += h
            minus[l][idx] -= h
            gW[idx] = (J(plus, biases) - J(minus, biases)) / (2 * h)
        gb = np.zeros_like(biases[l])
        if problem.network.bias:
            for i in range(len(biases[l])):
                plus, minus = [b.copy() for b in biases], [b.copy() for b in biases]
                plus[l][i] += h
                minus[l][i] -= h
                gb[i] = (J(weights, plus) - J(weights, minus)) / (2 * h)
        grads_W.append(gW)
        grads_b.append(gb)
    return grads_W, grads_b
