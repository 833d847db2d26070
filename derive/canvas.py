"""Stage 4d, Canvas: a QTI 1.2 package (zip) that Canvas imports as a classic quiz.

A thin driver over verified solutions, like :mod:`derive.moodle`, and with the same answers: one
question group per variant (every question of it picked, a point each), one numerical question
per asked quantity of the first step (:func:`derive.moodle.cloze_fields`), accepting the rounded
value a student writes exactly and each accepted value (the exact one and those of the rounded
chain) within the rule's tolerance (:func:`derive.rounding.moodle_tolerance`), written as the
closed range Canvas stores for an answer with a margin. Each question shows the variant's
numbers (:func:`derive.moodle.given_html`).

text2qti (the usual way to write Canvas QTI) allows one answer per numerical question and
writes its bounds to 4 decimals, so the package is written here with ElementTree: a question and
a question group are each built and written by ElementTree once, as templates, and filled in for
each variant (in the worker that solved it; :func:`canvas_groups`); the document is never held
whole (10,000 variants are 4.7 GB of XML) but zipped a group at a time (:func:`canvas_package`).
What Canvas's importer needs of a question is checked on its template, and every accepted range
on its numbers; :func:`check_assessment` checks a whole document (the tests run it on packages).
"""

from __future__ import annotations

import functools
import html
import io
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from .moodle import Field, fields_by_variant, given_html
from .printing import fillable, marker
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


def canvas_variants(variants: Sequence[tuple[int, VerifiedSolution]],
                    fields_made: Sequence[list[Field]] | None = None) -> list[CanvasVariant]:
    """Each (variant number, verified solution) as the quiz needs it (``fields_made``: the
    variants' fields, when the Moodle quiz has made them already)."""
    made = fields_made if fields_made is not None else fields_by_variant(variants)
    return [CanvasVariant(number, given_html(require_verified(verified)), tuple(fields), verified.problem.answers)
            for (number, verified), fields in zip(variants, made)]


@dataclass(frozen=True)
class CanvasGroup:
    """A variant's question group as it stands in the assessment (indented at its depth),
    compressed while it waits to be written: 10,000 variants of the 2-3-3-1 problem are 4.7 GB
    of QTI (each of a variant's 118 questions shows its numbers), 180 MB compressed."""

    number: int
    size: int  # bytes of the group's XML (UTF-8)
    deflated: bytes

    @property
    def xml(self) -> str:
        return zlib.decompress(self.deflated).decode("utf-8")


def canvas_groups(variants: Sequence[tuple[int, VerifiedSolution]],
                  fields_made: Sequence[list[Field]] | None = None) -> list[CanvasGroup]:
    """Each (variant number, verified solution) as its checked, compressed question group."""
    groups = []
    for variant in canvas_variants(variants, fields_made):
        data = group_xml(variant).encode("utf-8")
        groups.append(CanvasGroup(variant.number, len(data), zlib.compress(data, 1)))
    return groups


def canvas_package(groups: Sequence[CanvasGroup], title: str) -> bytes:
    """The zip: imsmanifest.xml and the assessment, byte-identical for the same variants. The
    assessment is compressed into the zip a group at a time, never held whole."""
    head, tail = (part.encode("utf-8") for part in _assessment_frame(title))
    between = _GROUP_SEPARATOR.encode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(_entry("imsmanifest.xml"), manifest_xml(title))
        entry = _entry(f"{QUIZ}/{QUIZ}.xml")
        # Its size known in advance, as writestr knows it: the same header (and ZIP64 past 2 GB).
        entry.file_size = len(head) + sum(g.size for g in groups) + len(between) * (len(groups) - 1) + len(tail)
        with package.open(entry, "w") as assessment:
            assessment.write(head)
            for i, group in enumerate(groups):
                assessment.write(between if i else b"")
                assessment.write(zlib.decompress(group.deflated))
            assessment.write(tail)
    return buffer.getvalue()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # fixed: deterministic bytes
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


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


def assessment_xml(groups: Sequence[CanvasGroup], title: str) -> str:
    """The QTI 1.2 assessment: a question group per variant, a numerical question per field."""
    head, tail = _assessment_frame(title)
    return head + _GROUP_SEPARATOR.join(group.xml for group in groups) + tail


# ----------------------------------------------------------------------------------------------
# The XML, written as ElementTree writes it (indented with ET.indent): the frame of the document
# once per title, each question group and question from a template made once by ElementTree with
# open places (printing.marker, made fillable as the worked lines' templates are), filled with
# each variant's escaped text. ElementTree itself would build and
# serialise 870,000 elements for 1,000 variants.

_GROUP_SEPARATOR = "\n" + "  " * 3  # between groups, at their depth in the document
_ITEM_SEPARATOR = "\n" + "  " * 4


def _assessment_frame(title: str) -> tuple[str, str]:
    """The assessment document before its first group and after its last one."""
    ET.register_namespace("", QTI)
    root = ET.Element(_q("questestinterop"), {f"{{{XSI}}}schemaLocation": f"{QTI} {QTI}p1.xsd"})
    assessment = ET.SubElement(root, _q("assessment"), {"ident": QUIZ, "title": title})
    ET.SubElement(ET.SubElement(assessment, _q("section"), {"ident": "root_section"}), _q("groups"))
    head, tail = _document(root).split("<groups />")
    return head, tail


def group_xml(variant: CanvasVariant) -> str:
    """A variant's question group (a numerical question per field), checked, as it stands in
    the assessment."""
    number, rule = variant.number, variant.rule
    given = _text(variant.given)
    items = []
    for i, field in enumerate(variant.fields, start=1):
        ranges = accepted_ranges(field, rule)
        if any(Decimal(low) > Decimal(high) for _, low, high in ranges):
            raise ValueError(f"the Canvas QTI is not what Canvas imports: variant_{number}_q{i}: range out of order")
        title = TITLES[field.group]
        values = [_attribute(f"variant_{number}_q{i}"), _attribute(f"Variant {number}: {title}"),
                  f"{given}\n&lt;p&gt;{_text(html.escape(title))}: give \\({_text(field.label)}\\)&lt;/p&gt;",
                  *(_text(v) for triple in ranges for v in triple)]
        items.append(_item_template(len(ranges)).format(values))
    return _group_template().format([_attribute(f"variant_{number}"), _attribute(f"Variant {number}"),
                                     len(variant.fields), _ITEM_SEPARATOR.join(items)])


@functools.lru_cache(maxsize=None)
def _group_template() -> str:
    """A group (level 3 of the document) with places for its ident, title, count and questions."""
    group = ET.Element("section", {"ident": marker(0), "title": marker(1)})
    selection = ET.SubElement(ET.SubElement(group, "selection_ordering"), "selection")
    ET.SubElement(selection, "selection_number").text = marker(2)
    ET.SubElement(ET.SubElement(selection, "selection_extension"), "points_per_item").text = "1"
    ET.SubElement(group, "items")
    return fillable(_written(group, 3).replace("<items />", marker(3)))


@functools.lru_cache(maxsize=None)
def _item_template(ranges: int) -> str:
    """A numerical question (level 4) accepting ``ranges`` answers, with places for its ident,
    title and text and each answer's value, low and high end; checked for what Canvas reads."""
    item = _item(marker(0), marker(1), marker(2), [(marker(3 + 3 * k), marker(4 + 3 * k), marker(5 + 3 * k))
                                                   for k in range(ranges)])
    missing = [path for path in REQUIRED if item.find(path) is None]
    if missing:
        raise ValueError(f"the Canvas QTI is not what Canvas imports: a question has no {', '.join(missing)}")
    return fillable(_written(item, 4))


def _written(element: ET.Element, level: int) -> str:
    """``element`` as ElementTree writes it at ``level`` of an indented document."""
    ET.indent(element, level=level)
    return ET.tostring(element, encoding="unicode")


def accepted_ranges(field: Field, rule: Answers) -> list[tuple[str, str, str]]:
    """(value, low, high) of each accepted answer, as exact decimals: the rounded value with no
    margin, then each accepted value with the rule's tolerance (as the Moodle quiz)."""
    ranges = [(field.shown, field.shown, field.shown)]
    for value in field.accepted:
        centre, margin = Decimal(repr(float(value))), Decimal(moodle_tolerance(rule, value))
        ranges.append((_plain(centre), _plain(centre - margin), _plain(centre + margin)))
    return ranges


def _item(ident: str, title: str, text: str, ranges: Sequence[tuple[str, str, str]]) -> ET.Element:
    """One numerical question, its tags without a namespace (the document's default one)."""
    item = ET.Element("item", {"ident": ident, "title": title})
    metadata = ET.SubElement(ET.SubElement(item, "itemmetadata"), "qtimetadata")
    for label, entry in (("question_type", "numerical_question"), ("points_possible", "1.0")):
        pair = ET.SubElement(metadata, "qtimetadatafield")
        ET.SubElement(pair, "fieldlabel").text = label
        ET.SubElement(pair, "fieldentry").text = entry
    presentation = ET.SubElement(item, "presentation")
    ET.SubElement(ET.SubElement(presentation, "material"), "mattext", {"texttype": "text/html"}).text = text
    response = ET.SubElement(presentation, "response_str", {"ident": "response1", "rcardinality": "Single"})
    ET.SubElement(ET.SubElement(response, "render_fib", {"fibtype": "Decimal"}), "response_label", {"ident": "answer1"})
    processing = ET.SubElement(item, "resprocessing")
    ET.SubElement(ET.SubElement(processing, "outcomes"), "decvar",
                  {"maxvalue": "100", "minvalue": "0", "varname": "SCORE", "vartype": "Decimal"})
    for value, low, high in ranges:
        condition = ET.SubElement(processing, "respcondition", {"continue": "No"})
        either = ET.SubElement(ET.SubElement(condition, "conditionvar"), "or")
        ET.SubElement(either, "varequal", {"respident": "response1"}).text = value
        both = ET.SubElement(either, "and")
        ET.SubElement(both, "vargte", {"respident": "response1"}).text = low
        ET.SubElement(both, "varlte", {"respident": "response1"}).text = high
        ET.SubElement(condition, "setvar", {"action": "Set", "varname": "SCORE"}).text = "100"
    return item


def _text(text: str) -> str:
    """Character data escaped as ElementTree escapes it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(text: str) -> str:
    """An attribute value escaped as ElementTree escapes it."""
    text = _text(text).replace('"', "&quot;")
    return text.replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#09;")


#: What each element needs below it for Canvas's importer (paths in the QTI namespace).
REQUIRED = ("itemmetadata/qtimetadata", "presentation/material/mattext", "presentation/response_str/render_fib",
            "resprocessing/outcomes/decvar", "resprocessing/respcondition/conditionvar/or/varequal")


def check_assessment(xml: str, fields_per_variant: Sequence[int]) -> None:
    """Check a whole assessment: well-formed, one group per variant picking all of its items,
    each item a numerical question with the parts Canvas reads, every range ordered."""
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
