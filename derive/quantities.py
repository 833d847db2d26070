"""Student-facing quantity names: what a sheet asks for, spelled so a student can type it.

Pure naming, no numbers and no files. A :class:`QuantityName` identifies one number of the
first SGD step (layer and neurons from 1 in labels, from 0 inside); :func:`asked_quantities`
lists a problem's asked quantities in the order a student computes them, each with its label
(``z1_2``, ``a1_2``, ``L``, ``delta2_1``, ``dW2_11``, ``db1_2``, ``new_W2_11``, ``L_after``;
``[i]`` names example i of a batch) and the other spellings accepted for it (``W2_11'``,
``dW2_1_1``). :func:`answers_template` is the blank answers file ``derive check --template``
writes; :func:`parents` says which quantities a student computes each one from;
:class:`StudentAnswers` holds a loaded answers file.
"""

from __future__ import annotations

from dataclasses import dataclass

from .registry import ACTIVATIONS
from .rounding import phrase
from .sections import QUANTITY_SECTIONS, TITLES, asked_sections
from .spec import Problem


@dataclass(frozen=True, order=True)
class QuantityName:
    """One number of the first step: ``layer`` from 1 (0 for losses), ``index`` and ``example``
    from 0 (``example`` is the row within the step's batch, None when not per example).

    Kind ``W``/``b`` is the parameter *after* the update; ``L_after`` is the loss after it.
    """

    kind: str
    layer: int = 0
    index: tuple[int, ...] = ()
    example: int | None = None


@dataclass(frozen=True)
class AskedQuantity:
    """One asked quantity: its name, the label a student types, other accepted spellings,
    the sheet section it belongs to (a ``spec.QUANTITIES`` entry) and what it means."""

    name: QuantityName
    label: str
    aliases: tuple[str, ...]
    section: str
    meaning: str


def first_batch(problem: Problem) -> tuple[int, ...]:
    """The example indices of the checked step (the first one; all examples for steps: 0)."""
    if problem.training.steps == 0:
        return tuple(range(problem.examples))
    return problem.training.batch_indices(problem.examples)[0]


def has_cost(problem: Problem) -> bool:
    """Whether the sheet has a batch cost J besides the per-example loss L."""
    return len(first_batch(problem)) > 1 or problem.training.l2 > 0


#: One line on how quantities are named, for error messages.
QUANTITY_KINDS_HELP = (
    "quantities are named like z1_2, a1_2, L, J, delta2_1, dW2_11, db1_2, new_W2_11 (or W2_11'), "
    "new_b1_2, L_after, with [i] for example i of a batch (derive check PROBLEM --template FILE lists them)"
)


def asked_quantities(problem: Problem) -> tuple[AskedQuantity, ...]:
    """Every asked quantity of the first step, in the order a student computes them."""
    return _quantities(problem, problem.answers.asked)


def all_quantities(problem: Problem) -> tuple[AskedQuantity, ...]:
    """Every quantity a sheet for this problem could ask (asked or not)."""
    return _quantities(problem, QUANTITY_SECTIONS)


def _quantities(problem: Problem, asked) -> tuple[AskedQuantity, ...]:
    naming = _Naming(problem, first_batch(problem))
    out: list[AskedQuantity] = []
    for section in asked_sections(asked, problem.training.steps):
        out += _BUILDERS[section](naming)
    return tuple(out)


class _Naming:
    """Builds the labels of one problem (example suffixes only for a batch of several)."""

    def __init__(self, problem: Problem, batch: tuple[int, ...]) -> None:
        self.problem = problem
        self.batch = batch
        self.depth = problem.network.depth
        self.sizes = problem.network.layers
        self.wide = max(self.sizes) > 9

    def suffix(self, row: int) -> str:
        return "" if len(self.batch) == 1 else f"[{self.batch[row] + 1}]"

    def of_example(self, row: int) -> str:
        return "" if len(self.batch) == 1 else f" for example {self.batch[row] + 1}"

    def pair(self, j: int, k: int) -> tuple[str, str]:
        """The neuron pair as typed: '12' (or '1_2' when a layer has 10 or more neurons)."""
        joined, separated = f"{j + 1}{k + 1}", f"{j + 1}_{k + 1}"
        return (separated, joined) if self.wide else (joined, separated)

    def item(self, section, kind, layer, index, example, label, aliases, meaning) -> AskedQuantity:
        return AskedQuantity(QuantityName(kind, layer, index, example), label, tuple(aliases), section, meaning)

    def per_neuron(self, section: str, kind: str, layers, meaning: str) -> list[AskedQuantity]:
        out = []
        for row in range(len(self.batch)):
            for l in layers:
                for j in range(self.sizes[l]):
                    label = f"{kind}{l}_{j + 1}{self.suffix(row)}"
                    text = meaning.format(l=l, j=j + 1) + self.of_example(row)
                    out.append(self.item(section, kind, l, (j,), row, label, (), text))
        return out


def _forward(n: _Naming) -> list[AskedQuantity]:
    out = []
    for row in range(len(n.batch)):
        for l in range(1, n.depth + 1):
            for kind, meaning in (("z", "pre-activation z of layer {l}, neuron {j}"),
                                  ("a", "activation a = f(z) of layer {l}, neuron {j}")):
                for j in range(n.sizes[l]):
                    text = meaning.format(l=l, j=j + 1) + n.of_example(row)
                    out.append(n.item("forward", kind, l, (j,), row, f"{kind}{l}_{j + 1}{n.suffix(row)}", (), text))
    return out


def _loss(n: _Naming) -> list[AskedQuantity]:
    out = [
        n.item("loss", "L", 0, (), row, f"L{n.suffix(row)}", (), "loss L" + n.of_example(row))
        for row in range(len(n.batch))
    ]
    if has_cost(n.problem):
        meaning = "cost J: mean of the examples' losses" + (" plus the L2 term" if n.problem.training.l2 else "")
        out.append(n.item("loss", "J", 0, (), None, "J", (), meaning))
    return out


def _output_delta(n: _Naming) -> list[AskedQuantity]:
    return n.per_neuron("output_delta", "delta", (n.depth,), "delta = dL/dz of output layer {l}, neuron {j}")


def _hidden_delta(n: _Naming) -> list[AskedQuantity]:
    return n.per_neuron("hidden_delta", "delta", range(n.depth - 1, 0, -1), "delta = dL/dz of hidden layer {l}, neuron {j}")


def _per_parameter(n: _Naming, section: str, weight, bias) -> list[AskedQuantity]:
    """One quantity per weight and bias: ``weight(l, j, k, label, other)`` and ``bias(l, j)``
    give (kind, label, aliases, meaning); ``label``/``other`` spell the neuron pair."""
    out = []
    for l in range(1, n.depth + 1):
        for j in range(n.sizes[l]):
            for k in range(n.sizes[l - 1]):
                kind, label, aliases, meaning = weight(l, j, k, *n.pair(j, k))
                out.append(n.item(section, kind, l, (j, k), None, label, aliases, meaning))
            if n.problem.network.bias:
                kind, label, aliases, meaning = bias(l, j)
                out.append(n.item(section, kind, l, (j,), None, label, aliases, meaning))
    return out


def _gradients(n: _Naming) -> list[AskedQuantity]:
    return _per_parameter(
        n, "gradients",
        lambda l, j, k, label, other: ("dW", f"dW{l}_{label}", [f"dW{l}_{other}"],
                                       f"gradient dJ/dw of layer {l}, neuron {j + 1}, input {k + 1}"),
        lambda l, j: ("db", f"db{l}_{j + 1}", [], f"gradient dJ/db of layer {l}, neuron {j + 1}"),
    )


def _updates(n: _Naming) -> list[AskedQuantity]:
    return _per_parameter(
        n, "updates",
        lambda l, j, k, label, other: ("W", f"new_W{l}_{label}", [f"new_W{l}_{other}", f"W{l}_{label}'", f"W{l}_{other}'"],
                                       f"updated weight w' = w - eta dJ/dw of layer {l}, neuron {j + 1}, input {k + 1}"),
        lambda l, j: ("b", f"new_b{l}_{j + 1}", [f"b{l}_{j + 1}'"],
                      f"updated bias b' = b - eta dJ/db of layer {l}, neuron {j + 1}"),
    )


def _loss_after(n: _Naming) -> list[AskedQuantity]:
    cost = has_cost(n.problem)
    label, other = ("J_after", "L_after") if cost else ("L_after", "J_after")
    meaning = f"{'cost J' if cost else 'loss L'} on the same example(s) after the update"
    return [n.item("loss_after", "L_after", 0, (), None, label, [other], meaning)]


#: How each section's quantities are listed (the order of sections is sections.SECTIONS').
_BUILDERS = {
    "forward": _forward,
    "loss": _loss,
    "output_delta": _output_delta,
    "hidden_delta": _hidden_delta,
    "gradients": _gradients,
    "updates": _updates,
    "loss_after": _loss_after,
}


def answers_template(problem: Problem) -> str:
    """A blank answers file (YAML) listing every asked quantity with a null value."""
    asked = asked_quantities(problem)
    rounding = "rounded " + phrase(problem.answers)
    batch = first_batch(problem)
    lines = [
        f"# Answers for: {' '.join(problem.title.split())}",  # one comment line, whatever the title holds
        f"# Problem file: {' '.join(problem.source.split())}",
        "#",
        f"# Write each value as a number, {rounding}; leave null (or delete the line) for one you",
        "# did not work out. Carrying your own rounded values forward is fine.",
        "# Notation: layer 1 is the first hidden layer, neurons and inputs count from 1.",
        "#   z1_2 / a1_2   pre-activation / activation of layer 1, neuron 2",
        "#   delta2_1      dL/dz of layer 2, neuron 1",
        "#   dW2_12        dJ/dw for layer 2, neuron 1, input 2 (the weight in row 1, column 2 of W2)",
        "#   db2_1         dJ/db for layer 2, neuron 1",
        "#   new_W2_12     the weight after the update (W2_12' is accepted too); new_b2_1 likewise",
    ]
    if problem.training.steps > 1:
        lines.append(f"# Only the first of the {problem.training.steps} steps is asked here.")
    if len(batch) > 1:
        lines.append(f"#   [i] names example i (this step uses examples {', '.join(str(i + 1) for i in batch)})")
    section = None
    for item in asked:
        if item.section != section:
            section = item.section
            lines += ["", f"# {TITLES[section]}"]
        lines.append(f"{item.label}: null".ljust(24) + f"# {item.meaning}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class StudentAnswers:
    """A student's answers as loaded: the answered quantities (unanswered ones are absent)."""

    source: str
    values: tuple[tuple[QuantityName, float], ...]

    def as_dict(self) -> dict[QuantityName, float]:
        return dict(self.values)


def parents(name: QuantityName, problem: Problem) -> tuple[QuantityName, ...]:
    """The quantities a student uses to compute ``name`` (its direct inputs on the sheet)."""
    kind, l, ex = name.kind, name.layer, name.example
    sizes, depth = problem.network.layers, problem.network.depth
    rows = range(len(first_batch(problem)))

    def layer(kind_: str, layer_: int, example):
        return [QuantityName(kind_, layer_, (k,), example) for k in range(sizes[layer_])]

    if kind == "z":
        return tuple(layer("a", l - 1, ex)) if l > 1 else ()
    if kind == "a":
        elementwise = ACTIVATIONS[problem.network.activations[l - 1]].elementwise
        return (QuantityName("z", l, name.index, ex),) if elementwise else tuple(layer("z", l, ex))
    if kind == "L":
        return tuple(layer("a", depth, ex))
    if kind == "J":
        return tuple(QuantityName("L", 0, (), row) for row in rows)
    if kind == "delta":
        own = (QuantityName("z", l, name.index, ex), QuantityName("a", l, name.index, ex))
        later = layer("a", depth, ex) if l == depth else layer("delta", l + 1, ex)
        return tuple(later) + own
    if kind in ("dW", "db"):
        j = name.index[0]
        deltas = [QuantityName("delta", l, (j,), row) for row in rows]
        inputs = [QuantityName("a", l - 1, (name.index[1],), row) for row in rows] if kind == "dW" and l > 1 else []
        return tuple(deltas + inputs)
    if kind in ("W", "b"):
        return (QuantityName("d" + kind, l, name.index),)
    if kind == "L_after":
        params = []
        for l_ in range(1, depth + 1):
            params += [QuantityName("W", l_, (j, k)) for j in range(sizes[l_]) for k in range(sizes[l_ - 1])]
            if problem.network.bias:
                params += [QuantityName("b", l_, (j,)) for j in range(sizes[l_])]
        return tuple(params)
    return ()
