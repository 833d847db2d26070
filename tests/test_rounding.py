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
from derive.rounding import matches, moodle_tolerance, phrase, round_value, shown, tolerance
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
