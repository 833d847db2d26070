"""Reference: an independent, vectorised NumPy implementation of training, for verification.

It depends on the spec and on the registry's NumPy forms and hand-written NumPy backward rules
only, never on SymPy or on the derivation, so that agreeing with it means something.
Rows are examples throughout: Z = A_prev W^T + b. Every function also takes arrays with leading
axes (variants of an exam, perturbed copies for finite differences) and works on each slice as
on a single problem, with the same floating-point operations, so a stacked run equals the runs
one by one to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .registry import ACTIVATIONS, LOSSES
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


def forward(problem: Problem, weights, biases, X):
    """Pre-activations and activations of every non-input layer."""
    zs, activations = [], [X]
    for W, b, name in zip(weights, biases, problem.network.activations):
        z = activations[-1] @ np.swapaxes(W, -1, -2) + np.expand_dims(b, -2)
        zs.append(z)
        activations.append(ACTIVATIONS[name].numpy(z))
    return zs, activations


def rowwise(function, A, Y):
    """A loss function of (examples, outputs) matrices applied to stacked ones (leading axes)."""
    shape = np.broadcast_shapes(A.shape, Y.shape)
    flat = function(np.broadcast_to(A, shape).reshape(-1, shape[-1]), np.broadcast_to(Y, shape).reshape(-1, shape[-1]))
    return flat.reshape(shape[:-1] + flat.shape[1:])


def data_loss(problem: Problem, weights, biases, X, Y):
    """The mean loss over the batch (a float; an array over the leading axes of stacked input)."""
    _, activations = forward(problem, weights, biases, X)
    mean = rowwise(LOSSES[problem.network.loss].numpy, activations[-1], Y).mean(axis=-1)
    return float(mean) if np.ndim(mean) == 0 else mean


def objective(problem: Problem, weights, biases, X, Y):
    """J = mean loss over the batch + lambda/(2m) * sum of squared weights."""
    penalty = problem.training.l2 / (2 * X.shape[-2]) * sum((W**2).sum(axis=(-2, -1)) for W in weights)
    return data_loss(problem, weights, biases, X, Y) + (float(penalty) if np.ndim(penalty) == 0 else penalty)


def backward(problem: Problem, weights, zs, activations, Y):
    """Deltas and gradients (batch mean, L2 on weights only)."""
    m = Y.shape[-2]
    grad_a = rowwise(LOSSES[problem.network.loss].numpy_grad, activations[-1], Y)
    deltas = [None] * len(weights)
    for l in reversed(range(len(weights))):
        activation = ACTIVATIONS[problem.network.activations[l]]
        deltas[l] = activation.numpy_backward(zs[l], activations[l + 1], grad_a)
        grad_a = deltas[l] @ weights[l]
    grad_W = [np.swapaxes(d, -1, -2) @ a / m + problem.training.l2 / m * W for d, a, W in zip(deltas, activations, weights)]
    grad_b = [d.mean(axis=-2) if problem.network.bias else np.zeros(d.shape[:-2] + d.shape[-1:]) for d in deltas]
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
        new_b = [b - eta * g for b, g in zip(biases, grad_b)]
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
