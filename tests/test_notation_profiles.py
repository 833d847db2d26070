"""Notation profiles, biases held fixed and the row layout (issue 11).

Every profile gives the same numbers and shows its own symbols; `derive check` takes each
profile's names; the 2-2-2 walkthrough (numbered notation, biases held fixed) reproduces the
textbook's numbers, computed here with NumPy; a network given in row layout solves to the same
numbers as in column layout, written transposed.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from derive.answer_key import answer_key
from derive.cli import main
from derive.errors import ProblemError
from derive.loader import load_problem, parse_problem
from derive.marking import mark
from derive.moodle import quiz_xml
from derive.notation import PROFILES
from derive.pipeline import solve
from derive.quantities import StudentAnswers, answers_template, asked_quantities, expected_values
from derive.sheet import answers_tex, worksheet_tex
from golden_outputs import ROOT

TANH = ROOT / "problems" / "sgd-tanh-hidden.yaml"
NG4 = ROOT / "problems" / "ng-4layer-regularised.yaml"
WALKTHROUGH = ROOT / "problems" / "walkthrough-2-2-2.yaml"


def numbers(key: dict) -> list:
    """key.json without what a profile may name differently (the profile, the kink notes)."""
    return [{**step, "notes": None} for step in key["steps"]]


def with_profile(path, name: str):
    return dataclasses.replace(load_problem(path), notation=name)


# ---- profiles


@pytest.mark.parametrize("path", [TANH, NG4], ids=lambda p: p.stem)
def test_every_profile_gives_the_same_numbers(path):
    keys = {name: answer_key(solve(with_profile(path, name))) for name in PROFILES}
    for name, key in keys.items():
        assert numbers(key) == numbers(keys["nielsen"]), name


@pytest.mark.parametrize("name, symbols, label", [
    ("nielsen", [r"w^{(3)}_{11}", r"\delta^{(3)}"], "dW3_11"),
    ("ng", [r"\Theta^{(3)}_{11}", r"\Delta^{(l)}", r"D^{(l)}", r"h_\Theta(x)", r"\delta^{(4)}"], "D3_11"),
    ("code", [r"\mathit{dW}^{[3]}_{11}", r"\mathit{dz}^{[3]}", r"\mathit{da}_{\mathrm{prev}}"], "dW3_11"),
    ("numbered", [r"w_{23}", r"\mathit{net}_{h1}", r"\mathit{out}_{o1}", r"E_{\mathrm{total}}"], "dE_total_dw23"),
])
def test_each_profile_shows_its_own_symbols(name, symbols, label):
    verified = solve(with_profile(NG4, name))
    key = answers_tex(verified)
    for symbol in symbols:
        assert symbol in key, symbol
    assert label in [q.label for q in asked_quantities(verified.problem)]
    assert label in answers_template(verified.problem)


def test_the_distinctive_symbols_of_the_2_2_2_profiles():
    problem = load_problem(WALKTHROUGH)
    keys = {name: answers_tex(solve(dataclasses.replace(problem, notation=name))) for name in PROFILES}
    assert r"\frac{\partial E_{\mathrm{total}}}{\partial w_{5}} = \frac{\partial E_{\mathrm{total}}}" \
        r"{\partial \mathit{out}_{o1}} \cdot \frac{\partial \mathit{out}_{o1}}{\partial \mathit{net}_{o1}} \cdot " \
        r"\frac{\partial \mathit{net}_{o1}}{\partial w_{5}}" in keys["numbered"]
    assert r"\Theta" in keys["ng"] and r"\Delta" in keys["ng"]
    assert r"\mathit{dW}" in keys["code"]
    assert r"\Theta" not in keys["nielsen"] and r"\mathit{dW}" not in keys["nielsen"]


def test_code_profile_writes_the_bce_da_before_it_simplifies():
    key = answers_tex(solve(with_profile(ROOT / "problems" / "bce-relu-epochs.yaml", "code")))
    assert r"\mathit{da} = \frac{\hat y - y}{\hat y (1 - \hat y)}" in key


@pytest.mark.parametrize("name", list(PROFILES))
def test_check_accepts_each_profiles_names(tmp_path, name):
    problem = with_profile(NG4, name)
    verified = solve(problem)
    expected = expected_values(verified)
    answers = {q.label: round(expected[q.name], problem.answers.decimals) for q in asked_quantities(problem)}
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    result = CliRunner().invoke(main, ["check", str(NG4), str(path), "--notation", name, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["all_correct"]
    # the quiz labels the fields in the profile's notation too
    assert (r"\Theta" in quiz_xml([(1, verified)], "t")) == (name == "ng")


def test_a_name_of_another_profile_is_refused(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("D1_11: 0.1\n")
    result = CliRunner().invoke(main, ["check", str(NG4), str(path)])
    assert result.exit_code == 2 and "D1_11" in result.output


def test_an_unknown_profile_gets_a_suggestion():
    text = TANH.read_text() + "notation: numbred\n"
    with pytest.raises(ProblemError) as error:
        parse_problem(text, "p.yaml")
    assert "notation" in str(error.value) and "did you mean 'numbered'" in str(error.value)
    result = CliRunner().invoke(main, ["solve", str(TANH), "--notation", "numbred"])
    assert result.exit_code == 2


def test_solve_and_sheet_take_the_notation_option(tmp_path):
    result = CliRunner().invoke(main, ["solve", str(TANH), "--notation", "numbered"])
    assert result.exit_code == 0 and "dE_total/dw5" in result.output
    result = CliRunner().invoke(main, ["sheet", str(TANH), "--notation", "ng", "--tex-only", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert r"\Theta^{(1)}" in (tmp_path / "worksheet.tex").read_text()


# ---- the walkthrough: numbered notation, biases held fixed


def walkthrough_by_hand():
    """The 2-2-2 walkthrough's step in NumPy: weights updated, biases held fixed."""
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    x, target = np.array([0.05, 0.10]), np.array([0.01, 0.99])
    W1, W2 = np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([[0.40, 0.45], [0.50, 0.55]])
    b1, b2 = 0.35, 0.60

    def run(W1, W2):
        h = sigmoid(W1 @ x + b1)
        o = sigmoid(W2 @ h + b2)
        return h, o, float(0.5 * ((target - o) ** 2).sum())

    h, o, error = run(W1, W2)
    delta_o = (o - target) * o * (1 - o)
    delta_h = (W2.T @ delta_o) * h * (1 - h)  # with the weights before the update
    new_W1, new_W2 = W1 - 0.5 * np.outer(delta_h, x), W2 - 0.5 * np.outer(delta_o, h)
    return error, new_W1, new_W2, run(new_W1, new_W2)[2]


def test_the_walkthrough_reproduces_the_textbook():
    verified = solve(load_problem(WALKTHROUGH))
    step = answer_key(verified)["steps"][0]
    error, new_W1, new_W2, error_after = walkthrough_by_hand()
    assert step["loss"] == pytest.approx(0.298371109, abs=1e-9)
    assert step["loss"] == pytest.approx(error, abs=1e-15)
    assert step["layers"][1]["W"][0][0] == pytest.approx(0.35891648, abs=1e-8)  # w5'
    assert step["layers"][0]["W"][0][0] == pytest.approx(0.149780716, abs=1e-9)  # w1'
    assert step["layers"][0]["W"][1][1] == pytest.approx(0.29950229, abs=1e-8)  # w4'
    assert np.allclose(step["layers"][0]["W"], new_W1, atol=1e-15) and np.allclose(step["layers"][1]["W"], new_W2, atol=1e-15)
    assert step["loss_after"] == pytest.approx(0.2910277737, abs=1e-10)
    assert step["loss_after"] == pytest.approx(error_after, abs=1e-15)


def test_biases_held_fixed_are_neither_updated_nor_asked():
    verified = solve(load_problem(WALKTHROUGH))
    key = answer_key(verified)
    assert key["training"]["update"] == "weights" and key["notation"] == "numbered"
    layers = key["steps"][0]["layers"]
    assert [layer["b"] for layer in layers] == [[0.35, 0.35], [0.6, 0.6]]
    assert all(layer["grad_b"] is None for layer in layers)
    asked = asked_quantities(verified.problem)
    assert not [q for q in asked if q.name.kind in ("db", "b")]
    assert "new_w5" in [q.label for q in asked] and "b1" not in answers_template(verified.problem).split(":")
    assert "held fixed" in worksheet_tex(verified)


def test_marking_with_biases_held_fixed():
    """The mistake engine (recompute.py) keeps the biases: the textbook's own answers are right."""
    problem = load_problem(WALKTHROUGH)
    verified = solve(problem)
    error, new_W1, new_W2, error_after = walkthrough_by_hand()
    labels = {"E_total": error, "new_w1": new_W1[0, 0], "new_w5": new_W2[0, 0], "E_total_after": error_after}
    answers = StudentAnswers("hand", tuple((q.name, round(labels[q.label], 9)) for q in asked_quantities(problem)
                                           if q.label in labels))
    marking = mark(verified, answers)
    assert [m.status for m in marking.marks if m.label in labels] == ["correct"] * 4


def test_the_walkthroughs_printed_loss_after_is_a_named_mistake():
    """0.291027924, printed in the walkthrough, is the loss after the update when the hidden
    deltas use the already-updated output weights."""
    problem = load_problem(WALKTHROUGH)
    name = next(q.name for q in asked_quantities(problem) if q.label == "E_total_after")
    marking = mark(solve(problem), StudentAnswers("walkthrough", ((name, 0.291027924),)))
    (given,) = [m for m in marking.marks if m.label == "E_total_after"]
    assert given.status == "wrong" and "updated_weights_in_delta" in given.mistakes


def test_update_must_be_a_known_choice():
    text = TANH.read_text().replace("  learning_rate: 0.5\n", "  learning_rate: 0.5\n  update: weight\n")
    with pytest.raises(ProblemError) as error:
        parse_problem(text, "p.yaml")
    assert "training.update" in str(error.value) and "did you mean 'weights'" in str(error.value)


# ---- row layout


def as_row_layout(text: str) -> str:
    """The problem file with every W^l transposed and `layout: row`."""
    document = yaml.safe_load(text)
    for key, value in document["parameters"].items():
        if key.startswith("W"):
            document["parameters"][key] = [list(column) for column in zip(*value)]
    document["layout"] = "row"
    return yaml.safe_dump(document, sort_keys=False)


@pytest.mark.parametrize("path", [TANH, NG4], ids=lambda p: p.stem)
def test_row_layout_solves_to_the_same_numbers_transposed(path):
    text = path.read_text()
    column, row = (solve(parse_problem(t, path.name)) for t in (text, as_row_layout(text)))
    column_key, row_key = answer_key(column), answer_key(row)
    assert row_key["layout"] == "row" and "layout" not in column_key
    for c_step, r_step in zip(column_key["steps"], row_key["steps"], strict=True):
        assert r_step["loss"] == c_step["loss"] and r_step["loss_after"] == c_step["loss_after"]
        for c_layer, r_layer in zip(c_step["layers"], r_step["layers"], strict=True):
            for field in ("z", "a", "delta", "grad_b", "b"):
                assert r_layer[field] == c_layer[field]
            for field in ("W", "grad_W"):
                assert r_layer[field] == np.array(c_layer[field]).T.tolist()
    # names follow the layout: dW1_12 of the row file is dW1_21 (row 2, column 1) of the column file
    by_label = lambda verified: {q.label: expected_values(verified)[q.name] for q in asked_quantities(verified.problem)}  # noqa: E731
    c_values, r_values = by_label(column), by_label(row)
    assert r_values["dW1_12"] == c_values["dW1_21"] and r_values["new_W2_11"] == c_values["new_W2_11"]


def test_row_layout_sheet_shows_the_matrices_as_the_file_gives_them():
    text = TANH.read_text()
    sheet = worksheet_tex(solve(parse_problem(as_row_layout(text), "row.yaml")))
    W1 = yaml.safe_load(text)["parameters"]["W1"]  # (neurons, inputs): the row sheet shows its transpose
    assert r"W^{(1)} = \begin{pmatrix}" in sheet
    assert rf"W^{{(1)}} = \begin{{pmatrix}} {W1[0][0]:g} & {W1[1][0]:g} \\ {W1[0][1]:g} & {W1[1][1]:g}" in sheet
    assert r"b^{(1)} = \begin{pmatrix} 0.1 & -0.1 \end{pmatrix}" in sheet  # a row vector
    key = answers_tex(solve(parse_problem(as_row_layout(text), "row.yaml")))
    assert r"\frac{\partial J}{\partial W} = \tfrac{1}{m} A_{\mathrm{prev}}^T \Delta" in key


def test_row_layout_checks_the_shape_it_expects():
    text = TANH.read_text().replace("network:", "layout: row\nnetwork:", 1)
    document = yaml.safe_load(TANH.read_text())
    if len(document["parameters"]["W2"]) == len(document["parameters"]["W2"][0]):
        pytest.skip("a square W2 fits both layouts")
    with pytest.raises(ProblemError) as error:
        parse_problem(text, "p.yaml")
    assert "parameters.W" in str(error.value)


def test_exam_variants_with_biases_held_fixed():
    """Equal held-fixed biases (0.35, 0.35) are not answers, so they never make a draw fail."""
    from derive.randomise import make_variant
    text = WALKTHROUGH.read_text() + (
        "randomisation:\n  parameters:\n    weights: {min: 0.1, max: 0.6, step: 0.05}\n"
        "  constraints: {distinct_answers: true}\n")
    variant = make_variant(parse_problem(text, "w.yaml"), 2026, 1)
    step = answer_key(solve(variant))["steps"][0]
    assert [layer["b"] for layer in step["layers"]] == [list(b) for b in variant.biases]
    assert variant.notation == "numbered" and not variant.updates_biases
