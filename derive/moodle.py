"""Stage 4c, Moodle XML: a thin driver over verified solutions (one cloze question per variant).

All questions go into one category, so a Moodle quiz can draw a random variant per student. Each
question shows the variant's numbers (MathJax TeX between \\( and \\)) and asks every asked
quantity of the first step in one NUMERICAL embedded answer, ``{1:NUMERICAL:=value:tolerance#...}``,
whose tolerance is what the sheet's rounding rule allows: half a unit in the last decimal, plus
a hair for float error. :func:`cloze_fields` lists the fields in the order they appear.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .printing import number, pmatrix
from .registry import ACTIVATIONS, LOSSES
from .rounding import moodle_tolerance, phrase, shown
from .sections import TITLES, asked_sections
from .verify import VerifiedSolution, require_verified

_CLOZE_SPECIAL = "\\}#~/\"{"


@dataclass(frozen=True)
class Field:
    """One embedded answer: what is asked (TeX), the group it belongs to, the verified value."""

    group: str
    label: str
    value: float


def cloze_fields(verified: VerifiedSolution) -> list[Field]:
    """The asked quantities of the first step, in order: per layer z then a (per example), the
    loss J, the output then hidden deltas, per layer the gradients (W then b), per layer the
    updated W then b, the loss after the update."""
    verified = require_verified(verified)
    problem = verified.problem
    step = verified.solution.steps[0]
    asked = asked_sections(problem.answers.asked, problem.training.steps)
    bias = problem.network.bias
    several = len(step.batch) > 1
    ex = lambda r: rf"\ \text{{(example {step.batch[r] + 1})}}" if several else ""  # noqa: E731
    fields: list[Field] = []
    if "forward" in asked:
        for layer in step.layers:
            for r in range(len(step.batch)):
                for name, values in (("z", layer.z), ("a", layer.a)):
                    fields += [Field("forward", rf"{name}^{{({layer.layer})}}_{{{j + 1}}}{ex(r)}", values[r, j])
                               for j in range(values.shape[1])]
    if "loss" in asked:
        fields.append(Field("loss", "J", step.loss))
    for group, layers in (("output_delta", step.layers[-1:]), ("hidden_delta", step.layers[-2::-1])):
        if group in asked:
            for layer in layers:
                fields += [Field(group, rf"\delta^{{({layer.layer})}}_{{{j + 1}}}{ex(r)}", layer.delta[r, j])
                           for r in range(len(step.batch)) for j in range(layer.delta.shape[1])]
    for group, prime, W, b in (("gradients", False, "grad_W", "grad_b"), ("updates", True, "W", "b")):
        if group not in asked:
            continue
        for layer in step.layers:
            l = layer.layer
            w_name = rf"w'^{{({l})}}" if prime else rf"\partial J/\partial w^{{({l})}}"
            b_name = rf"b'^{{({l})}}" if prime else rf"\partial J/\partial b^{{({l})}}"
            matrix = getattr(layer, W)
            fields += [Field(group, rf"{w_name}_{{{j + 1}{k + 1}}}", matrix[j, k])
                       for j in range(matrix.shape[0]) for k in range(matrix.shape[1])]
            if bias:
                fields += [Field(group, rf"{b_name}_{{{j + 1}}}", getattr(layer, b)[j]) for j in range(matrix.shape[0])]
    if "loss_after" in asked and step.loss_after is not None:
        fields.append(Field("loss_after", "J'", step.loss_after))
    return [Field(f.group, f.label, float(f.value)) for f in fields]


def quiz_xml(variants: Sequence[tuple[int, VerifiedSolution]], category: str) -> str:
    """A Moodle XML quiz: a category, then one cloze question per (variant number, solution)."""
    quiz = ET.Element("quiz")
    head = ET.SubElement(quiz, "question", type="category")
    html_texts: list[str] = []
    _text(ET.SubElement(head, "category"), f"$course$/top/{category}")
    _text(ET.SubElement(head, "info", format="html"), "")
    for number_, verified in variants:
        quiz.append(_question(number_, require_verified(verified), html_texts))
    ET.indent(quiz)
    body = ET.tostring(quiz, encoding="unicode")
    # ElementTree cannot write CDATA: the HTML texts went in as markers, replaced here.
    for i, text in enumerate(html_texts):
        body = body.replace(_marker(i), f"<![CDATA[{text}]]>", 1)
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
    check_quiz(xml, [len(cloze_fields(v)) for _, v in variants])
    return xml


#: What Moodle's XML import needs of each question, by type.
REQUIRED = {
    "category": ("category/text",),
    "cloze": ("name/text", "questiontext/text", "generalfeedback/text", "penalty", "hidden"),
}
CLOZE_FIELD = re.compile(r"\{1:NUMERICAL:=(-?[0-9.]+):([0-9.]+)#[^{}]*\}")


def check_quiz(xml: str, fields_per_question: Sequence[int]) -> None:
    """Check a quiz before it is written: well-formed, one category first, the elements Moodle
    requires, HTML texts, and every embedded answer in NUMERICAL syntax (count as expected)."""
    root = ET.fromstring(xml.encode("utf-8"))
    questions = root.findall("question")
    problems = [] if root.tag == "quiz" and questions and questions[0].get("type") == "category" else ["no leading category"]
    for i, question in enumerate(questions):
        kind = question.get("type", "")
        problems += [f"question {i}: no <{path}>" for path in REQUIRED.get(kind, ("?",)) if question.find(path) is None]
    for i, (question, expected) in enumerate(zip(questions[1:], fields_per_question), start=1):
        text = question.findtext("questiontext/text") or ""
        if question.find("questiontext").get("format") != "html" or text.count(r"\(") != text.count(r"\)"):
            problems.append(f"question {i}: question text is not HTML with balanced \\( \\)")
        if len(CLOZE_FIELD.findall(text)) != expected or text.count("{1:") != expected:
            problems.append(f"question {i}: {len(CLOZE_FIELD.findall(text))} well-formed answer fields, expected {expected}")
    if len(questions) != len(fields_per_question) + 1 or problems:
        raise ValueError("the Moodle XML is not what Moodle imports: " + "; ".join(problems or ["question count"]))


def _marker(i: int) -> str:
    return f"@@html-{i}@@"


def _text(parent: ET.Element, text: str, html_texts: list[str] | None = None) -> None:
    """A <text> child; with ``html_texts`` the text becomes CDATA (collected, then substituted)."""
    element = ET.SubElement(parent, "text")
    if html_texts is None:
        element.text = text
    else:
        if "]]>" in text:
            raise ValueError("CDATA text cannot contain ']]>'")
        element.text = _marker(len(html_texts))
        html_texts.append(text)


def _question(variant: int, verified: VerifiedSolution, html_texts: list[str]) -> ET.Element:
    problem = verified.problem
    question = ET.Element("question", type="cloze")
    _text(ET.SubElement(question, "name"), problem.title)
    _text(ET.SubElement(question, "questiontext", format="html"), question_html(verified), html_texts)
    _text(ET.SubElement(question, "generalfeedback", format="html"),
          f"<p>{html.escape(verified.report.summary())}.</p>", html_texts)
    for tag, value in (("penalty", "0.3333333"), ("hidden", "0"), ("idnumber", f"variant-{variant}"),
                       ("shuffleanswers", "0")):
        ET.SubElement(question, tag).text = value
    return question


def question_html(verified: VerifiedSolution) -> str:
    """The question text: the network's numbers, then one embedded answer per asked quantity."""
    problem = verified.problem
    net = problem.network
    d = problem.answers.decimals
    parts = [f"<p>{html.escape(problem.instructions)}</p>" if problem.instructions else ""]
    layers = ", ".join(f"layer {l}: {html.escape(ACTIVATIONS[a].description)}" for l, a in enumerate(net.activations, 1))
    parts.append(f"<p>Network {'-'.join(map(str, net.layers))} ({layers}); loss per example "
                 rf"\(L = {LOSSES[net.loss].latex}\); \(z^{{(l)}} = W^{{(l)}} a^{{(l-1)}} + b^{{(l)}}\).</p>")
    for l, (W, b) in enumerate(zip(problem.weights, problem.biases), start=1):
        bias = rf",\quad b^{{({l})}} = {pmatrix([[v] for v in b], d)}" if net.bias else ""
        parts.append(rf"<p>\(W^{{({l})}} = {pmatrix(W, d)}{bias}\)</p>")
    parts.append(rf"<p>Inputs (one row per example): \(X = {pmatrix(problem.inputs, d)}\), "
                 rf"targets \(Y = {pmatrix(problem.targets, d)}\).</p>")
    training = problem.training
    parts.append(rf"<p>Learning rate \(\eta = {number(training.learning_rate, d, False)}\)"
                 + (rf", L2 penalty \(\lambda = {number(training.l2, d, False)}\)" if training.l2 else "")
                 + ("; one full-batch step" if training.batch_size is None else f"; batches of {training.batch_size}")
                 + f". Give every answer {html.escape(phrase(problem.answers))} (the first step only).</p>")
    groups: dict[str, list[str]] = {}
    for field in cloze_fields(verified):
        value = np.format_float_positional(field.value, trim="-")
        feedback = _cloze_escape(f"answer {shown(problem.answers, field.value)}")
        groups.setdefault(field.group, []).append(
            rf"<tr><td>\({field.label}\)</td><td>{{1:NUMERICAL:={value}:{moodle_tolerance(problem.answers, field.value)}#{feedback}}}</td></tr>")
    for group, rows in groups.items():
        parts.append(f"<h5>{TITLES[group]}</h5>\n<table>" + "".join(rows) + "</table>")
    return "\n".join(p for p in parts if p)


def _cloze_escape(text: str) -> str:
    """Feedback text with the characters the cloze syntax reserves escaped."""
    return "".join("\\" + c if c in _CLOZE_SPECIAL else c for c in text)
