"""Stage 0, the problem spec: immutable typed data describing one exercise.

The loader builds a :class:`Problem` from a file; every later stage takes it as it is and
never re-reads the file. All containers are tuples so a problem hashes and cannot change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from .sections import EXERCISES, QUANTITY_SECTIONS, TITLES  # noqa: F401 (EXERCISES: the loader's)

Vector = tuple[float, ...]
Matrix = tuple[Vector, ...]

# The section tables live in derive/sections.py; these names are kept for the modules that use them.
QUANTITIES: tuple[str, ...] = QUANTITY_SECTIONS
SECTION_TITLES: dict[str, str] = TITLES


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
class Comparison:
    """Solve the problem again with each option in place of the hidden activations or the loss.

    ``what`` is ``"hidden_activation"`` (every hidden layer gets the option) or ``"loss"``.
    """

    what: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Draw:
    """How one number of a randomised problem is drawn: uniformly from the grid
    ``minimum, minimum + step, ..., maximum`` (multiples of ``step``), or from ``choices``.

    ``one_hot`` (targets only) draws a whole target row as a one-hot class vector.
    """

    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[float, ...] = ()
    nonzero: bool = False
    one_hot: bool = False


@dataclass(frozen=True)
class Constraints:
    """What makes a drawn variant fit for pen and paper (checked on every step).

    * ``max_abs_z``: every pre-activation satisfies |z| < max_abs_z (None: no bound);
    * ``inactive_relu``: exactly this many ReLU pre-activations (unit, example) are negative,
      every other one positive; none rounds to 0 at the sheet's decimals;
    * ``nonzero_gradients``: no gradient rounds to 0 at the sheet's decimals (except those of
      a unit that is inactive for every example of the batch);
    * ``distinct_answers``: no two answers of one kind (z, a, losses, deltas, gradients, updated
      parameters) are equal at the sheet's decimals (exact zeros aside);
    * ``no_rounding_ties``: no answer lies halfway between two values at the sheet's decimals
      (e.g. 0.25735 at 4 decimals), where students' rounding rules differ. Off by default: on
      coarse grids most draws have such a value, and Moodle's tolerance accepts either rounding.
    Targets are always checked against the loss (e.g. in [0, 1] for cross-entropy).
    """

    max_abs_z: float | None = None
    inactive_relu: int = 0
    nonzero_gradients: bool = True
    distinct_answers: bool = True
    no_rounding_ties: bool = False


@dataclass(frozen=True)
class Randomisation:
    """How variants of a problem are drawn. ``parameters`` pairs each key (W1, b1, ...) with its
    draw (keys left out keep the file's values); ``inputs``/``targets`` None keep the file's data;
    ``instructions`` None keeps the file's instructions."""

    parameters: tuple[tuple[str, Draw], ...] = ()
    inputs: Draw | None = None
    targets: Draw | None = None
    constraints: Constraints = field(default_factory=Constraints)
    max_draws: int = 1000
    instructions: str | None = None  # the variants' instructions, when the file's own do not suit


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
    compare: Comparison | None = None
    randomisation: Randomisation | None = None

    @property
    def examples(self) -> int:
        return len(self.inputs)

    def compared(self) -> tuple[tuple[str, "Problem"], ...]:
        """(option, this problem with the option in place) for every comparison option, in order."""
        if self.compare is None:
            return ()
        net = self.network
        if self.compare.what == "loss":
            networks = [replace(net, loss=option) for option in self.compare.options]
        else:  # every hidden layer gets the option; the output layer keeps its activation
            networks = [replace(net, activations=(option,) * (net.depth - 1) + net.activations[-1:])
                        for option in self.compare.options]
        return tuple((option, replace(self, network=network, compare=None))
                     for option, network in zip(self.compare.options, networks))


@dataclass(frozen=True)
class Student:
    """One row of a class roster: the name and ID stamped on the student's worksheet."""

    name: str
    id: str


@dataclass(frozen=True)
class Lab:
    """A lab (`derive lab`): a network trained on a dataset shipped inside a package.

    ``test_fraction`` of the examples, drawn with ``seed``, are held out for testing; the seed
    also draws the initial weights and each epoch's order of the training examples.
    """

    title: str
    dataset: str
    network: Network
    learning_rate: float
    epochs: int
    batch_size: int
    seed: int
    test_fraction: float = 0.25
    l2: float = 0.0
    source: str = "<memory>"
