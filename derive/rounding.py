"""The answer rule: how a student rounds, how far a right answer may be off, how the rule is said.

One home for the sheet's ``answers`` settings (:class:`~derive.spec.Answers`): ``decimals``, or
``significant_figures``, or ``relative_tolerance``. Every output that states or applies the rule
(worksheet and exam settings, answers template, ``derive check``, the Moodle quiz) asks here.

* :func:`round_value` rounds as a student following the sheet does (under a relative tolerance r,
  to the significant figures r needs: 3 for 0.01, 4 for 0.001);
* :func:`shown` is that rounded value as the student writes it (``1.0907``, never ``1.0906820833``);
* :func:`tolerance` and :func:`matches` say whether an answer is right;
* :func:`phrase` says the rule (``to 4 decimals``), for every sentence that states it;
* :func:`moodle_tolerance` is the tolerance as a Moodle NUMERICAL answer writes it.

>>> from derive.spec import Answers
>>> phrase(Answers(decimals=4)), shown(Answers(decimals=4), 1.0906820833)
('to 4 decimals', '1.0907')
>>> phrase(Answers(significant_figures=3)), shown(Answers(significant_figures=3), 0.0123456)
('to 3 significant figures', '0.0123')
>>> moodle_tolerance(Answers(decimals=4), 1.09)
'0.0000500001'
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from .spec import Answers

SLACK = 1 + 1e-9  # a value rounded exactly half-way is right either way
MOODLE_HAIR = 2e-6  # Moodle's tolerance is this fraction wider, for float error in value and answer


def figures(answers: Answers) -> int | None:
    """The significant figures a student gives, or None when the rule is decimals."""
    if answers.relative_tolerance is not None:
        return math.ceil(-math.log10(answers.relative_tolerance)) + 1
    return answers.significant_figures


def round_value(answers: Answers, value):
    """``value`` (a number or an array) rounded as a student following the sheet rounds it on paper:
    half away from zero, on the value as written to 12 significant figures (so a float such as
    0.25734999999999997 that is 0.25735 on paper rounds up, like the student's 0.25735)."""
    count = figures(answers)
    rounded = np.vectorize(lambda v: _on_paper(v, answers.decimals, count), otypes=[float])(value)
    return float(rounded) if np.ndim(value) == 0 else rounded


def _on_paper(value: float, decimals: int, count: int | None) -> float:
    if not math.isfinite(value) or value == 0 or abs(value) > 1e15:  # no decimals left to round
        return value
    written = Decimal(f"{value:.12g}")
    place = -decimals if count is None else written.adjusted() - count + 1
    return float(written.quantize(Decimal(1).scaleb(place), rounding=ROUND_HALF_UP))


def shown(answers: Answers, value: float) -> str:
    """The rounded value as a student writes it: positional, trailing zeros dropped."""
    count = figures(answers)
    rounded = float(round_value(answers, value))
    if count is None:
        text = f"{rounded:.{answers.decimals}f}"
    else:
        text = np.format_float_positional(rounded, precision=count, unique=False, fractional=False)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "", "-") else text


def half_unit(answers: Answers, expected: float) -> float:
    """The rule's tolerance for ``expected`` without any slack: half a unit of the last decimal or
    of the last significant figure, or the relative tolerance times the size (1e-9 for an exact 0
    under significant figures; 0 under a relative tolerance, so that 0 must be given as 0)."""
    if answers.relative_tolerance is not None:
        return answers.relative_tolerance * abs(expected)
    if answers.significant_figures is not None:
        if abs(expected) < 1e-12:
            return 1e-9
        return 0.5 * 10.0 ** (math.floor(math.log10(abs(expected))) - answers.significant_figures + 1)
    return 0.5 * 10.0 ** (-answers.decimals)


def tolerance(answers: Answers, expected: float) -> float:
    """How far an answer may be from ``expected`` and still be right, by the sheet's rule."""
    return half_unit(answers, expected) * SLACK + 1e-12


def matches(answers: Answers, value: float, target: float) -> bool:
    """Whether ``value`` is right for ``target`` under the sheet's rule (NaN never matches)."""
    return math.isfinite(target) and abs(value - target) <= tolerance(answers, target)


def phrase(answers: Answers) -> str:
    """The rule as the end of a sentence such as "give answers ...": ``to 4 decimals``."""
    if answers.relative_tolerance is not None:
        percent = f"{answers.relative_tolerance * 100:g}%"
        return f"to {figures(answers)} significant figures (right within {percent} of the exact value)"
    if answers.significant_figures is not None:
        return f"to {answers.significant_figures} significant figures"
    return f"to {answers.decimals} decimals"


def moodle_tolerance(answers: Answers, value: float) -> str:
    """The rule's tolerance for ``value`` as a Moodle NUMERICAL answer writes it: a hair wider than
    :func:`half_unit` (0.0000500001 for 4 decimals), positional, never narrower than the rule."""
    widened = half_unit(answers, value) * (1 + MOODLE_HAIR)
    if widened == 0:
        return "0"
    return np.format_float_positional(widened, precision=10, unique=False, fractional=False, trim="-")
