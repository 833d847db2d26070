"""Stage 4d, Canvas: a QTI 1.2 package (zip) that Canvas imports as a classic quiz.

A thin driver over verified solutions, like :mod:`derive.moodle`, and with the same answers: one
question group per variant (every question of it picked, a point each), one numerical question
per asked quantity of the first step (:func:`derive.moodle.cloze_fields`), accepting the rounded
value a student writes exactly and each accepted value (the exact one and those of the rounded
chain) within the rule's tolerance (:func:`derive.rounding.moodle_tolerance`), written as the
closed range Canvas stores for an answer with a margin. Each question shows the variant's
numbers (:func:`derive.moodle.given_html`).

text2qti (the usual way to write Canvas QTI) allows one answer per numerical question and
writes its bounds to 4 decimals, so the package is written here with ElementTree.
"""

from __future__ import annotations

import html
import io
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from .moodle import Field, fields_by_variant, given_html
from .rounding import moodle_tolerance
from .sections import TITLES
from .spec import Answers
from .verify import VerifiedSolution, require_verified

QTI = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
MANIFEST = "http://www.imsglobal.org/xsd/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
QUIZ = "derive_quiz"  # the assessment's ident and folder in the package


@dataclass(frozen=True)
class CanvasVariant:
    """What the quiz shows and accepts for one variant: its numbers (HTML) and its fields."""

    number: int
    given: str
    fields: tuple[Field, ...]
    rule: Answers


def canvas_variants(variants: Sequence[tuple[int, VerifiedSolution]]) -> list[CanvasVariant]:
    """Each (variant number, verified solution) as the quiz needs it."""
    return [CanvasVariant(number, given_html(require_verified(verified)), tuple(fields), verified.problem.answers)
            for (number, verified), fields in zip(variants, fields_by_variant(variants))]


def canvas_package(variants: Sequence[CanvasVariant], title: str) -> bytes:
    """The zip: imsmanifest.xml and the assessment, byte-identical for the same variants."""
    assessment = assessment_xml(variants, title)
    check_assessment(assessment, [len(v.fields) for v in variants])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in (("imsmanifest.xml", manifest_xml(title)), (f"{QUIZ}/{QUIZ}.xml", assessment)):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # fixed: deterministic bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(info, text)
    return buffer.getvalue()


def manifest_xml(title: str) -> str:
    """The IMS content package manifest naming the one QTI assessment."""
    ET.register_namespace("", MANIFEST)
    root = ET.Element(f"{{{MANIFEST}}}manifest", {"identifier": f"{QUIZ}_manifest",
                                                  f"{{{XSI}}}schemaLocation": f"{MANIFEST} {MANIFEST}.xsd"})
    metadata = ET.SubElement(root, f"{{{MANIFEST}}}metadata")
    ET.SubElement(metadata, f"{{{MANIFEST}}}schema").text = "IMS Content"
    ET.SubElement(metadata, f"{{{MANIFEST}}}schemaversion").text = "1.1.3"
    ET.SubElement(root, f"{{{MANIFEST}}}organizations")
    resources = ET.SubElement(root, f"{{{MANIFEST}}}resources")
    resource = ET.SubElement(resources, f"{{{MANIFEST}}}resource",
                             {"identifier": QUIZ, "type": "imsqti_xmlv1p2", "href": f"{QUIZ}/{QUIZ}.xml"})
    ET.SubElement(resource, f"{{{MANIFEST}}}file", {"href": f"{QUIZ}/{QUIZ}.xml"})
    return _document(root)


def assessment_xml(variants: Sequence[CanvasVariant], title: str) -> str:
    """The QTI 1.2 assessment: a question group per variant, a numerical question per field."""
    ET.register_namespace("", QTI)
    root = ET.Element(_q("questestinterop"), {f"{{{XSI}}}schemaLocation": f"{QTI} {QTI}p1.xsd"})
    assessment = ET.SubElement(root, _q("assessment"), {"ident": QUIZ, "title": title})
    top = ET.SubElement(assessment, _q("section"), {"ident": "root_section"})
    for variant in variants:
        number = variant.number
        group = ET.SubElement(top, _q("section"), {"ident": f"variant_{number}", "title": f"Variant {number}"})
        selection = ET.SubElement(ET.SubElement(group, _q("selection_ordering")), _q("selection"))
        ET.SubElement(selection, _q("selection_number")).text = str(len(variant.fields))
        ET.SubElement(ET.SubElement(selection, _q("selection_extension")), _q("points_per_item")).text = "1"
        for i, field in enumerate(variant.fields, start=1):
            group.append(_item(f"variant_{number}_q{i}", number, variant.given, field, variant.rule))
    return _document(root)


def accepted_ranges(field: Field, rule: Answers) -> list[tuple[str, str, str]]:
    """(value, low, high) of each accepted answer, as exact decimals: the rounded value with no
    margin, then each accepted value with the rule's tolerance (as the Moodle quiz)."""
    ranges = [(field.shown, field.shown, field.shown)]
    for value in field.accepted:
        centre, margin = Decimal(repr(float(value))), Decimal(moodle_tolerance(rule, value))
        ranges.append((_plain(centre), _plain(centre - margin), _plain(centre + margin)))
    return ranges


def _item(ident: str, variant: int, given: str, field: Field, rule: Answers) -> ET.Element:
    item = ET.Element(_q("item"), {"ident": ident, "title": f"Variant {variant}: {TITLES[field.group]}"})
    metadata = ET.SubElement(ET.SubElement(item, _q("itemmetadata")), _q("qtimetadata"))
    for label, entry in (("question_type", "numerical_question"), ("points_possible", "1.0")):
        pair = ET.SubElement(metadata, _q("qtimetadatafield"))
        ET.SubElement(pair, _q("fieldlabel")).text = label
        ET.SubElement(pair, _q("fieldentry")).text = entry
    presentation = ET.SubElement(item, _q("presentation"))
    text = f"{given}\n<p>{html.escape(TITLES[field.group])}: give \\({field.label}\\)</p>"
    ET.SubElement(ET.SubElement(presentation, _q("material")), _q("mattext"), {"texttype": "text/html"}).text = text
    response = ET.SubElement(presentation, _q("response_str"), {"ident": "response1", "rcardinality": "Single"})
    ET.SubElement(ET.SubElement(response, _q("render_fib"), {"fibtype": "Decimal"}), _q("response_label"),
                  {"ident": "answer1"})
    processing = ET.SubElement(item, _q("resprocessing"))
    ET.SubElement(ET.SubElement(processing, _q("outcomes")), _q("decvar"),
                  {"maxvalue": "100", "minvalue": "0", "varname": "SCORE", "vartype": "Decimal"})
    for value, low, high in accepted_ranges(field, rule):
        condition = ET.SubElement(processing, _q("respcondition"), {"continue": "No"})
        either = ET.SubElement(ET.SubElement(condition, _q("conditionvar")), _q("or"))
        ET.SubElement(either, _q("varequal"), {"respident": "response1"}).text = value
        both = ET.SubElement(either, _q("and"))
        ET.SubElement(both, _q("vargte"), {"respident": "response1"}).text = low
        ET.SubElement(both, _q("varlte"), {"respident": "response1"}).text = high
        ET.SubElement(condition, _q("setvar"), {"action": "Set", "varname": "SCORE"}).text = "100"
    return item


#: What each element needs below it for Canvas's importer (paths in the QTI namespace).
REQUIRED = ("itemmetadata/qtimetadata", "presentation/material/mattext", "presentation/response_str/render_fib",
            "resprocessing/outcomes/decvar", "resprocessing/respcondition/conditionvar/or/varequal")


def check_assessment(xml: str, fields_per_variant: Sequence[int]) -> None:
    """Check the assessment before it is written: well-formed, one group per variant picking all
    of its items, each item a numerical question with the parts Canvas reads, every range ordered."""
    root = ET.fromstring(xml.encode("utf-8"))
    groups = root.findall(f"{_q('assessment')}/{_q('section')}/{_q('section')}")
    problems = [] if len(groups) == len(fields_per_variant) else [f"{len(groups)} groups, {len(fields_per_variant)} variants"]
    for group, expected in zip(groups, fields_per_variant):
        items = group.findall(_q("item"))
        picked = group.findtext(f"{_q('selection_ordering')}/{_q('selection')}/{_q('selection_number')}")
        if len(items) != expected or picked != str(expected):
            problems.append(f"{group.get('ident')}: {len(items)} items, picks {picked}, expected {expected}")
        for item in items:
            problems += [f"{item.get('ident')}: no {path}" for path in REQUIRED if item.find(_path(path)) is None]
            for both in item.iter(_q("and")):
                low, high = (Decimal(both.findtext(_q(tag))) for tag in ("vargte", "varlte"))
                if low > high:
                    problems.append(f"{item.get('ident')}: range [{low}, {high}]")
    if problems:
        raise ValueError("the Canvas QTI is not what Canvas imports: " + "; ".join(problems[:5]))


def _q(tag: str) -> str:
    return f"{{{QTI}}}{tag}"


def _path(path: str) -> str:
    return "/".join(_q(part) for part in path.split("/"))


def _plain(value: Decimal) -> str:
    """A decimal written positionally (no exponent), as QTI's numbers are read."""
    return format(value.normalize(), "f")


def _document(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
