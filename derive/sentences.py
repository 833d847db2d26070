"""Sentences more than one output writes (worksheet, answer key, Moodle quiz), in the sheet's
language (:mod:`derive.i18n`). In English they read as the terminal's (:mod:`derive.rounding`,
:meth:`derive.verify.Report.summary`).
"""

from __future__ import annotations

from typing import Callable

from .i18n import gettext_for, uses_decimal_comma
from .rounding import figures
from .spec import Answers
from .verify import VerifiedSolution


def rounding_phrase(answers: Answers, _: Callable[[str], str]) -> str:
    """The rounding rule as the end of "give answers ...", in the sheet's language (``_``); in
    English, :func:`derive.rounding.phrase`."""
    if answers.relative_tolerance is not None:
        return _("to {n} significant figures (right within {percent} of the exact value)").format(
            n=figures(answers), percent=f"{answers.relative_tolerance * 100:g}%")
    if answers.significant_figures is not None:
        return _("to {n} significant figures").format(n=answers.significant_figures)
    return _("to {n} decimals").format(n=answers.decimals)


def verification_sentence(verified: VerifiedSolution) -> str:
    """The verification report (:meth:`derive.verify.Report.summary`) in the sheet's language,
    with the language's decimal separator."""
    report, language = verified.report, verified.problem.language
    _ = gettext_for(language)
    point = "," if uses_decimal_comma(language) else "."
    skipped = (_("; {n} gradient(s) at a ReLU kink not compared").format(n=len(report.fd_skipped))
               if report.fd_skipped else "")
    return _("verified: {numbers} numbers agree with the independent NumPy implementation (largest difference "
             "{numpy}), {gradients} gradients with central finite differences (largest difference "
             "{fd}){skipped}; {proofs} symbolic identities proved").format(
        numbers=report.quantities_checked, numpy=f"{report.max_abs_diff_numpy:.1e}".replace(".", point),
        gradients=report.gradients_checked_fd, skipped=skipped, proofs=report.proofs,
        fd=f"{report.max_abs_diff_finite_difference:.1e}".replace(".", point))
