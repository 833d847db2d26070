"""Reference: an independent, vectorised NumPy implementation of training, for verification.

It depends on the spec and on the registry's NumPy forms and hand-written NumPy backward rules
only, never on SymPy or on the derivation, so that agreeing with it means something. Its
per-layer functions (pre-activation, loss, output delta, gradients, L2 term) are also the
building blocks of the marking's mistake engine (:mod:`derive.recompute`).
Rows are examples throughout: Z = A_prev W^T + b. Every function also takes arrays with leading
axes (variants of an exam, perturbed copies for finite differences) and works on each slice as
on a single problem, with the same floating-point operations, so a stacked run equals the runs
one by one to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fixed_order import matmul
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
    return matmul(A_prev, np.swapaxes(W, -1, -2)) + np.expand_dims(b, -2)


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
    if Z.ndim > 2:  # stacked: row by row
        shape = np.broadcast_shapes(Z.shape, A.shape, Y.shape)
        rows = [np.broadcast_to(M, shape).reshape(-1, shape[-1]) for M in (Z, A, Y)]
        return per_example_loss(problem, *rows).reshape(shape[:-1])
    loss = LOSSES[problem.network.loss]
    plain = loss.numpy(A, Y)
    if not loss.simplifies(problem.network.activations[-1]):
        return plain
    return np.where(saturated_rows(A), loss.from_logits(Z, Y), plain)


def by_rows(function, *arrays: np.ndarray) -> np.ndarray:
    """``function`` of row-wise arrays (a registry form, written for examples as rows) applied to
    stacked ones: every row of the broadcast stack in turn, reshaped back (a vector per row
    comes back as one, a number per row as a number)."""
    if max(np.ndim(a) for a in arrays) <= 2:
        return function(*arrays)
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    rows = [np.broadcast_to(a, shape).reshape(-1, shape[-1]) for a in arrays]
    result = function(*rows)
    return result.reshape(shape if result.ndim == 2 else shape[:-1])


def output_delta(problem: Problem, Z: np.ndarray, A: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dL/dz of the output layer: dL/da through the activation's backward rule, or a - y for a
    loss that simplifies with the output activation where the output has saturated (there
    dL/da and da/dz are 1/0 and 0 in floating point)."""
    if Z.ndim > 2:  # stacked: row by row
        shape = np.broadcast_shapes(Z.shape, A.shape, Y.shape)
        rows = [np.broadcast_to(M, shape).reshape(-1, shape[-1]) for M in (Z, A, Y)]
        return output_delta(problem, *rows).reshape(shape)
    loss = LOSSES[problem.network.loss]
    activation = ACTIVATIONS[problem.network.activations[-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = activation.numpy_backward(Z, A, loss.numpy_grad(A, Y))
    if not loss.simplifies(activation.name):
        return delta
    return np.where(saturated_rows(A)[:, None], A - Y, delta)


def data_loss(problem: Problem, weights, biases, X, Y):
    """The mean loss over the batch (a float; an array over the leading axes of stacked input)."""
    zs, activations = forward(problem, weights, biases, X)
    return _scalar(per_example_loss(problem, zs[-1], activations[-1], Y).mean(axis=-1))


def penalty(problem: Problem, weights, m: int):
    """The L2 term lambda/(2m) * sum of squared weights (biases are not penalised)."""
    return _scalar(problem.training.l2 / (2 * m) * sum((W**2).sum(axis=(-2, -1)) for W in weights))


def objective(problem: Problem, weights, biases, X, Y):
    """J = mean loss over the batch + lambda/(2m) * sum of squared weights."""
    return data_loss(problem, weights, biases, X, Y) + penalty(problem, weights, X.shape[-2])


def _scalar(value):
    """A float for one problem, the array itself for stacked ones."""
    return float(value) if np.ndim(value) == 0 else value


def weight_gradient(problem: Problem, delta: np.ndarray, A_prev: np.ndarray, W: np.ndarray,
                    summed: bool = False) -> np.ndarray:
    """dJ/dW: delta a^T averaged over the batch (``summed``: added up), plus lambda/m W."""
    m = delta.shape[-2]
    product = matmul(np.swapaxes(delta, -1, -2), A_prev)
    product = product if summed else product / m
    return product + problem.training.l2 / m * W


def bias_gradient(problem: Problem, delta: np.ndarray, summed: bool = False) -> np.ndarray:
    """dJ/db: delta averaged over the batch (``summed``: added up); 0 without biases."""
    if not problem.network.bias:
        return np.zeros(delta.shape[:-2] + delta.shape[-1:])
    return delta.sum(axis=-2) if summed else delta.mean(axis=-2)


def backward(problem: Problem, weights, zs, activations, Y):
    """Deltas and gradients (batch mean, L2 on weights only)."""
    deltas = [None] * len(weights)
    deltas[-1] = output_delta(problem, zs[-1], activations[-1], Y)
    for l in reversed(range(len(weights) - 1)):
        activation = ACTIVATIONS[problem.network.activations[l]]
        deltas[l] = activation.numpy_backward(zs[l], activations[l + 1], matmul(deltas[l + 1], weights[l + 1]))
    grad_W = [weight_gradient(problem, d, a, W) for d, a, W in zip(deltas, activations, weights)]
    grad_b = [bias_gradient(problem, d) for d in deltas]
    return deltas, grad_W, grad_b


def run(problem: Problem) -> tuple[ReferenceStep, ...]:
    """Train as the problem says and record every step."""
    return run_stacked(problem, [np.array(W, dtype=float) for W in problem.weights],
                       [np.array(b, dtype=float) for b in problem.biases],
                       np.array(problem.inputs, dtype=float), np.array(problem.targets, dtype=float))


def run_many(problems) -> tuple[ReferenceStep, ...]:
    """:func:`run` for problems differing only in their numbers, all at once: every array and
    loss of a step has the problems as its leading axis."""
    first = problems[0]
    stack = lambda rows: np.array(rows, dtype=float)  # noqa: E731
    return run_stacked(first, [stack([p.weights[l] for p in problems]) for l in range(first.network.depth)],
                       [stack([p.biases[l] for p in problems]) for l in range(first.network.depth)],
                       stack([p.inputs for p in problems]), stack([p.targets for p in problems]))


def run_stacked(problem: Problem, weights, biases, X_all, Y_all) -> tuple[ReferenceStep, ...]:
    """Train from these parameters and data (with or without leading axes) as ``problem`` says."""
    eta = problem.training.learning_rate
    if problem.training.steps == 0:
        zs, activations = forward(problem, weights, biases, X_all)
        loss = objective(problem, weights, biases, X_all, Y_all)
        keep = (tuple(weights), tuple(biases))
        return (ReferenceStep(tuple(range(X_all.shape[-2])), loss, data_loss(problem, weights, biases, X_all, Y_all), None,
                              tuple(zs), tuple(activations[1:]), None, None, None, *keep, *keep),)
    steps = []
    for batch in problem.training.batch_indices(problem.examples):
        X, Y = X_all[..., list(batch), :], Y_all[..., list(batch), :]
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
    """Central differences of J with respect to every weight and bias (from the loss alone).

    The parameters may have leading axes (variants). The perturbed copies are evaluated a chunk
    at a time, stacked on one more leading axis, each copy differing from the parameters in one
    entry by exactly +h or -h.
    """
    depth = len(weights)
    parameters = [*weights, *biases] if problem.network.bias else list(weights)

    def J(which: int, replaced) -> np.ndarray:
        ps = [replaced if i == which else p for i, p in enumerate(parameters)]
        return objective(problem, ps[:depth], ps[depth:] if problem.network.bias else biases, X, Y)

    grads = []
    for which, p in enumerate(parameters):
        shape = p.shape[-2:] if which < depth else p.shape[-1:]
        entries = [np.unravel_index(e, shape) for e in range(int(np.prod(shape)))]
        grad = np.zeros(p.shape)
        chunk = max(1, _FD_ENTRIES // p.size)
        for start in range(0, len(entries), chunk):
            part = entries[start:start + chunk]
            step = np.zeros((len(part),) + p.shape)
            for row, entry in enumerate(part):
                step[(row, Ellipsis, *entry)] = h
            central = (J(which, p + step) - J(which, p - step)) / (2 * h)
            for row, entry in enumerate(part):
                grad[(Ellipsis, *entry)] = central[row]
        grads.append(grad)
    grads_b = grads[depth:] if problem.network.bias else [np.zeros_like(b) for b in biases]
    return grads[:depth], grads_b


_FD_ENTRIES = 1 << 21  # floats per chunk of perturbed copies (16 MB)
