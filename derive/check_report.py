"""The marking as a terminal table (rich) and as JSON: thin drivers over a :class:`Marking`."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from .marking import Marking
from .rounding import phrase, shown
from .spec import Answers

SCHEMA_VERSION = 1

_SHOWN = {
    "correct": ("right", "green"),
    "follow_through": ("follow-through", "yellow"),
    "wrong": ("wrong", "red"),
    "unanswered": ("unanswered", "dim"),
}


def _given(value: float | None) -> str:
    return "" if value is None else f"{value:.10g}"


def _expected(value: float, rule: Answers) -> str:
    """The correct value as a student following the sheet's rule writes it."""
    return shown(rule, value)


def score_line(marking: Marking) -> str:
    """The score and what it is made of, in one line."""
    parts = [f"{marking.count('correct')} right"]
    for status, words in (("follow_through", "with follow-through credit"), ("wrong", "wrong"), ("unanswered", "unanswered")):
        if marking.count(status):
            parts.append(f"{marking.count(status)} {words}")
    return f"score: {marking.score:g} / {marking.total} ({', '.join(parts)})"


def marking_table(marking: Marking) -> Group:
    """The table of every asked quantity and the score line, for a rich console."""
    checked = f" (step 1 of {marking.steps})" if marking.steps > 1 else ""
    title = f"{marking.title}\n{marking.answers_source}{checked}, marked {phrase(marking.rule)}"
    table = Table(title=Text(title), title_justify="left")  # Text: no rich markup read from a file
    table.add_column("quantity", no_wrap=True)
    table.add_column("your value", justify="right", no_wrap=True)
    table.add_column("correct", justify="right", no_wrap=True)
    table.add_column("mark", no_wrap=True)
    table.add_column("why")
    for mark in marking.marks:
        word, style = _SHOWN[mark.status]
        table.add_row(Text(mark.label), _given(mark.given), _expected(mark.expected, marking.rule),
                      Text(word, style=style), Text(mark.reason))
    return Group(table, Text(score_line(marking), style="bold"))


def print_marking(marking: Marking) -> None:
    """Print the table on stdout, at least 100 columns wide so that the reasons stay readable."""
    Console(width=max(100, Console().width)).print(marking_table(marking))


def marking_json(marking: Marking, variant: tuple[int, int] | None = None) -> dict[str, Any]:
    """The marking as plain JSON-ready data (schema in README: Answers files and marking).

    ``variant`` is the exam variant's (seed, variant) when one was marked."""
    return {
        "schema": SCHEMA_VERSION,
        "title": marking.title,
        "problem": marking.source,
        "variant": None if variant is None else {"seed": variant[0], "variant": variant[1]},
        "answers": marking.answers_source,
        "steps": marking.steps,
        "rule": {
            "decimals": marking.rule.decimals,
            "significant_figures": marking.rule.significant_figures,
            "relative_tolerance": marking.rule.relative_tolerance,
        },
        "score": marking.score,
        "total": marking.total,
        "all_correct": marking.all_correct,
        "counts": {status: marking.count(status) for status in _SHOWN},
        "quantities": [
            {
                "quantity": mark.label,
                "section": mark.section,
                "given": mark.given,
                "expected": mark.expected,
                "status": mark.status,
                "credit": mark.credit,
                "reason": mark.reason,
                "mistakes": list(mark.mistakes),
                "follows_from": list(mark.follows_from),
            }
            for mark in marking.marks
        ],
    }
