"""Moodle XML: the quiz parses, has what Moodle needs, and every field accepts the verified answer.

The expected answers are read from key.json in the documented field order (per layer z then a
per example, J, output then hidden deltas, gradients, updated parameters, J after the update).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from derive.cli import main
from derive.rounding import moodle_tolerance
from derive.spec import Answers

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
FIELD = re.compile(r"\{1:NUMERICAL:=([^:}]+):([^#}]+)#([^}]*)\}")


@pytest.fixture(scope="module", params=["relu-2-3-3-1-batch", "sgd-sigmoid-hidden"])
def built(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("moodle")
    result = CliRunner().invoke(main, ["exam", str(PROBLEMS / f"{request.param}.yaml"), "--variants", "3",
                                       "--seed", "11", "--moodle", "--tex-only", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return (out / "quiz.xml").read_text(encoding="utf-8"), json.loads((out / "key.json").read_text())


def expected(key: dict) -> list[float]:
    step = key["steps"][0]
    layers = step["layers"]
    values = []
    for layer in layers:
        for z_row, a_row in zip(layer["z"], layer["a"]):
            values += z_row + a_row
    values.append(step["loss"])
    for layer in [layers[-1], *layers[-2::-1]]:
        values += [d for row in layer["delta"] for d in row]
    for w, b in (("grad_W", "grad_b"), ("W", "b")):
        for layer in layers:
            values += [v for row in layer[w] for v in row] + layer[b]
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
    for question, entry in zip(ET.fromstring(xml).findall("question[@type='cloze']"), key["variants"]):
        fields = FIELD.findall(question.find("questiontext/text").text)
        want = expected(entry["key"])
        assert len(fields) == len(want)
        for (value, tol, feedback), answer in zip(fields, want):
            assert float(value) == answer  # written exactly (shortest round-trip decimal)
            assert tol == moodle_tolerance(Answers(decimals=4), answer) == "0.0000500001"
            assert abs(round(answer, 4) - answer) <= float(tol)  # a correctly rounded answer is accepted
            shown = round(answer, 4)
            further = shown + (1e-4 if shown >= answer else -1e-4)
            assert abs(further - answer) > float(tol)  # one unit further off is not
            assert feedback.startswith("answer ")


COUNTS = {
    # forward: 3 examples x (3 + 3 + 1) x (z and a) = 42; J; deltas 3 + 18; gradients 25; updates 25; J'
    (2, 3, 3, 1): 42 + 1 + 21 + 25 + 25 + 1,
    # forward: (2 + 1) x 2 = 6; J; deltas 1 + 2; gradients 6 + 3; updates 9; J'
    (2, 2, 1): 6 + 1 + 3 + 9 + 9 + 1,
}


def test_field_count(built):
    xml, key = built
    layers = tuple(key["variants"][0]["key"]["network"]["layers"])
    text = ET.fromstring(xml).findall("question[@type='cloze']")[0].find("questiontext/text").text
    assert len(FIELD.findall(text)) == COUNTS[layers]


def test_tolerance_follows_the_rule():
    assert moodle_tolerance(Answers(decimals=2), 3.0) == "0.00500001"
    assert moodle_tolerance(Answers(decimals=0), 3.0) == "0.500001"
    assert moodle_tolerance(Answers(significant_figures=3), 123.4) == "0.500001"
    assert moodle_tolerance(Answers(significant_figures=3), -0.012345) == "0.0000500001"
    assert moodle_tolerance(Answers(relative_tolerance=0.01), -2.0) == "0.020000040"[:-1]


def test_check_quiz_rejects_what_moodle_would_not_import(built):
    from derive.moodle import check_quiz

    xml, key = built
    count = len(FIELD.findall(ET.fromstring(xml).findall("question[@type='cloze']")[0].find("questiontext/text").text))
    good = [count] + [len(FIELD.findall(q.find("questiontext/text").text)) for q in ET.fromstring(xml).findall("question[@type='cloze']")[1:]]
    check_quiz(xml, good)
    for broken in (xml.replace("<generalfeedback", "<feedback", 1).replace("</generalfeedback>", "</feedback>", 1),
                   xml.replace(":NUMERICAL:=", ":NUMERICAL:", 1),
                   xml.replace("</quiz>", "")):
        with pytest.raises((ValueError, ET.ParseError)):
            check_quiz(broken, good)
