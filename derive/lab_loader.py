"""Loader of lab files (`derive lab`) and of the datasets they name.

Like :mod:`derive.loader` (whose YAML reading and network checks it reuses), one of the few
modules that touch files: a lab file is validated into a :class:`~derive.spec.Lab`, every limit
checked before any work starts, each problem one :class:`ProblemError` naming the field.
The datasets are ones a package ships (no download): scikit-learn's 8x8 handwritten digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from .errors import DeriveError, ProblemError
from .limits import MAX_LAB_EPOCHS, MAX_LAB_LAYER_SIZE, MAX_LAB_LAYERS, MAX_LAB_PARAMETERS
from .problem_checks import _check_network
from .schema import RawNetwork, _Strict, validate
from .yaml_reader import read_text, read_yaml
from .registry import ACTIVATIONS
from .spec import Lab



@dataclass(frozen=True)
class Dataset:
    """Examples as rows of ``inputs`` (scaled to [0, 1]), their class ``labels`` and ``images``
    (for showing misclassified examples)."""

    name: str
    description: str
    inputs: np.ndarray
    labels: np.ndarray
    images: np.ndarray
    classes: int

    @property
    def features(self) -> int:
        return self.inputs.shape[1]


@dataclass(frozen=True)
class DatasetInfo:
    """What a lab file is checked against before the dataset is loaded."""

    description: str
    examples: int
    features: int
    classes: int


#: Every dataset a lab may name.
DATASETS = {
    "digits": DatasetInfo("scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes), "
                          "pixel values 0-16 scaled to [0, 1]", 1797, 64, 10),
}


class _RawLabTraining(_Strict):
    learning_rate: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
    epochs: Annotated[int, Field(strict=True, gt=0, le=MAX_LAB_EPOCHS)]
    batch: Annotated[int, Field(strict=True, gt=0)]
    l2: Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)] = 0.0


class _RawLab(_Strict):
    title: str = Field(min_length=1)
    dataset: Literal[tuple(DATASETS)]  # type: ignore[valid-type]
    test_fraction: Annotated[float, Field(strict=True, gt=0, lt=1, allow_inf_nan=False)] = 0.25
    network: RawNetwork
    training: _RawLabTraining
    seed: Annotated[int, Field(strict=True, ge=0)]


def load_lab(path: str | Path) -> Lab:
    """Read and validate a lab file; raise :class:`ProblemError` on any problem."""
    return parse_lab(read_text(path), str(path))


def parse_lab(text: str, source: str = "<string>") -> Lab:
    """Validate YAML text into a :class:`Lab` (``source`` names it in errors)."""
    document = read_yaml(text, source)
    if not isinstance(document, dict):
        raise ProblemError(source, "", "expected a mapping with title, dataset, network, training, seed")
    raw = validate(document, source, _RawLab)

    def fail(field: str, message: str) -> ProblemError:
        return ProblemError(source, field, message)

    network = _check_network(raw.network, fail)
    _check_limits(raw, fail)
    info = DATASETS[raw.dataset]
    features, classes = info.features, info.classes
    if network.layers[0] != features:
        raise fail("network.layers[0]", f"the {raw.dataset} dataset has {features} inputs per example, got {network.layers[0]}")
    if network.layers[-1] != classes:
        raise fail(f"network.layers[{network.depth}]", f"the {raw.dataset} dataset has {classes} classes, so the output layer needs {classes} neurons, got {network.layers[-1]}")
    for i, name in enumerate(network.activations):
        if not ACTIVATIONS[name].differentiable:
            raise fail(f"network.activations[{i}]", f"{name} has no usable derivative, so the network cannot be trained")
    return Lab(raw.title, raw.dataset, network, raw.training.learning_rate, raw.training.epochs, raw.training.batch,
               raw.seed, raw.test_fraction, raw.training.l2, source)


def _check_limits(raw: _RawLab, fail) -> None:
    """Sizes a lab may ask for, checked before any training starts."""
    layers = raw.network.layers
    if len(layers) - 1 > MAX_LAB_LAYERS:
        raise fail("network.layers", f"at most {MAX_LAB_LAYERS} layers after the input, got {len(layers) - 1}")
    for i, size in enumerate(layers):
        if size > MAX_LAB_LAYER_SIZE:
            raise fail(f"network.layers[{i}]", f"at most {MAX_LAB_LAYER_SIZE} neurons per layer, got {size}")
    parameters = sum(n_in * n_out + n_out for n_in, n_out in zip(layers, layers[1:]))
    if parameters > MAX_LAB_PARAMETERS:
        raise fail("network.layers", f"at most {MAX_LAB_PARAMETERS:,} weights and biases, got {parameters:,}")
    examples = DATASETS[raw.dataset].examples
    train = examples - round(examples * raw.test_fraction)
    if raw.training.batch > train:
        raise fail("training.batch", f"batch size {raw.training.batch} exceeds the {train} training examples")


def load_dataset(name: str) -> Dataset:
    """The dataset a lab names, from the package that ships it (scikit-learn for the digits)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DeriveError("scikit-learn is needed for the digits dataset: pip install 'derive[lab]'") from None
    digits = load_digits()
    return Dataset(name, DATASETS[name].description, digits.data.astype(float) / 16.0, digits.target.astype(int),
                   digits.images.astype(float), DATASETS[name].classes)
