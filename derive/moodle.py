"""Stage 4c, Moodle XML: a thin driver over verified solutions (one cloze question per variant).

All questions go into one category, so a Moodle quiz can draw a random variant per student. Each
question shows the variant's numbers (MathJax TeX between \\( and \\)) and asks every asked
quantity of the first step (:func:`derive.quantities.asked_quantities`, in its order) in one
NUMERICAL embedded answer that accepts what ``derive check`` accepts: the rounded value a student
writes (first, so Moodle shows it as the correct answer), the exact value, and the values that
follow from a student's own rounded earlier answers (:func:`derive.marking.accepted_values`),
each with the rule's tolerance (:func:`derive.rounding.moodle_tolerance`).
"""

from __future__ import annotations

import functools
import html
import re
import xml.etree.ElementTree as ET
from typing import Callable, Iterator, NamedTuple, Sequence

import numpy as np

from .i18n import gettext_for
from .printing import number, pmatrix
from .registry import ACTIVATIONS, LOSSES
from .marking import accepted_values_many
from .notation import Notation, for_problem
from .quantities import asked_quantities, expected_values
from .rounding import moodle_tolerance, shown_each
from .safe_math import segments
from .sections import TITLES
from .sentences import rounding_phrase, verification_sentence
from .spec import Answers
from .verify import VerifiedSolution, require_verified

#: What each character of feedback text becomes in a cloze field. Moodle's parser
#: (qtype_multianswer_extract_question) ends the feedback at an unescaped ``~`` or ``}``, decodes
#: HTML entities once, then removes the backslash before ``}`` and ``#`` only: so ``}`` and ``#``
#: take a backslash, ``~`` and ``\`` become entities, and ``&`` ``<`` ``>`` are entity-escaped twice
#: (once for the parser's decoding, once for the HTML that shows them).
_CLOZE_ESCAPES = {"}": "\\}", "#": "\\#", "~": "&#126;", "\\": "&#92;"}


class Field(NamedTuple):  # a named tuple: a quiz of 10,000 variants makes a million of them
    """One embedded answer: the section it belongs to, what is asked (inline TeX), the verified
    value, the values it accepts (each with the rule's tolerance; the verified value first) and
    the rounded value a student writes."""

    group: str
    label: str
    value: float
    accepted: tuple[float, ...] = ()
    shown: str = ""


def cloze_fields(verified: VerifiedSolution) -> list[Field]:
    """One field per asked quantity of the first step (quantities.asked_quantities, in its
    order), accepting what ``derive check`` accepts from a student who rounds as the sheet asks
    and carries the rounded values forward (marking.accepted_values)."""
    return cloze_fields_many([verified])[0]


def cloze_fields_many(solutions: Sequence[VerifiedSolution]) -> list[list[Field]]:
    """:func:`cloze_fields` of each of an exam's variants, their accepted values recomputed together."""
    solutions = [require_verified(verified) for verified in solutions]
    rule = solutions[0].problem.answers
    asked = asked_quantities(solutions[0].problem, steps=1)
    expected = [expected_values(verified) for verified in solutions]
    fields = []
    for values, accepted in zip(expected, accepted_values_many(solutions, expected)):
        asked_values = [values[item.name] for item in asked]
        fields.append([Field(item.section, item.latex, value, accepted[item.name], written)
                       for item, value, written in zip(asked, asked_values, shown_each(rule, asked_values))])
    return fields


def fields_by_variant(variants: Sequence[tuple[int, VerifiedSolution]],
                      progress: Callable[[int], None] | None = None) -> Iterator[list[Field]]:
    """The fields of each variant in turn, made a batch of variants at a time (``progress`` is told
    how many variants each batch held)."""
    for start in range(0, len(variants), FIELD_BATCH):
        batch = [verified for _, verified in variants[start:start + FIELD_BATCH]]
        yield from cloze_fields_many(batch)
        if progress is not None:
            progress(len(batch))


#: Variants whose accepted values are recomputed together (the stacked arrays stay small).
FIELD_BATCH = 500


def cloze(field: Field, rule: Answers) -> str:
    """The embedded NUMERICAL answer of ``field``: first the rounded value a student writes (what
    Moodle shows as the correct answer), then every accepted value with the rule's tolerance."""
    feedback = _cloze_escape(f"answer {field.shown}")
    answers = [f"={field.shown}:0#{feedback}"]
    answers += [f"={_decimal(value)}:{moodle_tolerance(rule, value)}#{feedback}" for value in field.accepted]
    return "{1:NUMERICAL:" + "~".join(answers) + "}"


def _decimal(value: float) -> str:
    """``value`` exactly as its shortest round-trip decimal, positional (Moodle's number syntax)."""
    text = repr(float(value))  # the same shortest digits as NumPy's, an order of magnitude faster
    if "e" in text or "n" in text:  # 1e-05, inf, nan: NumPy writes them positionally
        return np.format_float_positional(value, trim="-")
    return text[:-2] if text.endswith(".0") else text


def quiz_xml(variants: Sequence[tuple[int, VerifiedSolution]], category: str,
             progress: Callable[[int], None] | None = None) -> str:
    """A Moodle XML quiz: a category, then one cloze question per (variant number, solution)."""
    return "".join(quiz_parts(category, [questions_xml(variants, category, progress)]))


def questions_xml(variants: Sequence[tuple[int, VerifiedSolution]], category: str,
                  progress: Callable[[int], None] | None = None,
                  fields_made: Sequence[list[Field]] | None = None) -> list[str]:
    """Each variant's cloze question as the quiz's XML text (:func:`quiz_parts` joins them),
    checked as Moodle imports it (``fields_made``: the variants' fields, when already made)."""
    texts = []
    made = fields_made if fields_made is not None else fields_by_variant(variants, progress)
    for (number_, verified), fields in zip(variants, made):
        html_texts: list[str] = []
        texts.append(_xml(_question(number_, require_verified(verified), fields, html_texts), html_texts))
    # one field per asked quantity of step 1
    check_quiz("".join(quiz_parts(category, [texts])), [len(asked_quantities(v.problem, steps=1)) for _, v in variants])
    return texts


def quiz_parts(category: str, batches: Sequence[Sequence[str]]) -> list[str]:
    """The quiz's text in pieces (written one after another, never joined in memory): the
    declaration, the category, then the questions of each batch in order."""
    head = ET.Element("question", type="category")
    _text(ET.SubElement(head, "category"), f"$course$/top/{category}")
    _text(ET.SubElement(head, "info", format="html"), "")
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n  ', _xml(head, [])]
    parts += [f"\n  {text}" for batch in batches for text in batch]
    return parts + ["\n</quiz>\n"]


def _xml(question: ET.Element, html_texts: list[str]) -> str:
    """One question as ET.indent writes it inside <quiz>, its HTML texts as CDATA (ElementTree
    cannot write CDATA: they went in as markers, replaced here in one pass)."""
    ET.indent(question, level=1)
    body = ET.tostring(question, encoding="unicode")
    return re.sub(r"@@html-(\d+)@@", lambda m: f"<![CDATA[{html_texts[int(m.group(1))]}]]>", body)


#: What Moodle's XML import needs of each question, by type.
REQUIRED = {
    "category": ("category/text",),
    "cloze": ("name/text", "questiontext/text", "generalfeedback/text", "penalty", "hidden"),
}
_ALTERNATIVE = r"=-?[0-9.]+:[0-9.]+#(?:[^{}~\\]|\\[}#])*"
CLOZE_FIELD = re.compile(rf"\{{1:NUMERICAL:{_ALTERNATIVE}(?:~{_ALTERNATIVE})*\}}")


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


def _question(variant: int, verified: VerifiedSolution, fields: list[Field], html_texts: list[str]) -> ET.Element:
    problem = verified.problem
    question = ET.Element("question", type="cloze")
    _text(ET.SubElement(question, "name"), problem.title)
    _text(ET.SubElement(question, "questiontext", format="html"), question_html(verified, fields), html_texts)
    _text(ET.SubElement(question, "generalfeedback", format="html"),
          f"<p>{html.escape(verification_sentence(verified))}.</p>", html_texts)
    for tag, value in (("penalty", "0.3333333"), ("hidden", "0"), ("idnumber", f"variant-{variant}"),
                       ("shuffleanswers", "0")):
        ET.SubElement(question, tag).text = value
    return question


def question_html(verified: VerifiedSolution, fields: list[Field] | None = None) -> str:
    """The question text: the network's numbers, then one embedded answer per asked quantity
    (``fields``: the variant's :func:`cloze_fields`, when made already)."""
    problem = verified.problem
    parts = [given_html(verified)]
    _ = gettext_for(problem.language)
    groups: dict[str, list[str]] = {}
    for field in cloze_fields(verified) if fields is None else fields:
        groups.setdefault(field.group, []).append(
            rf"<tr><td>\({field.label}\)</td><td>{cloze(field, problem.answers)}</td></tr>")
    for group, rows in groups.items():
        parts.append(f"<h5>{_(TITLES[group])}</h5>\n<table>" + "".join(rows) + "</table>")
    return "\n".join(p for p in parts if p)


def given_html(verified: VerifiedSolution) -> str:
    """The network, its numbers, the data and the answer rule, as HTML with MathJax TeX (shared
    with the Canvas quiz, :mod:`derive.canvas`)."""
    problem = verified.problem
    net, N = problem.network, for_problem(problem)
    d = problem.answers.decimals
    _ = gettext_for(problem.language)
    parts = [f"<p>{_instructions_html(problem.instructions)}</p>" if problem.instructions else ""]
    layers = ", ".join(_("layer {l}: {description}").format(l=l, description=html.escape(_(ACTIVATIONS[a].description)))
                       for l, a in enumerate(net.activations, 1))
    parts.append("<p>" + _("Network {layers} ({activations}); loss per example").format(
                     layers="-".join(map(str, net.layers)), activations=layers)
                 + rf" \(L = {LOSSES[net.loss].latex}\); \({_layer_rule(N)}\).</p>")
    for l, (W, b) in enumerate(zip(problem.weights, problem.biases), start=1):
        W, b = (list(zip(*W)), [list(b)]) if N.row else (W, [[v] for v in b])  # as the file gives them
        bias = rf",\quad {N.b_vector(l)} = {pmatrix(b, d)}" if net.bias else ""
        parts.append(rf"<p>\({N.W(l)} = {pmatrix(W, d)}{bias}\)</p>")
    parts.append("<p>" + _("Inputs (one row per example): {X}, targets {Y}.").format(
        X=rf"\(X = {pmatrix(problem.inputs, d)}\)", Y=rf"\(Y = {pmatrix(problem.targets, d)}\)") + "</p>")
    training = problem.training
    parts.append("<p>" + _("Learning rate") + rf" \(\eta = {number(training.learning_rate, d, False)}\)"
                 + (", " + _("L2 penalty") + rf" \(\lambda = {number(training.l2, d, False)}\)" if training.l2 else "")
                 + (_("; one full-batch step") if training.batch_size is None
                    else _("; batches of {size}").format(size=training.batch_size))
                 + _(". Give every answer {rule} (the first step only), with a decimal point: 0.5, not 0,5 (Moodle "
                     "reads a comma as a thousands separator).").format(rule=html.escape(rounding_phrase(problem.answers, _)))
                 + "</p>")
    return "\n".join(p for p in parts if p)


def _instructions_html(text: str) -> str:
    """The instructions as HTML: the inline math derive.safe_math allows as MathJax \\( \\)."""
    return "".join(rf"\({html.escape(part)}\)" if kind == "math" else html.escape(part) for kind, part in segments(text))


def _layer_rule(N: Notation) -> str:
    """How a layer's pre-activation is computed, in the notation and layout of the sheet."""
    if N.row:
        return rf"{N.vector('z', 'l')} = {N.vector('a', 'l-1')} {N.W('l')} + {N.b_vector('l')}"
    return rf"{N.vector('z', 'l')} = {N.W('l')} {N.vector('a', 'l-1')} + {N.b_vector('l')}"


@functools.lru_cache(maxsize=1 << 14)  # the feedback "answer 0.1234" of many fields of a large quiz
def _cloze_escape(text: str) -> str:
    """Plain text as cloze feedback that Moodle's parser turns back into HTML showing ``text``."""
    twice = html.escape(html.escape(text, quote=False), quote=False)
    return twice.translate(_CLOZE_TABLE)


_CLOZE_TABLE = str.maketrans(_CLOZE_ESCAPES)
