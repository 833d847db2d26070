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

import functools
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
    if np.ndim(value) == 0:
        return _on_paper(float(value), answers.decimals, count)
    values = np.asarray(value, dtype=float)
    return _rounded(values.reshape(-1), answers.decimals, count).reshape(values.shape)


def _rounded(values: np.ndarray, decimals: int, count: int | None) -> np.ndarray:
    """:func:`_on_paper` of every entry, in bulk: away from a half-way point (further than writing
    the value to 12 figures can move it) and, under significant figures, from a power of ten,
    writing a value to 12 figures cannot change how it rounds, and k / 10^p is the double
    nearest k·10^-p, as Decimal gives it. The few values near such a
    point go through :func:`_on_paper` itself, so the result is the same to the last bit."""
    size = np.abs(values)
    with np.errstate(all="ignore"):
        exponent = np.floor(np.log10(size))
        place = np.full(values.shape, -float(decimals)) if count is None else exponent - count + 1
        scaled = np.where(place <= 0, size * 10.0 ** -np.minimum(place, 0), size / 10.0 ** np.maximum(place, 0))
        whole = np.floor(scaled + 0.5)
        rounded = np.where(place <= 0, whole / 10.0 ** -np.minimum(place, 0), whole * 10.0 ** np.maximum(place, 0))
        hair = 10.0 ** (exponent - 11 - place) + 1e-6  # how far writing 12 figures moves ``scaled``, and more
        careful = (np.abs(scaled - np.floor(scaled) - 0.5) < hair) | (scaled > 1e9) | (np.abs(place) > 22)
        if count is not None:
            careful |= np.abs(np.log10(size) - np.round(np.log10(size))) < 1e-9
    unchanged = ~np.isfinite(values) | (values == 0) | (size > 1e15)
    result = np.where(unchanged, values, np.copysign(rounded, values))
    near = np.flatnonzero(careful & ~unchanged)
    if len(near):
        result[near] = [_by_decimal(f"{value:.12g}", decimals, count) for value in values[near].tolist()]
    return result


def to_decimals(value: float, decimals: int) -> float:
    """``value`` rounded to ``decimals`` as a student rounds on paper (how a sheet prints numbers:
    -0.37655 shows as -0.3766 whether the float's last bit falls above or below the tie)."""
    return _on_paper(float(value), decimals, None)


def _on_paper(value: float, decimals: int, count: int | None) -> float:
    if not math.isfinite(value) or value == 0 or abs(value) > 1e15:  # no decimals left to round
        return value
    if count is None and decimals <= 10 and abs(value) < 1e5:  # the common case, as _rounded does it
        scaled = abs(value) * 10.0**decimals
        hair = 10.0 ** (math.floor(math.log10(abs(value))) - 11 + decimals) + 1e-6
        if abs(scaled - math.floor(scaled) - 0.5) >= hair:
            return math.copysign(math.floor(scaled + 0.5) / 10.0**decimals, value)
    return _by_decimal(f"{value:.12g}", decimals, count)


@functools.lru_cache(maxsize=1 << 16)  # sheets' short decimals make the same half-way values recur
def _by_decimal(written: str, decimals: int, count: int | None) -> float:
    """The value written to 12 figures, rounded half away from zero in decimal arithmetic."""
    exact = Decimal(written)
    place = -decimals if count is None else exact.adjusted() - count + 1
    return float(exact.quantize(Decimal(1).scaleb(place), rounding=ROUND_HALF_UP))


def shown(answers: Answers, value: float) -> str:
    """The rounded value as a student writes it: positional, trailing zeros dropped."""
    return _written(answers, figures(answers), float(round_value(answers, value)))


def shown_each(answers: Answers, values) -> list[str]:
    """:func:`shown` of each of ``values``, rounded together (a quiz's thousands of fields)."""
    count = figures(answers)
    return [_written(answers, count, rounded) for rounded in round_value(answers, np.asarray(values, dtype=float)).tolist()]


def _written(answers: Answers, count: int | None, rounded: float) -> str:
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
    return _positional_tolerance(half_unit(answers, value) * (1 + MOODLE_HAIR))


@functools.lru_cache(maxsize=4096)  # a quiz has thousands of fields and, under decimals, one tolerance
def _positional_tolerance(widened: float) -> str:
    if widened == 0:
        return "0"
    return np.format_float_positional(widened, precision=10, unique=False, fractional=False, trim="-")
