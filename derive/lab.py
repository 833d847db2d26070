"""The lab (`derive lab`): a network trained on real data twice, and how far the two agree.

The same initial weights, the same mini-batches in the same order, trained in float64 twice:
with the NumPy implementation `derive code` generates (the registry's forward and derivative
forms in a Layer/Network class, compiled from the template), and with PyTorch autograd (the
registry's PyTorch forms). After every epoch the lab records both mean losses, the largest
difference between the two weight sets and both test accuracies; at the end, the confusion
matrix and the misclassified test examples. No file is touched here (the loader brings the
dataset, the report module draws, the CLI writes).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .codegen import numpy_model_source
from .lab_loader import Dataset
from .registry import ACTIVATIONS, LOSSES
from .spec import Lab, Network

AGREEMENT = 1e-9  # the relative agreement the report states when it measured it
MISCLASSIFIED_SHOWN = 8


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of both trainings; the torch fields are None when PyTorch is not installed."""

    epoch: int
    numpy_loss: float
    numpy_accuracy: float
    torch_loss: float | None
    torch_accuracy: float | None
    max_weight_difference: float | None  # largest |W_numpy - W_torch| over every weight and bias
    relative_difference: float | None  # that, divided by the largest |weight|


@dataclass(frozen=True)
class LabResult:
    """Everything the report shows."""

    lab: Lab
    dataset: Dataset
    train_size: int
    test_size: int
    epochs: tuple[EpochRecord, ...]
    confusion: np.ndarray  # rows: true class, columns: predicted class (the NumPy network)
    misclassified: tuple[tuple[int, int, int], ...]  # (dataset index, true, predicted), the first few
    torch_version: str | None

    @property
    def largest_relative_difference(self) -> float | None:
        """Over every epoch; None when not measured (no PyTorch)."""
        values = [e.relative_difference for e in self.epochs]
        return None if None in values else max(values)

    @property
    def agree(self) -> bool:
        """True only when the agreement was measured and within :data:`AGREEMENT`."""
        largest = self.largest_relative_difference
        return largest is not None and largest <= AGREEMENT


def split(examples: int, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training and test example numbers: a shuffle of all examples, the last share held out."""
    order = rng.permutation(examples)
    test = round(examples * test_fraction)
    return np.sort(order[: examples - test]), np.sort(order[examples - test :])


def initial_parameters(layers: tuple[int, ...], rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Glorot-uniform weights (one row per neuron) and zero biases."""
    weights, biases = [], []
    for n_in, n_out in zip(layers, layers[1:]):
        limit = np.sqrt(6.0 / (n_in + n_out))
        weights.append(rng.uniform(-limit, limit, size=(n_out, n_in)))
        biases.append(np.zeros(n_out))
    return weights, biases


def numpy_network(network: Network, weights, biases, l2: float):
    """The generated NumPy implementation (the NumPy script's own classes) built with these weights."""
    namespace: dict[str, Any] = {}
    exec(compile(numpy_model_source(network), "<derive: generated NumPy implementation>", "exec"), namespace)  # noqa: S102
    layers = [namespace["Layer"](W, b, namespace[name], namespace.get(f"{name}_backward"))
              for W, b, name in zip(weights, biases, network.activations)]
    return namespace["Network"](layers, l2=l2)


class TorchNetwork:
    """The same network in PyTorch (float64): the registry's PyTorch forms, autograd's gradients."""

    def __init__(self, torch, network: Network, weights, biases, l2: float) -> None:
        self.torch, self.network, self.l2 = torch, network, l2
        self.W = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in weights]
        self.b = [torch.tensor(b, dtype=torch.float64, requires_grad=network.bias) for b in biases]
        self._activations = [compile(ACTIVATIONS[name].torch_code, f"<{name}>", "eval") for name in network.activations]
        self._loss = compile(LOSSES[network.loss].torch_code, f"<{network.loss}>", "eval")

    def forward(self, X):
        a = X
        for W, b, code in zip(self.W, self.b, self._activations):
            a = eval(code, {"torch": self.torch, "z": a @ W.T + b})  # noqa: S307 (the registry's own forms)
        return a

    def train_step(self, X, Y, learning_rate: float) -> float:
        """One SGD step on a batch; returns J before the update."""
        penalty = self.l2 / (2 * len(X)) * sum((W**2).sum() for W in self.W)
        J = eval(self._loss, {"torch": self.torch, "A": self.forward(X), "Y": Y}).mean() + penalty  # noqa: S307
        J.backward()
        with self.torch.no_grad():
            for p in self.W + (self.b if self.network.bias else []):
                p -= learning_rate * p.grad
                p.grad = None
        return J.item()

    def parameters(self) -> list[np.ndarray]:
        return [p.detach().numpy().copy() for p in self.W + self.b]


def torch_module():
    """PyTorch, or None when it is not installed (the lab then trains the NumPy network only)."""
    return importlib.import_module("torch") if importlib.util.find_spec("torch") else None


def run_lab(lab: Lab, dataset: Dataset, torch=None, progress: Callable[[], None] | None = None) -> LabResult:
    """Train both networks for ``lab.epochs`` epochs; ``progress`` is called after each epoch."""
    rng = np.random.default_rng(lab.seed)
    train, test = split(len(dataset.inputs), lab.test_fraction, rng)
    weights, biases = initial_parameters(lab.network.layers, rng)
    targets = np.eye(dataset.classes)[dataset.labels]
    X_train, Y_train, X_test = dataset.inputs[train], targets[train], dataset.inputs[test]
    ours = numpy_network(lab.network, weights, biases, lab.l2)
    theirs = TorchNetwork(torch, lab.network, weights, biases, lab.l2) if torch is not None else None
    if torch is not None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # matrices this small: more threads only wait for each other (10x slower)
    try:
        records = _train(lab, ours, theirs, torch, rng, X_train, Y_train, X_test, dataset.labels[test], progress)
    finally:
        if torch is not None:
            torch.set_num_threads(threads)
    predicted = ours.forward(X_test).argmax(axis=1)
    truth = dataset.labels[test]
    confusion = np.zeros((dataset.classes, dataset.classes), dtype=int)
    np.add.at(confusion, (truth, predicted), 1)
    wrong = tuple((int(test[i]), int(truth[i]), int(predicted[i])) for i in np.flatnonzero(predicted != truth)[:MISCLASSIFIED_SHOWN])
    return LabResult(lab, dataset, len(train), len(test), tuple(records), confusion, wrong,
                     None if torch is None else torch.__version__)


def _train(lab, ours, theirs, torch, rng, X_train, Y_train, X_test, test_labels, progress) -> list[EpochRecord]:
    """The epochs: the same shuffled mini-batches for both networks."""
    records = []
    for epoch in range(1, lab.epochs + 1):
        order = rng.permutation(len(X_train))
        losses = {"numpy": 0.0, "torch": 0.0}
        for start in range(0, len(order), lab.batch_size):
            batch = order[start : start + lab.batch_size]
            X, Y = X_train[batch], Y_train[batch]
            losses["numpy"] += ours.cost(X, Y) * len(batch)
            ours.backward(Y)
            ours.update(lab.learning_rate)
            if theirs is not None:
                losses["torch"] += theirs.train_step(torch.from_numpy(X), torch.from_numpy(Y), lab.learning_rate) * len(batch)
        records.append(_record(epoch, ours, theirs, losses, len(X_train), X_test, test_labels, torch))
        if progress is not None:
            progress()
    return records


def _record(epoch, ours, theirs, losses, train_size, X_test, labels, torch) -> EpochRecord:
    numpy_accuracy = float((ours.forward(X_test).argmax(axis=1) == labels).mean())
    if theirs is None:
        return EpochRecord(epoch, losses["numpy"] / train_size, numpy_accuracy, None, None, None, None)
    mine = [layer.W for layer in ours.layers] + [layer.b for layer in ours.layers]
    other = theirs.parameters()
    difference = max(float(np.abs(a - b).max()) for a, b in zip(mine, other))
    scale = max(float(np.abs(b).max()) for b in other)
    with torch.no_grad():
        torch_accuracy = float((theirs.forward(torch.from_numpy(X_test)).numpy().argmax(axis=1) == labels).mean())
    return EpochRecord(epoch, losses["numpy"] / train_size, numpy_accuracy, losses["torch"] / train_size,
                       torch_accuracy, difference, difference / scale)
