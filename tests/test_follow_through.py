"""Follow-through at full precision (defect 3 of issue 9).

A student who used Keras' mean squared error throughout sgd-sigmoid-hidden and kept full
precision, as the sheet says, writes dW1_12 = round(delta1_1 x_2) from the unrounded delta1_1:
-0.029374 x 0.9 = -0.0264, while from the written -0.0294 it is -0.0265. The value follows from
the student's own earlier value at full precision and earns follow-through credit. The student's
numbers come from tests/hand_backprop.py (NumPy written for the tests), never from derive.
"""

from __future__ import annotations

import pytest
import yaml

from derive import pipeline
from derive.answers_loader import parse_answers
from derive.loader import parse_problem
from derive.marking import mark
from hand_backprop import first_step, problem_dict

ASKED = ("L", "delta2_1", "delta1_1", "delta1_2", "dW1_11", "dW1_12")


def marks_of(doc: dict, answers: dict[str, float]) -> dict:
    problem = parse_problem(yaml.safe_dump(doc, sort_keys=False), "problem.yaml")
    student = parse_answers(yaml.safe_dump({k: float(v) for k, v in answers.items()}), problem, "answers.yaml")
    return {m.label: m for m in mark(pipeline.solve(problem), student).marks}


def test_a_value_from_full_precision_earlier_values_gets_follow_through_credit():
    doc = problem_dict("sgd-sigmoid-hidden")
    keras = first_step({**doc, "network": {**doc["network"], "loss": "mse"}})  # full precision throughout
    x2 = doc["data"]["inputs"][0][1]
    assert keras["delta1_1"] == pytest.approx(-0.029374, abs=1e-6) and x2 == 0.9
    assert round(keras["delta1_1"] * x2, 4) == -0.0264 and round(round(keras["delta1_1"], 4) * x2, 4) == -0.0265
    written = {label: round(keras[label], 4) for label in ASKED}
    assert written == {"L": 0.2236, "delta2_1": -0.2357, "delta1_1": -0.0294, "delta1_2": 0.0342,
                       "dW1_11": -0.0147, "dW1_12": -0.0264}  # the student
    marks = marks_of(doc, written)
    assert marks["L"].status == marks["delta2_1"].status == "wrong"
    assert "squared_error_form" in marks["delta2_1"].mistakes
    for label in ("delta1_1", "delta1_2", "dW1_11", "dW1_12"):
        assert marks[label].status == "follow_through", marks[label]
    assert marks["dW1_12"].follows_from == ("delta1_1",)


def test_the_rounded_chain_still_gets_follow_through_credit():
    doc = problem_dict("sgd-sigmoid-hidden")
    rounded = first_step({**doc, "network": {**doc["network"], "loss": "mse"}}, rnd=lambda v: round(v, 4))
    marks = marks_of(doc, {label: rounded[label] for label in ASKED})
    assert rounded["dW1_12"] == -0.0265
    assert marks["dW1_12"].status == "follow_through"


def test_a_mistake_made_at_the_quantity_itself_is_not_follow_through():
    # The learning rate forgotten in new_W1_12: its earlier values are right, the update is not.
    doc = problem_dict("sgd-sigmoid-hidden")
    right = first_step(doc)
    answers = {label: round(value, 4) for label, value in right.items()}
    answers["new_W1_12"] = round(doc["parameters"]["W1"][0][1] - right["dW1_12"], 4)
    marks = marks_of(doc, answers)
    assert marks["new_W1_12"].status == "wrong" and "learning_rate_forgotten" in marks["new_W1_12"].mistakes
