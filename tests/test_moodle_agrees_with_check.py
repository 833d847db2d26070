"""The Moodle quiz accepts what derive check accepts (defects 2 and 5 of issue 9).

A student who rounds every answer to the sheet's 4 decimals and carries the rounded values
forward (the template says this is fine) is computed here by tests/hand_backprop.py, rounding on
paper (half away from zero), with f' from z and from a. derive check marks such a student right
throughout; Moodle's grading rule (tests/moodle_grading.py: the answers tried in order, accepted
when |x - answer| <= tolerance) must accept every answer too. Before, Moodle accepted only the
exact value +- 0.00005 and rejected 23 of 575 such answers of relu-2-3-3-1-batch (seed 7, 5
variants). A value further off than every accepted one is rejected by both.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
import yaml

from derive.answers_loader import parse_answers
from derive.exam import solve_variants
from derive.loader import load_problem
from derive.marking import mark
from derive.moodle import _cloze_escape, quiz_xml
from derive.quantities import asked_quantities
from derive.randomise import numbers
from golden_outputs import ROOT
from hand_backprop import first_step, problem_dict
from moodle_grading import answers_of, grade, quiz_fields


def on_paper(value: float) -> float:
    return float(Decimal(f"{value:.12g}").quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


@pytest.fixture(scope="module", params=["relu-2-3-3-1-batch", "sgd-sigmoid-hidden"])
def variants(request):
    problem = load_problem(ROOT / "problems" / f"{request.param}.yaml")
    solved = solve_variants(problem, 7, [1, 2, 3, 4, 5])
    return request.param, solved, quiz_fields(quiz_xml([(v.number, v.verified) for v in solved], "derive/test"))


@pytest.mark.parametrize("form", ["z", "a"])
def test_students_who_round_and_carry_forward_are_accepted_by_both(variants, form):
    name, solved, quiz = variants
    rejected_by_moodle, total = [], 0
    for variant, fields in zip(solved, quiz):
        problem = variant.verified.problem
        student = first_step({**problem_dict(name), **numbers(problem)}, rnd=on_paper, fprime_form=form)
        labels = [q.label for q in asked_quantities(problem)]
        assert len(fields) == len(labels)
        marking = mark(variant.verified, parse_answers(yaml.safe_dump({k: float(v) for k, v in student.items()}), problem, "student.yaml"))
        assert [m.status for m in marking.marks] == ["correct"] * len(labels), [m for m in marking.marks if m.status != "correct"]
        for label, answers in zip(labels, fields):
            total += 1
            if grade(student[label], answers) != 1.0:
                rejected_by_moodle.append((variant.number, label, student[label]))
    assert not rejected_by_moodle, f"Moodle rejects {len(rejected_by_moodle)} of {total}: {rejected_by_moodle[:5]}"


def test_a_value_beyond_every_accepted_one_is_rejected_by_both(variants):
    name, solved, quiz = variants
    variant, fields = solved[0], quiz[0]
    problem = variant.verified.problem
    student = first_step({**problem_dict(name), **numbers(problem)}, rnd=on_paper)
    labels = [q.label for q in asked_quantities(problem)]
    for i in range(0, len(labels), max(1, len(labels) // 8)):
        label, answers = labels[i], fields[i]
        off = max(a.value + a.tolerance for a in answers) + 3e-4  # beyond every accepted interval
        assert grade(off, answers) == 0.0
        answered = {**student, label: off}
        marked = mark(variant.verified, parse_answers(yaml.safe_dump({k: float(v) for k, v in answered.items()}), problem, "student.yaml"))
        assert {m.label: m.status for m in marked.marks}[label] != "correct"


@pytest.mark.parametrize("text", ["a/b", 'say "hi"', "{x}", "#3", "x ~ y", "back\\slash", "\\}", "a < b & c"])
def test_feedback_reaches_the_student_as_written(text):
    (answer,) = answers_of(f"=1:0#{_cloze_escape(text)}")
    # Moodle stores the feedback as HTML; the browser shows it with its entities decoded.
    import html

    assert html.unescape(answer.feedback) == text and answer.value == 1.0
