"""Each catalogue mistake, made on purpose in NumPy on a shipped problem's numbers, is named.

The right values come from tests/hand_backprop.py (NumPy written for the tests); each test
then makes one mistake by hand, writes the answers a student would (rounded to the sheet's 4
decimals, right everywhere before the mistake) and checks that the marking names it.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import yaml

from derive.answers_loader import parse_answers
from derive.loader import parse_problem
from derive.marking import mark
from derive.mistakes import MISTAKES
from derive.pipeline import solve
from hand_backprop import PROBLEMS, first_step, problem_dict, sigmoid


@functools.lru_cache(maxsize=None)
def verified(text: str):
    return solve(parse_problem(text, "problem.yaml"))


def marks_for(doc: dict, answers: dict[str, float]) -> dict:
    """The marking of ``answers`` (label -> value) for the problem ``doc``, by label."""
    text = yaml.safe_dump(doc, sort_keys=False)
    problem = parse_problem(text, "problem.yaml")
    student = parse_answers(yaml.safe_dump({k: float(v) for k, v in answers.items()}), problem, "answers.yaml")
    return {m.label: m for m in mark(verified(text), student).marks}


def rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in values.items()}


def upstream(values: dict[str, float], *labels: str) -> dict[str, float]:
    return {k: round(values[k], 4) for k in labels}


def assert_named(mark, mistake_id: str) -> None:
    assert mark.status == "wrong", mark
    assert mark.mistakes and mark.mistakes[0] == mistake_id, mark
    assert MISTAKES[mistake_id].explanation in mark.reason


SIGMOID = problem_dict("sgd-sigmoid-hidden")
TANH = problem_dict("sgd-tanh-hidden")
FORWARD = ("z1_1", "z1_2", "a1_1", "a1_2", "z2_1", "a2_1")


def test_the_catalogue_has_an_entry_per_mistake_in_the_brief():
    assert set(MISTAKES) == {
        "derivative_forgotten", "derivative_at_a", "update_sign_flipped", "squared_error_form",
        "updated_weights_in_delta", "bias_not_updated", "bias_times_input", "wrong_weight_in_delta",
        "learning_rate_forgotten", "relu_kink_one", "loss_reduction",
    }


def test_derivative_forgotten_in_the_hidden_delta():
    right = first_step(SIGMOID)
    delta2 = right["delta2_1"]
    # delta1_j = w2_1j delta2_1, without sigma'(z1_j): 0.5 * delta2 and -0.6 * delta2.
    answers = {**upstream(right, *FORWARD, "delta2_1"),
               "delta1_1": round(0.5 * delta2, 4), "delta1_2": round(-0.6 * delta2, 4)}
    marks = marks_for(SIGMOID, answers)
    assert_named(marks["delta1_1"], "derivative_forgotten")
    assert_named(marks["delta1_2"], "derivative_forgotten")


def test_derivative_forgotten_in_the_output_delta():
    right = first_step(SIGMOID)
    marks = marks_for(SIGMOID, {**upstream(right, *FORWARD), "delta2_1": round(right["a2_1"] - 1.0, 4)})
    assert_named(marks["delta2_1"], "derivative_forgotten")


def test_sigmoid_prime_evaluated_at_a():
    right = first_step(SIGMOID)
    a1 = np.array([right["a1_1"], right["a1_2"]])
    wrong = np.array([0.5, -0.6]) * right["delta2_1"] * sigmoid(a1) * (1 - sigmoid(a1))
    answers = {**upstream(right, *FORWARD, "delta2_1"), "delta1_1": round(wrong[0], 4), "delta1_2": round(wrong[1], 4)}
    marks = marks_for(SIGMOID, answers)
    assert_named(marks["delta1_1"], "derivative_at_a")
    assert_named(marks["delta1_2"], "derivative_at_a")


def test_tanh_prime_applied_twice():
    right = first_step(TANH)
    z1 = np.array([0.11, 0.37])  # 0.2*0.5 - 0.1*0.9 + 0.1, 0.4*0.5 + 0.3*0.9 - 0.1
    wrong = np.array([0.5, -0.6]) * right["delta2_1"] * (1 - np.tanh(np.tanh(z1)) ** 2)
    answers = {**upstream(right, *FORWARD, "delta2_1"), "delta1_1": round(wrong[0], 4), "delta1_2": round(wrong[1], 4)}
    marks = marks_for(TANH, answers)
    assert_named(marks["delta1_2"], "derivative_at_a")


def test_update_sign_flipped():
    right = first_step(SIGMOID)
    answers = {**upstream(right, "dW2_11", "dW2_12"),
               "new_W2_11": round(0.5 + 0.5 * right["dW2_11"], 4), "W2_12'": round(-0.6 + 0.5 * right["dW2_12"], 4)}
    marks = marks_for(SIGMOID, answers)
    assert_named(marks["new_W2_11"], "update_sign_flipped")
    assert_named(marks["new_W2_12"], "update_sign_flipped")


def test_keras_mse_where_half_mse_was_asked():
    right = first_step(SIGMOID)
    a2 = right["a2_1"]
    answers = {**upstream(right, *FORWARD), "L": round((1.0 - a2) ** 2, 4), "delta2_1": round(2 * (a2 - 1.0) * a2 * (1 - a2), 4)}
    marks = marks_for(SIGMOID, answers)
    assert_named(marks["L"], "squared_error_form")
    assert_named(marks["delta2_1"], "squared_error_form")


def test_half_mse_where_keras_mse_was_asked():
    keras = problem_dict("sgd-keras-mse")
    right = first_step(keras)
    a2 = right["a2_1"]
    answers = {**upstream(right, *FORWARD), "L": round(0.5 * (1.0 - a2) ** 2, 4), "delta2_1": round((a2 - 1.0) * a2 * (1 - a2), 4)}
    marks = marks_for(keras, answers)
    assert_named(marks["L"], "squared_error_form")
    assert_named(marks["delta2_1"], "squared_error_form")


def test_hidden_delta_with_the_updated_output_weights():
    right = first_step(SIGMOID)
    new_W2 = np.array([0.5, -0.6]) - 0.5 * np.array([right["dW2_11"], right["dW2_12"]])
    a1 = np.array([right["a1_1"], right["a1_2"]])
    wrong = new_W2 * right["delta2_1"] * a1 * (1 - a1)
    answers = {**upstream(right, *FORWARD, "delta2_1", "dW2_11", "dW2_12", "new_W2_11", "new_W2_12"),
               "delta1_1": round(wrong[0], 4), "delta1_2": round(wrong[1], 4)}
    marks = marks_for(SIGMOID, answers)
    assert_named(marks["delta1_1"], "updated_weights_in_delta")
    assert_named(marks["delta1_2"], "updated_weights_in_delta")


def test_bias_not_updated():
    right = first_step(SIGMOID)
    marks = marks_for(SIGMOID, {**upstream(right, "db2_1", "db1_1"), "new_b2_1": 0.2, "b1_1'": 0.1})
    assert_named(marks["new_b2_1"], "bias_not_updated")
    assert_named(marks["new_b1_1"], "bias_not_updated")


def test_bias_gradient_multiplied_by_an_input():
    right = first_step(SIGMOID)
    # db1_1 taken as delta1_1 * x_2 (x = [0.5, 0.9]); the update then uses it.
    wrong = right["delta1_1"] * 0.9
    marks = marks_for(SIGMOID, {**upstream(right, *FORWARD, "delta2_1", "delta1_1", "delta1_2"), "db1_1": round(wrong, 4),
                                "new_b1_2": round(-0.1 - 0.5 * right["delta1_2"] * 0.5, 4)})
    assert_named(marks["db1_1"], "bias_times_input")
    assert_named(marks["new_b1_2"], "bias_times_input")


def test_wrong_weight_in_the_hidden_delta_of_a_one_output_network():
    right = first_step(SIGMOID)
    a1 = np.array([right["a1_1"], right["a1_2"]])
    wrong = np.array([-0.6, 0.5]) * right["delta2_1"] * a1 * (1 - a1)  # each neuron takes the other's weight
    answers = {**upstream(right, *FORWARD, "delta2_1"), "delta1_1": round(wrong[0], 4), "delta1_2": round(wrong[1], 4)}
    marks = marks_for(SIGMOID, answers)
    assert_named(marks["delta1_1"], "wrong_weight_in_delta")


def test_W_instead_of_W_transpose_with_a_square_matrix():
    doc = problem_dict("relu-2-3-3-1-batch")
    right = first_step(doc)
    W2 = np.array(doc["parameters"]["W2"])
    delta2 = np.array([[round(right[f"delta2_{k}[{i}]"], 4) for k in (1, 2, 3)] for i in (1, 2, 3)])
    z1 = np.array([[right[f"z1_{k}[{i}]"] for k in (1, 2, 3)] for i in (1, 2, 3)])
    wrong = (delta2 @ W2.T) * (z1 > 0)  # correct is delta2 @ W2
    keep = [k for k in right if k[0] in "za" or k.startswith(("delta2", "delta3"))]
    answers = {**upstream(right, *keep), **{f"delta1_{j + 1}[{i + 1}]": round(wrong[i, j], 4) for i in range(3) for j in range(3)}}
    marks = marks_for(doc, answers)
    assert_named(marks["delta1_1[1]"], "wrong_weight_in_delta")
    assert_named(marks["delta1_3[2]"], "wrong_weight_in_delta")


def test_learning_rate_not_applied():
    right = first_step(SIGMOID)
    marks = marks_for(SIGMOID, {**upstream(right, "dW1_12"), "new_W1_12": round(-0.1 - right["dW1_12"], 4)})
    assert_named(marks["new_W1_12"], "learning_rate_forgotten")


def test_relu_prime_at_zero_taken_as_one():
    doc = problem_dict("sgd-relu-hidden")
    doc["data"]["inputs"] = [[0.5, 1.0]]  # z1_1 = 0.2*0.5 - 0.1*1.0 + 0 = 0 exactly
    doc["parameters"]["b1"] = [0.0, -0.1]
    right = first_step(doc)
    assert right["z1_1"] == 0.0 and right["delta1_1"] == 0.0
    wrong = 0.5 * right["delta2_1"] * 1.0
    marks = marks_for(doc, {**upstream(right, *FORWARD, "delta2_1"), "delta1_1": round(wrong, 4)})
    assert_named(marks["delta1_1"], "relu_kink_one")


def test_batch_losses_and_gradients_summed_instead_of_averaged():
    doc = problem_dict("relu-2-3-3-1-batch")
    right = first_step(doc)
    losses = [right[f"L[{i}]"] for i in (1, 2, 3)]
    delta3 = np.array([right[f"delta3_1[{i}]"] for i in (1, 2, 3)])
    a2 = np.array([right[f"a2_1[{i}]"] for i in (1, 2, 3)])
    keep = [k for k in right if k[0] in "zaL" and k != "L_after" or k.startswith("delta")]
    answers = {**upstream(right, *keep), "J": round(sum(losses), 4), "dW3_11": round(float(delta3 @ a2), 4),
               "db3_1": round(float(delta3.sum()), 4)}
    marks = marks_for(doc, answers)
    for label in ("J", "dW3_11", "db3_1"):
        assert_named(marks[label], "loss_reduction")


def test_cross_entropy_averaged_over_the_output_neurons():
    doc = problem_dict("softmax-3class")
    right = first_step(doc)
    a = right["a2_1[1]"]  # example 1 is class 1: L = -log a_1; averaged over the 3 outputs: -log(a_1) / 3
    answers = {**upstream(right, *[k for k in right if k[0] in "za"]), "L[1]": round(-np.log(a) / 3, 4)}
    marks = marks_for(doc, answers)
    assert_named(marks["L[1]"], "loss_reduction")


def test_a_value_no_mistake_explains_is_not_guessed():
    right = first_step(SIGMOID)
    marks = marks_for(SIGMOID, {**upstream(right, *FORWARD), "delta2_1": 0.4321})
    assert marks["delta2_1"].status == "wrong"
    assert marks["delta2_1"].mistakes == ()
    assert "not explained by any common mistake" in marks["delta2_1"].reason


def test_right_answers_name_no_mistake():
    marks = marks_for(SIGMOID, rounded(first_step(SIGMOID)))
    assert {m.status for m in marks.values()} == {"correct"}
    assert all(m.mistakes == () for m in marks.values())


@pytest.mark.parametrize("name", sorted(p.stem for p in PROBLEMS.glob("*.yaml")))
def test_right_rounded_answers_pass_for_every_shipped_problem(name):
    doc = problem_dict(name)
    figures = doc.get("answers", {}).get("significant_figures")  # the walkthrough's rule
    exact = first_step(doc)
    answers = {k: float(f"{v:.{figures - 1}e}") for k, v in exact.items()} if figures else rounded(exact)
    marks = marks_for(doc, answers)  # steps 2, 3, ... (prefixed s2., s3.) left unanswered
    later = [m for m in marks.values() if m.label.startswith("s")]
    assert [m.label for m in marks.values() if m.status != "correct" and m not in later] == []
    assert {m.status for m in later} <= {"unanswered"}
