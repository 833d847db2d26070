"""Loader for a student's answers file (YAML): quantity label -> number, for one problem.

Beside :mod:`derive.loader` (reading through :mod:`derive.yaml_reader`), one of the few modules that read files. Every problem is a
:class:`ProblemError` naming the file, the quantity and what is wrong (exit code 2): YAML
syntax, a file that is not a mapping, an unknown quantity name (with a did-you-mean), a
quantity this sheet does not ask, the same quantity twice, a list or mapping where a number is
expected, a non-number. A quantity left out or left null is simply unanswered.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Optional

from pydantic import Field, TypeAdapter, ValidationError

from .errors import ProblemError, shown
from .yaml_reader import read_text, read_yaml
from .quantities import QUANTITY_KINDS_HELP, QuantityName, StudentAnswers, asked_quantities, all_quantities
from .spec import Problem

_NUMBER = TypeAdapter(Optional[Annotated[float, Field(strict=True, allow_inf_nan=False)]])


def load_answers(path: str | Path, problem: Problem) -> StudentAnswers:
    """Read and validate a student's answers file for ``problem``."""
    return parse_answers(read_text(path), problem, str(path))


def parse_answers(text: str, problem: Problem, source: str = "<string>") -> StudentAnswers:
    """Validate YAML text of quantity -> number into :class:`StudentAnswers`."""
    document = read_yaml(text, source)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ProblemError(source, "", "expected a mapping of quantity names to numbers, such as 'z1_1: 0.11' "
                           "(derive check PROBLEM --template FILE writes a blank one)")
    spellings = _spellings(problem)
    other_steps = {s for q in all_quantities(problem) for s in (q.label, *q.aliases)}
    values: dict[QuantityName, float] = {}
    labels: dict[QuantityName, str] = {}
    for key, value in document.items():
        field = str(key)
        spelled = field.strip().replace(" ", "")
        if spelled not in spellings:
            raise ProblemError(source, field, _unknown(spelled, spellings, other_steps))
        item = spellings[spelled]
        if item.name in labels:
            raise ProblemError(source, field, f"{item.label} is given twice (also as {labels[item.name]!r})")
        labels[item.name] = field
        number = _number(value, source, field)
        if number is not None:
            values[item.name] = number
    return StudentAnswers(source, tuple(values.items()))


def _spellings(problem: Problem) -> dict:
    return {spelling: item for item in asked_quantities(problem) for spelling in (item.label, *item.aliases)}


def _unknown(spelled: str, spellings: dict, other_steps: set[str]) -> str:
    if spelled in other_steps:
        return "this sheet does not ask for that quantity (see answers.asked in the problem file)"
    close = difflib.get_close_matches(spelled, list(spellings), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown quantity{hint}; {QUANTITY_KINDS_HELP}"


def _number(value, source: str, field: str) -> float | None:
    if isinstance(value, (list, tuple)):
        raise ProblemError(source, field, f"expected one number, got a list of {len(value)} "
                           "(give each entry its own key, e.g. z1_1 and z1_2)")
    if isinstance(value, dict):
        raise ProblemError(source, field, "expected one number, got a mapping")
    try:
        return _NUMBER.validate_python(value)
    except ValidationError:
        raise ProblemError(source, field, f"expected a number (or null if unanswered), got {shown(value)}") from None
