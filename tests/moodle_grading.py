"""A port of Moodle's Cloze parsing and NUMERICAL grading, for tests (no Moodle needed).

Parsing follows qtype_multianswer (question/type/multianswer/questiontype.php): the field regex
``{n:NUMERICAL:...}``, alternatives split at an unescaped ``~``, each ``=`` (100%) or ``%f%``, the
answer ``value:tolerance``, then ``#feedback`` up to an unescaped ``~`` or ``}``; the feedback is
HTML-entity decoded and only ``\\}`` and ``\\#`` lose their backslash. Grading follows
qtype_numerical: the answers are tried in order and the first whose nominal interval
``[value - t, value + t]`` (t = tolerance + 1e-14 max(1, |value|), PHP's precision) holds the
response gives its fraction.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

NUMBER = r"-?(?:(?:[0-9]+[.,]?[0-9]*|[.,][0-9]+)(?:[eE][-+]?[0-9]+)?)"
FIELD = re.compile(r"\{([0-9]*):(?:NUMERICAL|NM):(.*?(?<!\\))\}", re.S)
ALTERNATIVE = re.compile(
    r"~?(=|%(-?[0-9]+(?:[.,][0-9]*)?)%)?"
    r"(.+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$))"
    r"(#(.*?(?<!\\)(?=[~}]|$)))?", re.S)
NUMERICAL = re.compile(rf"^({NUMBER})(?::({NUMBER}))?$")


@dataclass(frozen=True)
class Answer:
    fraction: float
    value: float
    tolerance: float
    feedback: str


def answers_of(alternatives: str) -> list[Answer]:
    """The answers of one NUMERICAL field, as Moodle's import reads them."""
    out = []
    rest = alternatives
    while rest:
        match = ALTERNATIVE.match(rest)
        assert match, f"Moodle could not parse {rest!r}"
        fraction = 1.0 if match.group(1) == "=" else float(match.group(2) or 0) / 100
        number = NUMERICAL.match(match.group(3))
        assert number, f"not a NUMERICAL answer: {match.group(3)!r}"
        feedback = html.unescape(match.group(5) or "").replace("\\}", "}").replace("\\#", "#")
        out.append(Answer(fraction, float(number.group(1)), float(number.group(2) or 0), feedback))
        rest = rest[match.end():]
    return out


def fields_of(question_text: str) -> list[list[Answer]]:
    """Every embedded NUMERICAL field of a question text, in order."""
    return [answers_of(match.group(2)) for match in FIELD.finditer(question_text)]


def quiz_fields(xml: str) -> list[list[list[Answer]]]:
    """Per cloze question of a quiz, its fields."""
    root = ET.fromstring(xml)
    return [fields_of(q.find("questiontext/text").text) for q in root.findall("question[@type='cloze']")]


def grade(response: float, answers: list[Answer]) -> float:
    """Moodle's mark for ``response``: the fraction of the first answer whose interval holds it."""
    for answer in answers:
        slack = answer.tolerance + 1e-14 * max(1.0, abs(answer.value))
        if answer.value - slack <= response <= answer.value + slack:
            return answer.fraction
    return 0.0
