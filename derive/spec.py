"""Stage 0, the problem spec: immutable typed data describing one exercise.

The loader builds a :class:`Problem` from a file; every later stage takes it as it is and
never re-reads the file. All containers are tuples so a problem hashes and cannot change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

Vector = tuple[float, ...]
Matrix = tuple[Vector, ...]

#: Every quantity a sheet can ask for, in the order a student computes them.
QUANTITIES: tuple[str, ...] = (
    "forward",
    "loss",
    "output_delta",
    "hidden_delta",
    "gradients",
    "updates",
    "loss_after",
)


@dataclass(frozen=True)
class Network:
    """Architecture: layer sizes (input first), one activation per non-input layer."""

    layers: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    bias: bool = True

    @property
    def depth(self) -> int:
        """Number of non-input layers (L in the formulas)."""
        return len(self.layers) - 1


@dataclass(frozen=True)
class Training:
    """How the parameters are updated.

    ``batch_size`` is None for full batch. Batches are taken in file order, wrapping around.
    """

    learning_rate: float
    steps: int
    batch_size: int | None = None
    l2: float = 0.0
    epochs: int | None = None

    def batch_indices(self, examples: int) -> tuple[tuple[int, ...], ...]:
        """The example indices of every step's batch."""
        size = examples if self.batch_size is None else self.batch_size
        return tuple(
            tuple((step * size + i) % examples for i in range(size)) for step in range(self.steps)
        )

    def steps_per_epoch(self, examples: int) -> int:
        size = examples if self.batch_size is None else self.batch_size
        return math.ceil(examples / size)


@dataclass(frozen=True)
class Answers:
    """How answers are given: decimals to round to, and which quantities are asked.

    A student's answer is marked right when it is within half a unit of the last decimal
    (``decimals``), unless the sheet instead asks for ``significant_figures`` (half a unit of
    the last significant figure of the correct value) or a ``relative_tolerance`` (a fraction
    of the correct value's size). At most one of the two may be given.
    """

    decimals: int = 4
    asked: tuple[str, ...] = QUANTITIES
    significant_figures: int | None = None
    relative_tolerance: float | None = None


@dataclass(frozen=True)
class Problem:
    """One exercise: network, parameters, data, training and answer format.

    ``weights[l-1]`` is W^l with one row per neuron of layer l and one column per neuron of
    layer l-1, so that z^l = W^l a^(l-1) + b^l.
    """

    title: str
    network: Network
    weights: tuple[Matrix, ...]
    biases: tuple[Vector, ...]
    inputs: Matrix
    targets: Matrix
    training: Training
    answers: Answers = field(default_factory=Answers)
    instructions: str = ""
    source: str = "<memory>"
    sha256: str = ""

    @property
    def examples(self) -> int:
        return len(self.inputs)
