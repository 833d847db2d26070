"""Student-facing quantities: what a sheet asks for, in one list, named by the notation.

Pure naming, no files. A :class:`~derive.notation.QuantityName` identifies one number of an
SGD step (layer and neurons from 1 in labels, from 0 inside); :func:`asked_quantities` is
THE list of a problem's asked quantities, step by step in the order a student computes them,
each named by :mod:`derive.notation` (its answers-file label ``z1_2``, ``delta2_1[3]``,
``new_W2_11``, in a later step with the step's prefix ``s2.z1_2``, the other spellings accepted
for it, its inline LaTeX and its meaning in words). The answers template and the marking list
every step's; the Moodle quiz and key.json list the first step's (``steps=1``).
:func:`expected_values` gives their verified values; :func:`answers_template` is the blank
answers file ``derive check --template`` writes; :func:`parents` says which quantities a student
computes each one from; :class:`StudentAnswers` holds a loaded answers file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import functools
import itertools

import numpy as np

from .notation import Notation, QuantityName, for_problem
from .registry import ACTIVATIONS, LOSSES
from .rounding import phrase
from .sections import QUANTITY_SECTIONS, TITLES, asked_sections
from .spec import Problem
from .verify import VerifiedSolution, require_verified

__all__ = ["AskedQuantity", "QuantityName", "StudentAnswers", "all_quantities", "answers_template",
           "asked_quantities", "checked_steps", "example_losses", "expected_values", "first_batch", "has_cost",
           "parents", "step_batch", "step_heading", "step_label"]


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


def step_batch(problem: Problem, step: int) -> tuple[int, ...]:
    """The example indices of step ``step``'s batch (from 0; all examples for steps: 0)."""
    if problem.training.steps == 0:
        return tuple(range(problem.examples))
    return _batches(problem.training, problem.examples)[step]


@functools.lru_cache(maxsize=256)  # asked for every quantity of every step while marking
def _batches(training, examples: int) -> tuple[tuple[int, ...], ...]:
    return training.batch_indices(examples)


def first_batch(problem: Problem) -> tuple[int, ...]:
    """The example indices of the first step's batch (all examples for steps: 0)."""
    return step_batch(problem, 0)


def checked_steps(problem: Problem) -> int:
    """How many steps a sheet asks for: every SGD step (one for a forward-pass-only problem)."""
    return max(1, problem.training.steps)


def step_label(label: str, step: int) -> str:
    """An answers-file label in step ``step`` (from 0): step 1's as it is, later ones prefixed
    ``s2.``, ``s3.``, ... (``s2.z1_2``, ``s2.new_W2_11``, ``s2.delta2_1[3]``)."""
    return label if step == 0 else f"s{step + 1}.{label}"


def has_cost(problem: Problem) -> bool:
    """Whether the sheet has a batch cost J besides the per-example loss L."""
    return len(first_batch(problem)) > 1 or problem.training.l2 > 0


#: One line on how quantities are named, for error messages.
QUANTITY_KINDS_HELP = (
    "quantities are named like z1_2, a1_2, L, J, delta2_1, dW2_11, db1_2, new_W2_11 (or W2_11'), "
    "new_b1_2, L_after, with [i] for example i of a batch and s2. before the name for step 2 "
    "(derive check PROBLEM --template FILE lists them)"
)


def asked_quantities(problem: Problem, notation: Notation | None = None, steps: int | None = None
                     ) -> tuple[AskedQuantity, ...]:
    """Every asked quantity, step by step, each step's in the order a student computes them, named
    in ``notation`` (default: the problem's own profile).

    ``steps`` lists the first ``steps`` steps only: None (the default) lists every step the sheet
    asks (the answers template, ``derive check``, ``derive serve``); the Moodle quiz and the
    checks of key.json list the first step (``steps=1``), whose numbers need no earlier answers.
    """
    return _quantities(_Shape.of(problem), problem.answers.asked, notation or for_problem(problem), steps)


def all_quantities(problem: Problem, notation: Notation | None = None) -> tuple[AskedQuantity, ...]:
    """Every quantity a sheet for this problem could ask (asked or not), in every step."""
    return _quantities(_Shape.of(problem), QUANTITY_SECTIONS, notation or for_problem(problem), None)


@dataclass(frozen=True)
class _Shape:
    """What the list of quantities depends on: a problem without its numbers. The variants of an
    exam share one shape, so their list is made once (hashing a whole problem per call is slow)."""

    network: object
    training: object
    examples: int

    @classmethod
    def of(cls, problem: Problem) -> "_Shape":
        return cls(problem.network, problem.training, problem.examples)

    @property
    def updates_biases(self) -> bool:
        return self.network.bias and self.training.update_biases


@functools.lru_cache(maxsize=256)  # pure in hashable arguments; marking asks for it on every sheet
def _quantities(problem: _Shape, asked, notation: Notation, steps: int | None) -> tuple[AskedQuantity, ...]:
    wide, cost = max(problem.network.layers) > 9, has_cost(problem)
    depth, l2 = problem.network.depth, problem.training.l2 > 0
    out = []
    for step in range(checked_steps(problem) if steps is None else min(steps, checked_steps(problem))):
        batch = step_batch(problem, step)
        for section in asked_sections(asked, problem.training.steps):
            for q in _NAMES[section](problem, len(batch)):
                q = replace(q, step=step)
                example = None if q.example is None or len(batch) == 1 else batch[q.example] + 1
                label, aliases = notation.label(q, example, wide, cost), notation.aliases(q, example, wide, cost)
                words = notation.words(q, example, depth, l2, cost)
                out.append(AskedQuantity(
                    q, step_label(label, step), _step_aliases(label, aliases, step), section,
                    words,
                    notation.latex(q, example, inline=True, wide=wide)))
    return tuple(out)


def _step_aliases(label: str, aliases: tuple[str, ...], step: int) -> tuple[str, ...]:
    """Other spellings in step ``step``: the label's aliases with the step's prefix (step 1's
    quantities may also carry ``s1.``)."""
    prefixed = tuple(step_label(alias, step) for alias in aliases)
    return prefixed + ((f"s1.{label}",) + tuple(f"s1.{alias}" for alias in aliases) if step == 0 else ())


def _per_neuron(problem: Problem, rows: int, kinds, layers) -> list[QuantityName]:
    sizes = problem.network.layers
    return [QuantityName(kind, l, (j,), row) for row in range(rows) for l in layers
            for kind in kinds for j in range(sizes[l])]


def _per_parameter(problem: Problem, weight: str, bias: str) -> list[QuantityName]:
    sizes, out = problem.network.layers, []
    for l in range(1, problem.network.depth + 1):
        for j in range(sizes[l]):
            out += [QuantityName(weight, l, (j, k)) for k in range(sizes[l - 1])]
            out += [QuantityName(bias, l, (j,))] if problem.updates_biases else []
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
    """The verified values of every asked step, by quantity name."""
    verified = require_verified(verified)
    values: dict[QuantityName, float] = {}
    for number, step in enumerate(verified.solution.steps[:checked_steps(verified.problem)]):
        values.update(_step_values(step, number))
    return values


def _step_values(step, number: int) -> dict[QuantityName, float]:
    """The verified values of one step (``number`` from 0), by quantity name."""
    blocks, numbers = [], []
    for layer in step.layers:
        named = [("z", layer.z, True), ("a", layer.a, True)]
        if layer.delta is not None:
            named += [("delta", layer.delta, True), ("dW", layer.grad_W, False), ("W", layer.W, False)]
            named += [("db", layer.grad_b, False), ("b", layer.b, False)] if layer.grad_b is not None else []
        for kind, array, per_example in named:
            blocks.append((kind, layer.layer, np.shape(array), per_example))
            numbers += np.ravel(array).tolist()
    losses = example_losses(step)
    numbers += [*losses, step.loss] + ([step.loss_after] if step.loss_after is not None else [])
    return dict(zip(_value_names(tuple(blocks), len(losses), step.loss_after is not None, number), numbers))


@functools.lru_cache(maxsize=1024)  # the variants of an exam share their steps' shapes: names made once
def _value_names(blocks: tuple, examples: int, loss_after: bool, number: int) -> tuple[QuantityName, ...]:
    """The names of a step's values in :func:`_step_values`'s order: each block's entries in C
    order (per example: the example first), then each example's L, J and L_after."""
    names = []
    for kind, layer, shape, per_example in blocks:
        for position in itertools.product(*map(range, shape)):
            example, index = (position[0], position[1:]) if per_example else (None, position)
            names.append(QuantityName(kind, layer, tuple(index), example, number))
    names += [QuantityName("L", 0, (), row, number) for row in range(examples)]
    names.append(QuantityName("J", step=number))
    return tuple(names + ([QuantityName("L_after", step=number)] if loss_after else []))


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
        f"# {for_problem(problem).template_intro}",
        *(f"#   {line}" for line in for_problem(problem).template_help),
    ]
    steps = checked_steps(problem)
    if len(batch) > 1 and steps == 1:
        lines.append(f"#   [i] names example i (this step uses examples {', '.join(str(i + 1) for i in batch)})")
    elif len(batch) > 1:
        lines.append("#   [i] names example i (each step's examples are in its heading)")
    if steps > 1:
        lines += [f"#   s2.z1_2       z1_2 in step 2 (steps 2 to {steps} take the prefix s2. to s{steps}.;",
                  "#                 step 1 has none). Each step starts from your own updated weights."]
    section = None
    for item in asked:
        if (item.name.step, item.section) != section:
            section = (item.name.step, item.section)
            heading = f"{step_heading(problem, item.name.step)}: " if checked_steps(problem) > 1 else ""
            lines += ["", f"# {heading}{TITLES[item.section]}"]
        lines.append(f"{item.label}: null".ljust(24) + f"# {item.meaning}")
    return "\n".join(lines) + "\n"


def step_heading(problem: Problem, step: int) -> str:
    """A step's heading on a multi-step sheet: ``Step 2 (example 2)``."""
    batch = step_batch(problem, step)
    examples = f"example {batch[0] + 1}" if len(batch) == 1 else f"examples {', '.join(str(i + 1) for i in batch)}"
    return f"Step {step + 1} ({examples})"


@dataclass(frozen=True)
class StudentAnswers:
    """A student's answers as loaded: the answered quantities (unanswered ones are absent)."""

    source: str
    values: tuple[tuple[QuantityName, float], ...]

    def as_dict(self) -> dict[QuantityName, float]:
        return dict(self.values)


@functools.lru_cache(maxsize=65536)  # pure; the marking asks for every quantity's on every sheet
def parents(name: QuantityName, problem: Problem) -> tuple[QuantityName, ...]:
    """The quantities a student uses to compute ``name`` (its direct inputs on the sheet). From
    step 2 on, the parameters a step starts from are the previous step's updated ones."""
    kind, l, ex, s = name.kind, name.layer, name.example, name.step
    sizes, depth = problem.network.layers, problem.network.depth
    rows = range(len(step_batch(problem, s)))

    def q(kind_: str, layer_: int = 0, index: tuple = (), example=None, step: int = s) -> QuantityName:
        return QuantityName(kind_, layer_, index, example, step)

    def layer(kind_: str, layer_: int, example):
        return [q(kind_, layer_, (k,), example) for k in range(sizes[layer_])]

    def earlier(kind_: str, layer_: int, index: tuple) -> list[QuantityName]:
        """A parameter as the previous step left it (none in step 1: it is on the sheet)."""
        if s == 0 or (kind_ == "b" and not problem.network.bias):
            return []
        return [q(kind_, layer_, index, step=s - 1)]

    if kind == "z":
        j = name.index[0]
        weights = [p for k in range(sizes[l - 1]) for p in earlier("W", l, (j, k))] + earlier("b", l, (j,))
        return (tuple(layer("a", l - 1, ex)) if l > 1 else ()) + tuple(weights)
    if kind == "a":
        elementwise = ACTIVATIONS[problem.network.activations[l - 1]].elementwise
        return (q("z", l, name.index, ex),) if elementwise else tuple(layer("z", l, ex))
    if kind == "L":
        return tuple(layer("a", depth, ex))
    if kind == "J":
        return tuple(q("L", 0, (), row) for row in rows)
    if kind == "delta":
        own = (q("z", l, name.index, ex), q("a", l, name.index, ex))
        later = layer("a", depth, ex) if l == depth else layer("delta", l + 1, ex)
        weights = [] if l == depth else [p for k in range(sizes[l + 1]) for p in earlier("W", l + 1, (k, name.index[0]))]
        return tuple(later) + own + tuple(weights)
    if kind in ("dW", "db"):
        j = name.index[0]
        deltas = [q("delta", l, (j,), row) for row in rows]
        inputs = [q("a", l - 1, (name.index[1],), row) for row in rows] if kind == "dW" and l > 1 else []
        return tuple(deltas + inputs)
    if kind in ("W", "b"):
        return (q("d" + kind, l, name.index),) + tuple(earlier(kind, l, name.index))
    if kind == "L_after":
        params = []
        for l_ in range(1, depth + 1):
            params += [q("W", l_, (j, k)) for j in range(sizes[l_]) for k in range(sizes[l_ - 1])]
            if problem.updates_biases:
                params += [q("b", l_, (j,)) for j in range(sizes[l_])]
        return tuple(params)
    return ()
