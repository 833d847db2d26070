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
    """``value`` (a number or an array) rounded as a student following the sheet rounds it."""
    count = figures(answers)
    if count is None:
        return np.round(value, answers.decimals)
    array = np.asarray(value, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.floor(np.log10(np.abs(np.where(array == 0, 1.0, array))))
        scale = 10.0 ** (count - 1 - exponent)
        rounded = np.where(np.isfinite(array), np.round(array * scale) / scale, array)
    return float(rounded) if np.ndim(value) == 0 else rounded


def shown(answers: Answers, value: float) -> str:
    """The rounded value as a student writes it: positional, trailing zeros dropped."""
    count = figures(answers)
    if count is None:  # Python's round, as the sheets print: exact on the binary value at a tie
        text = f"{round(float(value), answers.decimals):.{answers.decimals}f}"
    else:
        rounded = float(round_value(answers, value))
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
