"""Moodle XML: the quiz parses, has what Moodle needs, and every field accepts the verified answer.

The expected answers are read from key.json in the sheet's order (per example z then a of every
layer, the losses L[i] and J, output then hidden deltas, gradients, updated parameters, J after
the update); the fields are read with tests/moodle_grading.py, a port of Moodle's own parser.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from derive.cli import main
from moodle_grading import grade, quiz_fields
from derive.rounding import moodle_tolerance
from derive.spec import Answers

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


@pytest.fixture(scope="module", params=["relu-2-3-3-1-batch", "sgd-sigmoid-hidden"])
def built(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("moodle")
    result = CliRunner().invoke(main, ["exam", str(PROBLEMS / f"{request.param}.yaml"), "--variants", "3",
                                       "--seed", "11", "--moodle", "--tex-only", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return (out / "quiz.xml").read_text(encoding="utf-8"), json.loads((out / "key.json").read_text())


def on_paper(value: float, places: str = "0.0001") -> float:
    """Rounded as on paper: half away from zero, on the value as written to 12 figures."""
    return float(Decimal(f"{value:.12g}").quantize(Decimal(places), rounding=ROUND_HALF_UP))


def expected(key: dict) -> list[float]:
    step = key["steps"][0]
    layers = step["layers"]
    values = []
    for r in range(len(step["batch"])):
        for layer in layers:
            values += layer["z"][r] + layer["a"][r]
    values += step["losses"] + ([step["loss"]] if len(step["batch"]) > 1 else [])
    values += [d for row in layers[-1]["delta"] for d in row]
    for r in range(len(step["batch"])):
        for layer in layers[-2::-1]:
            values += layer["delta"][r]
    for w, b in (("grad_W", "grad_b"), ("W", "b")):
        for layer in layers:
            for j, row in enumerate(layer[w]):
                values += row + [layer[b][j]]
    values.append(step["loss_after"])
    return values


def test_quiz_is_well_formed_with_one_category_and_a_cloze_per_variant(built):
    xml, key = built
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml)
    assert root.tag == "quiz"
    questions = root.findall("question")
    assert questions[0].get("type") == "category"
    assert questions[0].find("category/text").text.startswith("$course$/top/derive/")
    clozes = questions[1:]
    assert len(clozes) == len(key["variants"]) == 3
    for question, entry in zip(clozes, key["variants"]):
        assert question.get("type") == "cloze"
        assert question.find("name/text").text == entry["key"]["title"]
        assert question.find("questiontext").get("format") == "html"
        assert question.find("questiontext/text").text.strip()
        assert "verified" in question.find("generalfeedback/text").text
        for tag in ("penalty", "hidden", "idnumber", "shuffleanswers"):
            assert question.find(tag) is not None
        assert question.find("idnumber").text == f"variant-{entry['variant']}"


def test_html_is_in_cdata_and_formulas_are_mathjax(built):
    xml, _ = built
    assert xml.count("<![CDATA[") == 2 * 3  # question text and general feedback of each question
    for question in ET.fromstring(xml).findall("question[@type='cloze']"):
        text = question.find("questiontext/text").text
        assert text.count(r"\(") == text.count(r"\)") > 0
        assert "$" not in text and r"\begin{pmatrix}" in text


def test_every_field_accepts_the_verified_answer(built):
    xml, key = built
    for fields, entry in zip(quiz_fields(xml), key["variants"]):
        want = expected(entry["key"])
        assert len(fields) == len(want)
        for answers, answer in zip(fields, want):
            shown = on_paper(answer)
            assert answers[0].value == pytest.approx(shown, abs=1e-12) and answers[0].tolerance == 0  # Moodle's "correct answer"
            assert answers[1].value == answer and answers[1].tolerance == 0.0000500001  # exact, the rule's tolerance
            assert all(a.fraction == 1 and a.feedback == answers[0].feedback for a in answers)
            assert grade(shown, answers) == 1.0
            further = shown + (1e-4 if shown >= answer else -1e-4)
            assert all(abs(further - a.value) > a.tolerance for a in answers[:2])  # one unit further off is not
            assert answers[0].feedback == f"answer {answers[0].value:g}"


COUNTS = {
    # forward: 3 examples x (3 + 3 + 1) x (z and a) = 42; L[1..3] and J; deltas 3 + 18; gradients 25; updates 25; J'
    (2, 3, 3, 1): 42 + 4 + 21 + 25 + 25 + 1,
    # forward: (2 + 1) x 2 = 6; L; deltas 1 + 2; gradients 6 + 3; updates 9; L'
    (2, 2, 1): 6 + 1 + 3 + 9 + 9 + 1,
}


def test_field_count(built):
    xml, key = built
    layers = tuple(key["variants"][0]["key"]["network"]["layers"])
    assert len(quiz_fields(xml)[0]) == COUNTS[layers]


def test_tolerance_follows_the_rule():
    assert moodle_tolerance(Answers(decimals=2), 3.0) == "0.00500001"
    assert moodle_tolerance(Answers(decimals=0), 3.0) == "0.500001"
    assert moodle_tolerance(Answers(significant_figures=3), 123.4) == "0.500001"
    assert moodle_tolerance(Answers(significant_figures=3), -0.012345) == "0.0000500001"
    assert moodle_tolerance(Answers(relative_tolerance=0.01), -2.0) == "0.020000040"[:-1]


def test_check_quiz_rejects_what_moodle_would_not_import(built):
    from derive.moodle import check_quiz

    xml, key = built
    good = [len(fields) for fields in quiz_fields(xml)]
    check_quiz(xml, good)
    for broken in (xml.replace("<generalfeedback", "<feedback", 1).replace("</generalfeedback>", "</feedback>", 1),
                   xml.replace(":NUMERICAL:=", ":NUMERICAL:", 1),
                   xml.replace("</quiz>", "")):
        with pytest.raises((ValueError, ET.ParseError)):
            check_quiz(broken, good)
