"""Student-facing quantities: what a sheet asks for, in one list, named by the notation.

Pure naming, no files. A :class:`~derive.notation.QuantityName` identifies one number of the
first SGD step (layer and neurons from 1 in labels, from 0 inside); :func:`asked_quantities` is
THE list of a problem's asked quantities, in the order a student computes them, each named by
:mod:`derive.notation` (its answers-file label ``z1_2``, ``delta2_1[3]``, ``new_W2_11``, the
other spellings accepted for it, its inline LaTeX and its meaning in words). The answers
template, the marking, the Moodle quiz and key.json all list exactly these.
:func:`expected_values` gives their verified values; :func:`answers_template` is the blank
answers file ``derive check --template`` writes; :func:`parents` says which quantities a student
computes each one from; :class:`StudentAnswers` holds a loaded answers file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .notation import NIELSEN, Notation, QuantityName
from .registry import ACTIVATIONS, LOSSES
from .rounding import phrase
from .sections import QUANTITY_SECTIONS, TITLES, asked_sections
from .spec import Problem
from .verify import VerifiedSolution, require_verified

__all__ = ["AskedQuantity", "QuantityName", "StudentAnswers", "all_quantities", "answers_template",
           "asked_quantities", "example_losses", "expected_values", "first_batch", "has_cost", "parents"]


@dataclass(frozen=True)
class AskedQuantity:
    """One asked quantity: its name, the label a student types, other accepted spellings, the
    sheet section it belongs to (a ``sections.SECTIONS`` key), what it means, and its inline
    LaTeX (a table cell's or a quiz's label)."""

    name: QuantityName
    label: str
    aliases: tuple[str, ...]
    section: str
    meaning: str
    latex: str = ""


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


def asked_quantities(problem: Problem, notation: Notation = NIELSEN) -> tuple[AskedQuantity, ...]:
    """Every asked quantity of the first step, in the order a student computes them."""
    return _quantities(problem, problem.answers.asked, notation)


def all_quantities(problem: Problem, notation: Notation = NIELSEN) -> tuple[AskedQuantity, ...]:
    """Every quantity a sheet for this problem could ask (asked or not)."""
    return _quantities(problem, QUANTITY_SECTIONS, notation)


def _quantities(problem: Problem, asked, notation: Notation) -> tuple[AskedQuantity, ...]:
    batch = first_batch(problem)
    wide, cost = max(problem.network.layers) > 9, has_cost(problem)
    depth, l2 = problem.network.depth, problem.training.l2 > 0
    out = []
    for section in asked_sections(asked, problem.training.steps):
        for q in _NAMES[section](problem, len(batch)):
            example = None if q.example is None or len(batch) == 1 else batch[q.example] + 1
            out.append(AskedQuantity(
                q, notation.label(q, example, wide, cost), notation.aliases(q, example, wide, cost), section,
                notation.words(q, example, depth, l2, cost), notation.latex(q, example, inline=True, wide=wide)))
    return tuple(out)


def _per_neuron(problem: Problem, rows: int, kinds, layers) -> list[QuantityName]:
    sizes = problem.network.layers
    return [QuantityName(kind, l, (j,), row) for row in range(rows) for l in layers
            for kind in kinds for j in range(sizes[l])]


def _per_parameter(problem: Problem, weight: str, bias: str) -> list[QuantityName]:
    sizes, out = problem.network.layers, []
    for l in range(1, problem.network.depth + 1):
        for j in range(sizes[l]):
            out += [QuantityName(weight, l, (j, k)) for k in range(sizes[l - 1])]
            out += [QuantityName(bias, l, (j,))] if problem.network.bias else []
    return out


#: The quantities of each section, in the order a student computes them.
_NAMES = {
    "forward": lambda p, rows: _per_neuron(p, rows, ("z", "a"), range(1, p.network.depth + 1)),
    "loss": lambda p, rows: [QuantityName("L", 0, (), row) for row in range(rows)]
    + ([QuantityName("J")] if has_cost(p) else []),
    "output_delta": lambda p, rows: _per_neuron(p, rows, ("delta",), (p.network.depth,)),
    "hidden_delta": lambda p, rows: _per_neuron(p, rows, ("delta",), range(p.network.depth - 1, 0, -1)),
    "gradients": lambda p, rows: _per_parameter(p, "dW", "db"),
    "updates": lambda p, rows: _per_parameter(p, "W", "b"),
    "loss_after": lambda p, rows: [QuantityName("L_after")],
}


def example_losses(step) -> list[float]:
    """The loss L of each example of a step's batch, as the worked lines give it (read from the
    step's numbers: building the worked lines of thousands of variants to read them is slow)."""
    return list(step.losses)


def expected_values(verified: VerifiedSolution) -> dict[QuantityName, float]:
    """The verified values of the first step, by quantity name."""
    verified = require_verified(verified)
    step = verified.solution.steps[0]
    values: dict[QuantityName, float] = {}
    for layer in step.layers:
        named = [("z", layer.z, True), ("a", layer.a, True)]
        if layer.delta is not None:
            named += [("delta", layer.delta, True), ("dW", layer.grad_W, False), ("W", layer.W, False)]
            named += [("db", layer.grad_b, False), ("b", layer.b, False)] if layer.grad_b is not None else []
        for kind, array, per_example in named:
            for position in np.ndindex(np.shape(array)):
                example, index = (position[0], position[1:]) if per_example else (None, position)
                values[QuantityName(kind, layer.layer, tuple(index), example)] = float(array[position])
    losses = example_losses(step)
    values.update({QuantityName("L", 0, (), row): value for row, value in enumerate(losses)})
    values[QuantityName("J")] = step.loss
    if step.loss_after is not None:
        values[QuantityName("L_after")] = step.loss_after
    return values


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
