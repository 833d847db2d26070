"""Marking: follow-through on a chain with one early slip, no credit from stock values, the
tolerance rules, and hypothesis properties on random problems.

Student answers are computed by tests/hand_backprop.py (NumPy written for the tests) from the
problem's own numbers, the slip made by hand; never taken from derive's output.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from decimal import ROUND_HALF_UP, Decimal
import warnings

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import derivation, pipeline
from derive.answers_loader import parse_answers
from derive.errors import ProblemError
from derive.loader import parse_problem
from derive.marking import mark, matches, tolerance
from derive.spec import Answers
from derive.worked import substitute
from hand_backprop import first_step, problem_dict

SIGMOID = problem_dict("sgd-sigmoid-hidden")


@functools.lru_cache(maxsize=None)
def _derive_once(network):
    return derivation.derive(network)


@pytest.fixture(autouse=True, scope="module")
def _memoised_derivation():
    """The derivation depends on the network only; random problems repeat networks."""
    patch = pytest.MonkeyPatch()
    patch.setattr(pipeline, "derive", _derive_once)
    yield
    patch.undo()


def marking_of(doc: dict, answers: dict[str, float]):
    problem = parse_problem(yaml.safe_dump(doc, sort_keys=False), "problem.yaml")
    student = parse_answers(yaml.safe_dump({k: float(v) for k, v in answers.items()}), problem, "answers.yaml")
    return mark(pipeline.solve(problem), student)


def by_label(marking) -> dict:
    return {m.label: m for m in marking.marks}


def four(v: float) -> float:
    return round(v, 4)


# --------------------------------------------------------------------------------------------
# follow-through
# --------------------------------------------------------------------------------------------


def test_one_early_slip_is_counted_once():
    # z1_1 = 0.2*0.5 - 0.1*0.9 + 0.1 = 0.11; the student writes 0.71 and carries it forward.
    answers = first_step(SIGMOID, rnd=four, fprime_form="a", slips={"z1_1": 0.71})
    assert answers["z1_1"] == 0.71 and answers["a1_1"] == four(1 / (1 + math.exp(-0.71)))
    marking = marking_of(SIGMOID, answers)
    marks = by_label(marking)
    assert marks["z1_1"].status == "wrong" and "not explained" in marks["z1_1"].reason
    assert marks["a1_1"].status == "follow_through" and marks["a1_1"].follows_from == ("z1_1",)
    assert marks["z2_1"].follows_from == ("a1_1",)
    for label in ("z2_1", "a2_1", "L", "delta2_1", "delta1_1", "dW1_11", "new_W1_11", "new_b2_1"):
        assert marks[label].status == "follow_through", marks[label]
        assert marks[label].reason.startswith("follows from your earlier value of")
    for label in ("z1_2", "a1_2"):
        assert marks[label].status == "correct"
    assert marking.count("wrong") == 1
    assert marking.score == marking.total - 1
    assert not marking.all_correct


def test_a_later_independent_slip_is_marked_on_its_own():
    answers = first_step(SIGMOID, rnd=four, slips={"z1_1": 0.71, "dW2_12": -0.5})
    marks = by_label(marking_of(SIGMOID, answers))
    assert marks["dW2_12"].status == "wrong"
    assert marks["new_W2_12"].status == "follow_through" and marks["new_W2_12"].follows_from == ("dW2_12",)
    assert [m for m in marks.values() if m.status == "wrong"] == [marks["z1_1"], marks["dW2_12"]]


@pytest.mark.parametrize(("slip", "why"), [
    ({"a1_1": 1.0}, "a1_1 = 1 is a stock value (1)"),
    ({"a1_1": 0.0}, "a1_1 = 0 is a stock value (0)"),
    ({"z1_1": 0.9}, "z1_1 = 0.9 is a number copied from the sheet (x_2 = 0.9)"),
    ({"z1_2": -0.6}, "z1_2 = -0.6 is a number copied from the sheet (w2_12 = -0.6)"),
])
def test_no_follow_through_credit_from_a_stock_value(slip, why):
    answers = first_step(SIGMOID, rnd=four, slips=slip)
    marking = marking_of(SIGMOID, answers)
    marks = by_label(marking)
    (label,) = slip
    downstream = "a1_1" if label == "z1_1" else "a1_2" if label == "z1_2" else "z2_1"
    assert marks[downstream].status == "wrong"
    assert why in marks[downstream].reason and "no follow-through credit" in marks[downstream].reason
    # The taint reaches everything computed from it, not just the next value.
    for later in ("a2_1", "L", "delta2_1", "L_after"):
        assert marks[later].status == "wrong" and why in marks[later].reason, marks[later]
    assert marking.count("follow_through") == 0


def test_a_wrong_value_equal_to_nothing_given_keeps_its_credit():
    answers = first_step(SIGMOID, rnd=four, slips={"a1_1": 0.6123})
    marks = by_label(marking_of(SIGMOID, answers))
    assert marks["z2_1"].status == "follow_through"


def test_unanswered_quantities_are_reported_not_fatal():
    answers = {k: v for k, v in first_step(SIGMOID, rnd=four).items() if not k.startswith("delta")}
    marking = marking_of(SIGMOID, answers)
    marks = by_label(marking)
    assert [m.label for m in marking.marks if m.status == "unanswered"] == ["delta2_1", "delta1_1", "delta1_2"]
    assert marks["delta2_1"].reason == "not answered" and marks["delta2_1"].credit == 0
    assert marks["dW2_11"].status == "correct"
    assert marking.score == marking.total - 3


def test_rounded_values_carried_forward_are_right():
    # The student rounds every value to 4 decimals and computes on from the rounded ones.
    answers = first_step(SIGMOID, rnd=four, fprime_form="a")
    exact = first_step(SIGMOID)
    drifted = [k for k in answers if abs(answers[k] - exact[k]) > 0.5e-4]
    marking = marking_of(SIGMOID, answers)
    assert marking.all_correct, [m for m in marking.marks if m.status != "correct"]
    reasons = {m.label: m.reason for m in marking.marks}
    assert all(reasons[k] == "right from your own rounded earlier values" for k in drifted)


def test_marking_needs_a_verified_solution():
    problem = parse_problem(yaml.safe_dump(SIGMOID), "p.yaml")
    unverified = substitute(problem, derivation.derive(problem.network))
    with pytest.raises(TypeError):
        mark(unverified, parse_answers("{}", problem))


def test_a_marking_cannot_change():
    marking = marking_of(SIGMOID, {"z1_1": 0.11})
    with pytest.raises(dataclasses.FrozenInstanceError):
        marking.marks[0].status = "correct"  # type: ignore[misc]
    assert isinstance(marking.marks, tuple)


# --------------------------------------------------------------------------------------------
# tolerance rules
# --------------------------------------------------------------------------------------------


def test_tolerance_rules():
    assert tolerance(Answers(decimals=4), 0.123) == pytest.approx(0.5e-4)
    assert tolerance(Answers(decimals=2), -7.0) == pytest.approx(0.005)
    assert tolerance(Answers(significant_figures=3), 0.012345) == pytest.approx(0.5e-4)
    assert tolerance(Answers(significant_figures=3), 123.4) == pytest.approx(0.5)
    assert tolerance(Answers(relative_tolerance=0.01), -2.0) == pytest.approx(0.02)
    rule = Answers(decimals=4)
    assert matches(rule, 0.1235, 0.12345) and matches(rule, 0.1234, 0.12345)
    assert not matches(rule, 0.1236, 0.12345)
    assert not matches(rule, 0.1, float("nan"))
    assert matches(Answers(significant_figures=2), 0.0012, 0.001234)
    assert not matches(Answers(significant_figures=3), 0.0012, 0.001234)


def with_answers(**answers) -> str:
    doc = dict(SIGMOID)
    doc["answers"] = {"decimals": 4, **answers}
    return yaml.safe_dump(doc, sort_keys=False)


def test_problem_files_may_ask_for_significant_figures_or_a_relative_tolerance():
    assert parse_problem(with_answers(significant_figures=3)).answers.significant_figures == 3
    assert parse_problem(with_answers(relative_tolerance=0.01)).answers.relative_tolerance == 0.01
    with pytest.raises(ProblemError, match="answers: give either significant_figures or relative_tolerance"):
        parse_problem(with_answers(significant_figures=3, relative_tolerance=0.01))
    with pytest.raises(ProblemError, match="answers.significant_figures"):
        parse_problem(with_answers(significant_figures=0))
    with pytest.raises(ProblemError, match="answers.relative_tolerance"):
        parse_problem(with_answers(relative_tolerance=2))


def test_significant_figures_mark_small_values_by_their_own_size():
    doc = {**SIGMOID, "answers": {"significant_figures": 3}}
    exact = first_step(doc)
    three = {k: float(f"{v:.3g}") for k, v in exact.items()}
    assert by_label(marking_of(doc, three))["dW1_11"].status == "correct"
    # -0.00734 to 4 decimals would be -0.0073: not enough figures for this sheet.
    assert by_label(marking_of(doc, {**three, "dW1_11": -0.0073}))["dW1_11"].status == "wrong"


# --------------------------------------------------------------------------------------------
# properties on random problems
# --------------------------------------------------------------------------------------------

HIDDEN = ("sigmoid", "tanh", "relu", "identity")
OUTPUT_AND_LOSS = (("sigmoid", "half_mse"), ("sigmoid", "mse"), ("sigmoid", "bce"), ("identity", "half_mse"),
                   ("tanh", "half_mse"), ("softmax", "cross_entropy"))
RULES = st.one_of(
    st.integers(2, 4).map(lambda d: {"decimals": d}),
    st.integers(3, 4).map(lambda n: {"significant_figures": n}),
    st.sampled_from((0.01, 0.001)).map(lambda r: {"relative_tolerance": r}),
)
tenths = st.integers(-10, 10).map(lambda k: k / 10)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw) -> dict:
    """A random small one-step problem as a problem-file document."""
    hidden = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
    activations = [draw(st.sampled_from(HIDDEN if len(hidden) == 1 else HIDDEN[:2] + HIDDEN[3:])) for _ in hidden]
    out, loss = draw(st.sampled_from(OUTPUT_AND_LOSS))
    n_in, n_out = draw(st.integers(1, 3)), draw(st.integers(2 if out == "softmax" else 1, 2))
    layers = [n_in, *hidden, n_out]
    m = draw(st.integers(1, 3))

    def matrix(rows, cols, values=tenths):
        return [draw(st.lists(values, min_size=cols, max_size=cols)) for _ in range(rows)]

    if loss == "cross_entropy":
        targets = [[1.0 if k == c else 0.0 for k in range(n_out)] for c in draw(st.lists(st.integers(0, n_out - 1), min_size=m, max_size=m))]
    else:
        targets = matrix(m, n_out, st.integers(0, 10).map(lambda k: k / 10) if loss == "bce" else tenths)
    parameters = {}
    for l in range(1, len(layers)):
        parameters[f"W{l}"] = matrix(layers[l], layers[l - 1])
        parameters[f"b{l}"] = matrix(1, layers[l])[0]
    return {
        "title": "random",
        "network": {"layers": layers, "activations": [*activations, out], "loss": loss, "bias": True},
        "parameters": parameters,
        "data": {"inputs": matrix(m, n_in), "targets": targets},
        "training": {"learning_rate": draw(st.sampled_from((0.1, 0.5, 1.0))), "steps": 1, "batch": "full",
                     "l2": draw(st.sampled_from((0.0, 0.5)))},
        "answers": draw(RULES),
    }


def student_rounding(rule: dict):
    """How a student rounds on paper: half away from zero, on the number as written (Python's
    round() breaks ties to even on the binary float, which no student does)."""
    def half_up(v, figures=None, decimals=None):
        written = Decimal(f"{float(v):.12g}")
        if written == 0:
            return 0.0
        place = -decimals if figures is None else written.adjusted() - figures + 1
        return float(written.quantize(Decimal(1).scaleb(place), rounding=ROUND_HALF_UP))

    if "decimals" in rule:
        return lambda v: half_up(v, decimals=rule["decimals"])
    if "significant_figures" in rule:
        return lambda v: half_up(v, figures=rule["significant_figures"])
    # Under a relative tolerance a student gives enough significant figures: 3 for 1%, 4 for 0.1%.
    figures = 3 if rule["relative_tolerance"] == 0.01 else 4
    return lambda v: half_up(v, figures=figures)


def allowed(rule: dict, exact: float) -> float:
    """The tolerance, written out here from the rule's definition."""
    if "decimals" in rule:
        return 0.5 * 10.0 ** -rule["decimals"]
    if "significant_figures" in rule:
        return 0.5 * 10.0 ** (math.floor(math.log10(abs(exact))) - rule["significant_figures"] + 1) if exact else 1e-9
    return max(rule["relative_tolerance"] * abs(exact), 1e-12)  # an exact 0 must be given as 0


def not_right(marking) -> list:
    return [(m.label, m.given, m.expected, m.reason) for m in marking.marks if m.status != "correct"]


@SETTINGS
@given(problems())
def test_exact_answers_rounded_as_instructed_always_pass(doc):
    rnd = student_rounding(doc["answers"])
    answers = {k: rnd(v) for k, v in first_step(doc).items()}
    marking = marking_of(doc, answers)
    assert not_right(marking) == []
    assert marking.score == marking.total


@SETTINGS
@given(problems(), st.sampled_from(("z", "a")))
def test_a_chain_computed_with_rounded_intermediates_passes(doc, fprime_form):
    answers = first_step(doc, rnd=student_rounding(doc["answers"]), fprime_form=fprime_form)
    assert not_right(marking_of(doc, answers)) == []


@SETTINGS
@given(problems(), st.data())
def test_a_value_off_by_more_than_the_tolerance_fails(doc, data):
    exact = first_step(doc)
    # The loss after the update is left out: it may also be worked with rounded unasked values.
    label = data.draw(st.sampled_from(sorted(k for k in exact if not k.endswith("_after"))))
    factor = data.draw(st.floats(1.5, 50)) * data.draw(st.sampled_from((-1, 1)))
    answers = {**exact, label: exact[label] + factor * allowed(doc["answers"], exact[label])}
    mark_ = by_label(marking_of(doc, answers))[label]
    assert mark_.status == "wrong", mark_


@SETTINGS
@given(problems(), st.data())
def test_any_answers_are_marked_without_crashing(doc, data):
    exact = first_step(doc)
    wild = st.one_of(st.sampled_from((0.0, 1.0, -1.0, 1e300, -1e300, 1e-300)), st.floats(-1e6, 1e6))
    answers = {label: data.draw(st.one_of(st.just(value), wild), label=label)
               for label, value in exact.items() if data.draw(st.booleans())}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy overflow warning reaches the user
        marking = marking_of(doc, answers)
    assert {m.status for m in marking.marks} <= {"correct", "follow_through", "wrong", "unanswered"}
    assert marking.count("unanswered") == marking.total - len(answers)
    assert 0 <= marking.score <= marking.total
    for m in marking.marks:
        assert m.credit == (1.0 if m.status in ("correct", "follow_through") else 0.0)
        assert (m.status == "wrong") == (m.reason != "" and m.credit == 0 and m.given is not None)


def test_a_stock_value_that_follows_from_a_slip_still_earns_nothing_downstream():
    relu = problem_dict("sgd-relu-hidden")
    answers = first_step(relu, rnd=four, slips={"z1_1": -0.11})  # a sign slip: ReLU(-0.11) = 0
    marks = by_label(marking_of(relu, answers))
    assert answers["a1_1"] == 0.0
    assert marks["a1_1"].status == "follow_through"
    assert marks["z2_1"].status == "wrong"
    assert "a1_1 = 0 is a stock value (0): no follow-through credit" in marks["z2_1"].reason
