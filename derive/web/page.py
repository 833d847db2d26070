"""Stage 5b, the web page's model: a verified solution as a sheet of labelled boxes (pure).

No files and no requests here. :func:`build_sheet` turns a verified solution into a
:class:`Sheet`: the given numbers, and one :class:`Box` per asked quantity in the order a student
computes them, grouped by section, each labelled in the sheet's notation (MathML converted from
the notation module's LaTeX, so the page needs no script and no outside server to show math)
with its worked line. :func:`read_answers` turns a submitted form into the
:class:`~derive.quantities.StudentAnswers` that ``derive check`` marks, and :func:`answers_yaml`
writes the answers as the file ``derive check`` reads.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from latex2mathml.converter import convert

from ..rounding import phrase
from ..notation import NIELSEN
from ..printing import latex, number, pmatrix
from ..quantities import AskedQuantity, QuantityName, StudentAnswers, answers_template, asked_quantities, first_batch
from ..registry import ACTIVATIONS, LOSSES
from ..sheet import parameter_matrices
from ..spec import SECTION_TITLES, Problem
from ..verify import VerifiedSolution, require_verified
from ..worked import Quantity, Step
from .drawing import network_svg

#: Form fields that are not answers: the exam variant and the worked lines revealed.
CONTROL_FIELDS = ("seed", "variant", "reveal", "revealed")
MAX_SEED = 2**32 - 1
MAX_VARIANT = 10_000
MAX_TYPED = 40  # characters in one box: more is not a number a student typed
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class Box:
    """One asked quantity on the page: ``label`` is its answers-file name and the form field's."""

    label: str
    name: QuantityName
    math: str  # MathML of the quantity in the sheet's notation
    meaning: str
    worked: str  # MathML of its worked line (symbol = formula = numbers = result); "" if none


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class Sheet:
    """A problem as a web page: what the worksheet shows and the boxes it asks for."""

    id: str
    verified: VerifiedSolution
    facts: tuple[tuple[str, str], ...]  # (what, value) in words: network, activations, loss, ...
    givens: tuple[tuple[str, str], ...]  # (caption, MathML) of the given numbers
    drawing: str  # SVG markup (made by derive.web.drawing from numbers only)
    sections: tuple[Section, ...]
    variant: tuple[int, int] | None = None  # (seed, number) of an exam variant

    @property
    def problem(self) -> Problem:
        return self.verified.problem

    @functools.cached_property
    def boxes(self) -> dict[str, Box]:
        """Every box by label, in computation order."""
        return {box.label: box for section in self.sections for box in section.boxes}


class FormError(ValueError):
    """A form that is not one of this sheet's: unknown or repeated names, too many fields."""


@dataclass(frozen=True)
class Submission:
    """A submitted form: the text typed in each box (kept in the boxes), what is wrong with the
    boxes that hold no number, and the numbers as the answers ``derive check`` marks."""

    typed: dict[str, str]
    errors: dict[str, str]
    answers: StudentAnswers


@functools.lru_cache(maxsize=65536)
def mathml(tex: str) -> str:
    """Inline MathML for a LaTeX snippet derive wrote itself (never for a request's text)."""
    return convert(tex)


def build_sheet(sheet_id: str, verified: VerifiedSolution, variant: tuple[int, int] | None = None) -> Sheet:
    """The web page of a verified solution (``sheet_id`` names it in URLs; ``variant`` is the
    exam variant's (seed, number) when it is one)."""
    verified = require_verified(verified)
    problem = verified.problem
    step = verified.solution.steps[0]
    boxes: dict[str, list[Box]] = {}
    for item in asked_quantities(problem):
        boxes.setdefault(item.section, []).append(_box(item, problem, step))
    sections = tuple(Section(key, SECTION_TITLES[key], tuple(items)) for key, items in boxes.items())
    return Sheet(sheet_id, verified, _facts(problem), _givens(problem), network_svg(problem), sections, variant)


def _box(item: AskedQuantity, problem: Problem, step: Step) -> Box:
    batch = first_batch(problem)
    example = None if item.name.example is None or len(batch) == 1 else batch[item.name.example] + 1
    tex = NIELSEN.latex(item.name, example, inline=True, wide=max(problem.network.layers) > 9)
    line = worked_line(step, item.name, problem)
    worked = "" if line is None else mathml(
        f"{latex(line.symbol)} = {latex(line.formula)} = {latex(line.substituted)} = "
        f"{number(line.value, problem.answers.decimals, False)}")
    return Box(item.label, item.name, mathml(tex), item.meaning, worked)


def worked_line(step: Step, name: QuantityName, problem: Problem) -> Quantity | None:
    """The worked line of quantity ``name`` in ``step`` (worked lines carry their QuantityName)."""
    key = (name.kind, name.layer, name.index, name.example)
    return next((q for q in step.worked if (q.name.kind, q.name.layer, q.name.index, q.name.example) == key), None)


def _facts(problem: Problem) -> tuple[tuple[str, str], ...]:
    net, training = problem.network, problem.training
    facts = [("Network", "–".join(map(str, net.layers)) + " (inputs first)")]
    facts += [(f"Layer {l}", f"{name} ({ACTIVATIONS[name].description})") for l, name in enumerate(net.activations, 1)]
    facts.append(("Loss", f"{net.loss} ({LOSSES[net.loss].description})"))
    if training.steps:
        facts.append(("Learning rate", f"η = {training.learning_rate:g}"))
    batch = first_batch(problem)
    if len(batch) > 1:
        facts.append(("Batch", f"examples {', '.join(str(i + 1) for i in batch)}: J is the mean of their losses"))
    if training.l2:
        facts.append(("L2", f"λ = {training.l2:g}"))
    if training.steps > 1:
        facts.append(("Checked", f"step 1 of {training.steps}"))
    facts.append(("Answers", f"give answers {phrase(problem.answers)}"))
    return tuple(facts)


def _givens(problem: Problem) -> tuple[tuple[str, str], ...]:
    d = problem.answers.decimals
    shown = []
    for l, tex in enumerate(parameter_matrices(problem), start=1):
        shown.append((f"Layer {l}", mathml(tex)))
    for i, (x, y) in enumerate(zip(problem.inputs, problem.targets), start=1):
        mark = f"^{{[{i}]}}" if problem.examples > 1 else ""
        tex = rf"x{mark} = {pmatrix([x], d)},\quad y{mark} = {pmatrix([y], d)}"
        shown.append((f"Example {i}" if problem.examples > 1 else "Example", mathml(tex)))
    return tuple(shown)


def read_answers(pairs: list[tuple[str, str]], sheet: Sheet, source: str = "web form") -> Submission:
    """The answers in a submitted form's (name, value) pairs; control fields are skipped.

    A box that holds no number gets a message in ``errors``; a name the sheet does not ask, a
    name given twice or more answers than the sheet asks is a :class:`FormError`.
    """
    answers = [(name, value) for name, value in pairs if name not in CONTROL_FIELDS]
    if len(answers) > len(sheet.boxes):
        raise FormError(f"the form holds {len(answers)} answers, but this sheet asks for {len(sheet.boxes)}")
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    values: list[tuple[QuantityName, float]] = []
    for name, text in answers:
        if name not in sheet.boxes:
            raise FormError(f"this sheet asks for no quantity named {name[:40]!r}")
        if name in typed:
            raise FormError(f"{name} is given twice")
        typed[name] = text[:MAX_TYPED]
        try:
            value = parse_number(text)
        except ValueError as err:
            errors[name] = str(err)
            continue
        if value is not None:
            values.append((sheet.boxes[name].name, value))
    return Submission(typed, errors, StudentAnswers(source, tuple(values)))


def parse_number(text: str) -> float | None:
    """A number as a student types it (``0.25``, ``-1.5e-3``); None for an empty box.

    Raises ValueError with a message for the student otherwise (NaN and infinity included)."""
    text = text.strip().replace("\u2212", "-")  # a typographic minus sign, pasted from a PDF
    if not text:
        return None
    if len(text) > MAX_TYPED:
        raise ValueError(f"too long to be a number ({len(text)} characters)")
    if _NUMBER.fullmatch(text):
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise ValueError("too large: type a finite number")
        return value
    if text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise ValueError("not a number: NaN and infinity are not answers")
    if re.fullmatch(r"[+-]?\d*,\d+", text):
        raise ValueError("use a decimal point (0.25), not a comma")
    raise ValueError("not a number: type a decimal such as 0.1234 or -1.5e-3")


def parse_revealed(text: str, sheet: Sheet) -> tuple[str, ...]:
    """The labels of the worked lines revealed so far (a space-separated list), validated."""
    labels = tuple(dict.fromkeys(text.split()))
    unknown = [label for label in labels if label not in sheet.boxes]
    if unknown:
        raise FormError(f"this sheet has no worked line named {unknown[0][:40]!r}")
    return labels


def parse_variant(seed: str, variant: str) -> tuple[int, int]:
    """An exam variant's seed and number as typed; ValueError names the field and the range."""
    for field, text, low, high in (("seed", seed, 0, MAX_SEED), ("variant", variant, 1, MAX_VARIANT)):
        if not re.fullmatch(r"\d{1,10}", text.strip()) or not low <= int(text) <= high:
            raise ValueError(f"{field}: type a whole number from {low} to {high}")
    return int(seed), int(variant)


def answers_yaml(problem: Problem, answers: StudentAnswers) -> str:
    """The answers as the YAML file ``derive check`` reads: its template with the numbers in."""
    values = answers.as_dict()
    given = {item.label: values[item.name] for item in asked_quantities(problem) if item.name in values}
    lines = []
    for line in answers_template(problem).splitlines():
        label, _, rest = line.partition(": null")
        if label in given and rest[:1] in ("", " "):
            comment = rest.lstrip()  # "# what it is", kept in the template's column
            line = f"{label}: {_yaml_float(given[label])}".ljust(24) + comment
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def _yaml_float(value: float) -> str:
    """A float YAML 1.1 reads back as the same float (``1e-05`` would be read as a string)."""
    shown = repr(float(value))
    if "e" in shown and "." not in shown:
        mantissa, exponent = shown.split("e")
        shown = f"{mantissa}.0e{exponent if exponent[0] in '+-' else '+' + exponent}"
    return shown
