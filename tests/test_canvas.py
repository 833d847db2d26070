"""derive exam --canvas: the QTI package's answers equal the key and the Moodle quiz's.

Each Canvas question must accept the verified value of its quantity in key.json (read back from
the written key.json, not from derive's objects), and accept exactly the values, with the same
tolerances, as the Moodle cloze field at the same place in the same variant. The assessment
must be valid QTI 1.2 (lxml, tests/qti/ims_qtiasiv1p2_subset.xsd) and, written from templates a
group at a time, exactly what ElementTree writes for the whole document.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from derive import canvas
from derive.cli import main
from derive.exam import solve_variants
from derive.loader import load_problem
from derive.sections import TITLES

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
Q = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"


@pytest.fixture(scope="module", params=["relu-2-3-3-1-batch", "sgd-sigmoid-hidden"])
def written(request, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("canvas") / request.param
    result = CliRunner().invoke(main, ["exam", str(PROBLEMS / f"{request.param}.yaml"), "--variants", "3", "--seed", "11",
                                       "--tex-only", "--moodle", "--canvas", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def canvas_ranges(folder: Path) -> dict[str, list[list[tuple[Decimal, Decimal, Decimal]]]]:
    """Per variant (group ident), per question: (value, low, high) of each accepted answer."""
    with zipfile.ZipFile(io.BytesIO((folder / "canvas-quiz.zip").read_bytes())) as package:
        assert sorted(package.namelist()) == ["derive_quiz/derive_quiz.xml", "imsmanifest.xml"]
        manifest = ET.fromstring(package.read("imsmanifest.xml"))
        assert manifest.find(".//{http://www.imsglobal.org/xsd/imscp_v1p1}resource").get("type") == "imsqti_xmlv1p2"
        root = ET.fromstring(package.read("derive_quiz/derive_quiz.xml"))
    groups = {}
    for group in root.iter(f"{Q}section"):
        items = group.findall(f"{Q}item")
        if not items:
            continue
        assert group.findtext(f"{Q}selection_ordering/{Q}selection/{Q}selection_number") == str(len(items))
        groups[group.get("ident")] = [
            [(Decimal(c.findtext(f".//{Q}varequal")), Decimal(c.findtext(f".//{Q}vargte")), Decimal(c.findtext(f".//{Q}varlte")))
             for c in item.iter(f"{Q}respcondition")] for item in items]
        for item in items:
            assert item.find(f".//{Q}fieldentry").text == "numerical_question"
    return groups


def moodle_answers(folder: Path) -> list[list[list[tuple[Decimal, Decimal]]]]:
    """Per question (variant), per cloze field: (value, tolerance) of each NUMERICAL answer."""
    root = ET.fromstring((folder / "quiz.xml").read_bytes())
    out = []
    for question in root.findall("question")[1:]:
        fields = re.findall(r"\{1:NUMERICAL:(.*?)\}(?=</td>)", question.findtext("questiontext/text"))
        out.append([[(Decimal(v), Decimal(t)) for v, t in re.findall(r"=(-?[0-9.]+):([0-9.]+)#", f)] for f in fields])
    return out


def key_values(variant: dict) -> list[float]:
    """Every number of the first step in key.json (layers' arrays, losses)."""
    step = variant["key"]["steps"][0]
    values = [step["loss"], step["loss_after"], *(step.get("losses") or [])]
    for layer in step["layers"]:
        for name in ("z", "a", "delta", "grad_W", "grad_b", "W", "b"):
            array = layer[name]
            values += [v for row in array for v in (row if isinstance(row, list) else [row])] if array else []
    return values


def test_every_canvas_answer_is_a_key_value_within_the_rule(written):
    key = json.loads((written / "key.json").read_text())
    groups = canvas_ranges(written)
    assert list(groups) == [f"variant_{v['variant']}" for v in key["variants"]]
    for variant in key["variants"]:
        values = [Decimal(repr(v)) for v in key_values(variant)]
        for question in groups[f"variant_{variant['variant']}"]:
            exact = question[1]  # the verified value, with the rule's tolerance
            assert any(v == exact[0] for v in values)
            assert exact[1] < exact[0] < exact[2] or exact[1] == exact[0] == exact[2] == 0
            assert all(low <= value <= high for value, low, high in question)


def test_canvas_accepts_what_the_moodle_quiz_accepts(written):
    canvas = list(canvas_ranges(written).values())
    moodle = moodle_answers(written)
    assert len(canvas) == len(moodle) == 3
    for canvas_questions, moodle_fields in zip(canvas, moodle):
        assert len(canvas_questions) == len(moodle_fields)
        for ranges, answers in zip(canvas_questions, moodle_fields):
            assert [(value, high - value) for value, _, high in ranges] == answers
            assert [(value, value - low) for value, low, _ in ranges] == answers


def test_the_package_is_the_same_bytes_each_time(written, tmp_path):
    problem = PROBLEMS / f"{written.name}.yaml"
    result = CliRunner().invoke(main, ["exam", str(problem), "--variants", "3", "--seed", "11", "--tex-only",
                                       "--canvas", "-o", str(tmp_path / "again")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "again" / "canvas-quiz.zip").read_bytes() == (written / "canvas-quiz.zip").read_bytes()


# ----------------------------------------------------------------------------------------------
# The package is written from templates, a group at a time: it must be what ElementTree writes
# for the whole document, zipped as zipfile zips the whole text.


def tree_assessment(variants, title: str) -> str:
    """The assessment as one ElementTree document, indented and written whole."""
    ET.register_namespace("", canvas.QTI)
    root = ET.Element(f"{Q}questestinterop", {"{http://www.w3.org/2001/XMLSchema-instance}schemaLocation":
                                              f"{canvas.QTI} {canvas.QTI}p1.xsd"})
    assessment = ET.SubElement(root, f"{Q}assessment", {"ident": canvas.QUIZ, "title": title})
    top = ET.SubElement(assessment, f"{Q}section", {"ident": "root_section"})
    for v in variants:
        group = ET.SubElement(top, f"{Q}section", {"ident": f"variant_{v.number}", "title": f"Variant {v.number}"})
        selection = ET.SubElement(ET.SubElement(group, f"{Q}selection_ordering"), f"{Q}selection")
        ET.SubElement(selection, f"{Q}selection_number").text = str(len(v.fields))
        ET.SubElement(ET.SubElement(selection, f"{Q}selection_extension"), f"{Q}points_per_item").text = "1"
        for i, field in enumerate(v.fields, start=1):
            text = f"{v.given}\n<p>{html.escape(TITLES[field.group])}: give \\({field.label}\\)</p>"
            item = canvas._item(f"variant_{v.number}_q{i}", f"Variant {v.number}: {TITLES[field.group]}", text,
                                canvas.accepted_ranges(field, v.rule))
            for element in item.iter():
                element.tag = f"{Q}{element.tag}"
            group.append(item)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


@pytest.fixture(scope="module")
def variants():
    problem = load_problem(PROBLEMS / "relu-2-3-3-1-batch.yaml")
    solved = solve_variants(problem, 11, [1, 2])
    return problem, canvas.canvas_variants([(v.number, v.verified) for v in solved])


def groups_of(variants) -> list:
    return [canvas.CanvasGroup(v.number, len(x := canvas.group_xml(v).encode()), zlib.compress(x)) for v in variants]


# What XML 1.0 can hold (no other control character; the loader refuses those in a problem's text).
text = st.text(st.one_of(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
                         st.sampled_from("\t\n\r&<>\"'{}")), max_size=30)


@settings(max_examples=40, deadline=None)
@given(title=text, given_text=text, label=text)
def test_the_assessment_is_what_elementtree_writes(variants, title, given_text, label):
    """Hostile text everywhere text goes (the title, the numbers' HTML, a label): &, <, quotes,
    braces, tabs, newlines, carriage returns, other scripts."""
    problem, made = variants
    changed = [dataclasses.replace(v, given=v.given + given_text,
                                   fields=(v.fields[0]._replace(label=v.fields[0].label + label), *v.fields[1:]))
               for v in made]
    xml = canvas.assessment_xml(groups_of(changed), title)
    assert xml == tree_assessment(changed, title)
    canvas.check_assessment(xml, [len(v.fields) for v in changed])
    assert QTI_SCHEMA().validate(etree.fromstring(xml.encode("utf-8")))


def test_the_zip_is_what_zipfile_writes_for_the_whole_text(variants):
    problem, made = variants
    groups = groups_of(made)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in (("imsmanifest.xml", canvas.manifest_xml(problem.title)),
                              (f"{canvas.QUIZ}/{canvas.QUIZ}.xml", canvas.assessment_xml(groups, problem.title))):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(info, content)
    assert canvas.canvas_package(groups, problem.title) == buffer.getvalue()


def test_a_range_out_of_order_is_refused(variants, monkeypatch):
    """A tolerance that came out negative would make a range Canvas cannot hold: refused."""
    _, made = variants
    monkeypatch.setattr(canvas, "moodle_tolerance", lambda rule, value: -0.001)
    with pytest.raises(ValueError, match="variant_1_q1: range out of order"):
        canvas.group_xml(made[0])


@functools.lru_cache(maxsize=None)
def QTI_SCHEMA():  # noqa: N802
    """The QTI 1.2 ASI content models of the elements the package uses (tests/qti/ims_qtiasiv1p2_subset.xsd,
    from the IMS QTI ASI XML binding 1.2.1)."""
    return etree.XMLSchema(etree.parse(str(Path(__file__).parent / "qti" / "ims_qtiasiv1p2_subset.xsd")))


def test_the_assessment_is_valid_qti_1_2(written):
    """Validated with lxml against QTI 1.2's content models; the schema does refuse a question
    without its ident and a condition out of its place."""
    schema = QTI_SCHEMA()
    with zipfile.ZipFile(io.BytesIO((written / "canvas-quiz.zip").read_bytes())) as package:
        document = etree.fromstring(package.read("derive_quiz/derive_quiz.xml"))
    assert schema.validate(document), schema.error_log
    item = document.find(f".//{Q}item")
    del item.attrib["ident"]
    assert not schema.validate(document)
    item.set("ident", "q")
    condition = item.find(f".//{Q}respcondition")
    condition.append(condition.find(f"{Q}conditionvar"))
    assert not schema.validate(document)
