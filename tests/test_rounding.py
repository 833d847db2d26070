"""The one answer rule (derive/rounding.py) and every output that says or applies it.

Defect 1 of issue 9: with significant figures or a relative tolerance in relu-2-3-3-1-batch, the
worksheet, the exam sheet and the quiz said "4 decimals" and Moodle's tolerance was 0.00005,
while the template and derive check used the file's rule. Expected values are computed here by
hand (J of relu-2-3-3-1-batch from tests/hand_backprop.py's NumPy).
"""

from __future__ import annotations

import pytest
import yaml

from derive.answers_loader import parse_answers
from derive.check_report import marking_table
from derive.exam import documents, exam_blocks, solve_variants
from derive.loader import parse_problem
from derive.marking import mark
from derive.moodle import quiz_xml
from derive.quantities import answers_template
from derive.randomise import numbers
from derive.printing import number
from derive.printing import numbers as printed_numbers
from derive.rounding import matches, moodle_tolerance, phrase, round_value, shown, shown_each, to_decimals, tolerance
from derive.sheet import worksheet_tex
from derive.spec import Answers
from hand_backprop import first_step, problem_dict
from moodle_grading import grade, quiz_fields

DECIMALS, FIGURES, RELATIVE = Answers(decimals=4), Answers(significant_figures=3), Answers(relative_tolerance=0.01)


def test_round_value_rounds_as_a_student_does():
    assert round_value(DECIMALS, 1.0906820833) == 1.0907
    assert round_value(FIGURES, 1.0906820833) == 1.09
    assert round_value(FIGURES, -0.000123456) == -0.000123
    assert round_value(RELATIVE, 123.456) == 123.0  # 1% needs 3 significant figures
    assert round_value(Answers(relative_tolerance=0.001), 0.0123456) == 0.01235


def test_shown_is_what_a_student_writes():
    assert shown(DECIMALS, 1.0906820833) == "1.0907"
    assert shown(DECIMALS, -0.00001) == "0"
    assert shown(DECIMALS, 0.5) == "0.5"
    assert shown(FIGURES, 0.0123456) == "0.0123"
    assert shown(FIGURES, 12345.0) == "12300"  # positional, never 1.23e+04
    assert shown(RELATIVE, -2.0) == "-2"


def test_tolerance_and_matches():
    assert tolerance(DECIMALS, 7.0) == pytest.approx(0.5e-4)
    assert tolerance(FIGURES, 0.012345) == pytest.approx(0.5e-4)
    assert tolerance(RELATIVE, -2.0) == pytest.approx(0.02)
    assert matches(DECIMALS, 0.25735, 0.2573) and matches(DECIMALS, 0.25735, 0.2574)  # a tie either way
    assert not matches(DECIMALS, 0.2575, 0.2573)


def test_phrase_says_the_rule():
    assert phrase(DECIMALS) == "to 4 decimals"
    assert phrase(FIGURES) == "to 3 significant figures"
    assert phrase(RELATIVE) == "to 3 significant figures (right within 1% of the exact value)"


def test_moodle_tolerance_is_the_rule_plus_a_hair():
    assert moodle_tolerance(DECIMALS, 3.0) == "0.0000500001"
    assert moodle_tolerance(Answers(decimals=2), 3.0) == "0.00500001"
    assert moodle_tolerance(FIGURES, 123.4) == "0.500001"
    assert float(moodle_tolerance(RELATIVE, -2.0)) == pytest.approx(0.02, rel=1e-5)
    assert float(moodle_tolerance(RELATIVE, -2.0)) >= 0.02
    assert moodle_tolerance(RELATIVE, 0.0) == "0"


# ---- defect 1: every output says and applies the file's rule


def _relu_batch(rule: dict):
    doc = problem_dict("relu-2-3-3-1-batch")
    doc["answers"] = rule
    return parse_problem(yaml.safe_dump(doc, sort_keys=False), "problems/relu-2-3-3-1-batch.yaml")


@pytest.mark.parametrize("rule, said, student_J", [
    ({"significant_figures": 3}, "to 3 significant figures", 1.09),
    ({"relative_tolerance": 0.01}, "to 3 significant figures (right within 1% of the exact value)", 1.085),
])
def test_every_output_says_and_applies_the_same_rule(rule, said, student_J):
    problem = _relu_batch(rule)
    variant = solve_variants(problem, 7, [1])  # the variant 1 of seed 7
    verified = variant[0].verified
    doc = {**problem_dict("relu-2-3-3-1-batch"), **numbers(verified.problem)}
    J = float(first_step(doc)["J"])
    assert abs(J - 1.0906820833) < 1e-9 and abs(student_J - J) > 0.0001  # wrong at 4 decimals
    said_tex = said.replace("%", r"\%")
    assert f"give answers {said_tex}; keep full precision" in worksheet_tex(verified)
    assert f"give answers {said_tex}; keep full precision" in documents(exam_blocks(variant, [1]), "t", 7)[0]
    assert f"rounded {said};" in answers_template(verified.problem)
    xml = quiz_xml([(1, verified)], "derive/test")
    assert f"Give every answer {said} (the first step only)" in xml and "4 decimals" not in xml
    marking = mark(verified, parse_answers(f"J: {student_J}", verified.problem, "answers.yaml"))
    assert {m.label: m.status for m in marking.marks}["J"] == "correct"
    assert f"marked {said}" in str(marking_table(marking).renderables[0].title)
    J_fields = [f for f in quiz_fields(xml)[0] if any(abs(a.value - J) < 1e-9 for a in f)]
    assert len(J_fields) == 1 and grade(student_J, J_fields[0]) == 1.0


# ---- bulk rounding: round_value rounds arrays with NumPy, and must equal the Decimal rule

from decimal import ROUND_HALF_UP, Decimal  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _by_decimal(value: float, decimals: int, figures: int | None) -> float:
    """The rule written out with Decimal, one value at a time (independent of rounding.py)."""
    if not np.isfinite(value) or value == 0 or abs(value) > 1e15:
        return value
    written = Decimal(f"{value:.12g}")
    place = -decimals if figures is None else written.adjusted() - figures + 1
    return float(written.quantize(Decimal(1).scaleb(place), rounding=ROUND_HALF_UP))


RULES = [(4, None), (2, None), (0, None), (6, None), (10, None), (4, 1), (4, 2), (4, 3), (4, 7)]


def _same(fast: np.ndarray, slow: np.ndarray) -> np.ndarray:
    return ((fast == slow) & (np.signbit(fast) == np.signbit(slow))) | (np.isnan(fast) & np.isnan(slow))


@pytest.mark.parametrize("decimals, figures", RULES)
def test_bulk_rounding_equals_the_decimal_rule_on_ties_and_near_ties(decimals, figures):
    rng = np.random.default_rng(decimals * 10 + (figures or 0))
    places = rng.integers(0, 7, 20000)
    values = np.concatenate([
        rng.normal(size=20000) * 10.0 ** rng.integers(-8, 6, 20000),
        (rng.integers(-10**6, 10**6, 20000) + 0.5) / 10.0 ** places,  # half-way points
        np.round(rng.normal(size=20000) * 10.0 ** places) / 10.0 ** places,  # short decimals
        10.0 ** rng.integers(-9, 9, 2000) * (1 + rng.normal(size=2000) * 1e-12),  # next to powers of ten
        [0.0, -0.0, np.inf, -np.inf, np.nan, 1e16, -1e16, 5e-324, 1e15, 0.25734999999999997, -0.00004,
         9.99999999999996, 73593.34605, -0.5, 0.5, 1.5, 2.5],
    ])
    answers = Answers(decimals=decimals) if figures is None else Answers(decimals=decimals, significant_figures=figures)
    slow = np.array([_by_decimal(float(v), decimals, figures) for v in values])
    fast = round_value(answers, values)
    assert _same(fast, slow).all(), values[~_same(fast, slow)][:5]


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6), st.sampled_from(RULES))
def test_bulk_rounding_equals_the_decimal_rule_for_any_value(value, rule):
    decimals, figures = rule
    answers = Answers(decimals=decimals) if figures is None else Answers(decimals=decimals, significant_figures=figures)
    assert _same(round_value(answers, np.array([value])), np.array([_by_decimal(value, decimals, figures)])).all()
    assert round_value(answers, value) == _by_decimal(value, decimals, figures)
    if figures is None:  # the scalar path that sheets print numbers with
        assert to_decimals(value, decimals) == _by_decimal(value, decimals, None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6), max_size=8),
       st.sampled_from(RULES + [(4, None, 0.01), (4, None, 0.001)]))
def test_shown_each_writes_each_value_as_shown_does(values, rule):
    decimals, figures, *relative = rule
    answers = Answers(decimals=decimals, significant_figures=figures,
                      relative_tolerance=relative[0] if relative else None)
    ties = [(k + 0.5) / 10**decimals for k in range(-3, 3)]  # half-way points, as sheets have many
    assert shown_each(answers, values + ties) == [shown(answers, v) for v in values + ties]
    if figures is None and not relative:
        for bracket in (True, False):
            assert printed_numbers(values + ties, decimals, bracket) == [number(v, decimals, bracket) for v in values + ties]


def test_printed_numbers_round_ties_away_from_zero_whatever_the_last_bit():
    # -0.37655 is a tie on paper; the float below it and the float above it print alike
    below, above = -0.37655, -0.37655000000000005
    assert number(below, 4) == number(above, 4) == "(-0.3766)"
    assert number(0.00255, 4) == number(0.0025500000000000002, 4) == "0.0026"
