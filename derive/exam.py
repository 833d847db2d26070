"""Stage 4b, exam sets: N verified variants of one problem and the documents made from them.

A pure core (no files, no processes). :func:`solve_variants` draws each variant
(:func:`derive.randomise.make_variants`) and runs them through substitution and verification
together (:func:`derive.pipeline.solve_many`): one derivation, the formulas evaluated and checked
for a batch of variants at once, stacked on a leading array axis.
:func:`exam_documents` and :func:`key_documents` lay the sheets out as LaTeX, optionally cut
into several complete documents so they can be compiled in parallel and joined;
:func:`key_json` is the machine-readable key. Writing and compiling are :mod:`derive.pdf`'s job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .answer_key import answer_key
from .errors import DeriveError, ProblemError
from .limits import MAX_VARIANTS
from .randomise import make_variants, numbers
from .sheet import derivation_body, escape, final_answers_body, worked_body, worksheet_body
from .spec import Problem, Student
from .pipeline import solve_many
from .templating import render_parts
from .verify import VerifiedSolution

KEY_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Variant:
    """One verified variant and the students who get it (none without a roster)."""

    number: int
    verified: VerifiedSolution
    students: tuple[Student, ...] = ()


@dataclass(frozen=True)
class Block:
    """One piece of a collected document: a kind (sheet, answers, derivation, worked), the
    finished LaTeX body, and what its heading and page footer show (already escaped)."""

    kind: str
    body: str
    variant: int = 0
    name: str = ""
    id: str = ""


def variant_numbers(count: int | None, roster: Sequence[Student] = ()) -> list[int]:
    """The variant of each worksheet: 1..count, or one per student (cycling through ``count``
    variants when both are given)."""
    if count is not None and count < 1:
        raise DeriveError(f"--variants: need at least 1 variant, got {count}")
    if count is not None and count > MAX_VARIANTS:
        raise DeriveError(f"--variants: {count:,} variants, more than the limit of {MAX_VARIANTS:,} (limits.MAX_VARIANTS)")
    if roster:
        return [i % count + 1 if count else i + 1 for i in range(len(roster))]
    if count is None:
        raise DeriveError("give --variants N or --roster FILE (or both)")
    return list(range(1, count + 1))


def solve_variants(problem: Problem, seed: int, sheets: Sequence[int], roster: Sequence[Student] = (),
                   progress: Callable[[int], None] | None = None) -> tuple[Variant, ...]:
    """Draw, substitute and verify every variant that ``sheets`` uses, deriving the formulas once."""
    if problem.randomisation is None:
        raise ProblemError(problem.source, "randomisation", "missing: the problem has no randomisation section, so it has no variants")
    students: dict[int, list[Student]] = {}
    for number, student in zip(sheets, roster):
        students.setdefault(number, []).append(student)
    numbers = sorted(set(sheets))
    variants = []
    for start in range(0, len(numbers), BATCH):
        chunk = numbers[start:start + BATCH]
        for number, verified in zip(chunk, solve_many(make_variants(problem, seed, chunk))):
            variants.append(Variant(number, verified, tuple(students.get(number, ()))))
        if progress is not None:
            progress(len(chunk))
    return tuple(variants)


#: Variants drawn, solved and verified together: big enough for NumPy to pay off, small
#: enough for the progress bar to move and the stacked arrays to stay small.
BATCH = 250


def exam_blocks(variants: Sequence[Variant], sheets: Sequence[int], roster: Sequence[Student] = (),
                progress: Callable[[int], None] | None = None) -> list[Block]:
    """One block per printed worksheet, stamped with its variant (and student)."""
    bodies = {}
    for v in variants:
        bodies[v.number] = worksheet_body(v.verified)
        _tick(progress)
    return _stamped(bodies, sheets, roster)


def _stamped(bodies: dict[int, str], sheets: Sequence[int], roster: Sequence[Student]) -> list[Block]:
    """A block per printed sheet: the body of its variant, with the i-th student's name on the i-th."""
    blocks = []
    for i, number in enumerate(sheets):
        student = roster[i] if i < len(roster) else None
        blocks.append(Block("sheet", bodies[number], number,
                            escape(student.name) if student else "", escape(student.id) if student else ""))
    return blocks


def key_blocks(variants: Sequence[Variant], progress: Callable[[int], None] | None = None) -> list[Block]:
    """A page of final answers per variant, then the derivation once, then every worked solution."""
    answers, worked = [], []
    for v in variants:
        answers.append(Block("answers", final_answers_body(v.verified), v.number, _names(v)))
        worked.append(Block("worked", worked_body(v.verified, with_tables=False), v.number, _names(v)))
        _tick(progress)
    return [*answers, Block("derivation", derivation_body(variants[0].verified)), *worked]


def _tick(progress: Callable[[int], None] | None) -> None:
    if progress is not None:
        progress(1)


def _names(variant: Variant) -> str:
    return escape(", ".join(f"{s.name} ({s.id})" for s in variant.students))


def document(blocks: Sequence[Block], title: str, seed: int, first: bool = True, language: str = "en") -> str:
    """A complete LaTeX document of ``blocks`` (``first``: this piece opens the whole document)."""
    return "".join(document_parts(blocks, title, seed, first, language))


def document_parts(blocks: Sequence[Block], title: str, seed: int, first: bool = True, language: str = "en") -> list[str]:
    """:func:`document` in pieces, to be written one after another (never joined in memory)."""
    return render_parts("collection.tex.j2", dict(blocks=blocks, title=title, seed=seed, first=first), language)


def documents(blocks: Sequence[Block], title: str, seed: int, parts: int = 1, language: str = "en") -> list[str]:
    """The blocks as ``parts`` complete documents of about equal length, in order."""
    pieces = split(blocks, parts, weight=lambda b: len(b.body))
    return [document(piece, title, seed, first=i == 0, language=language) for i, piece in enumerate(pieces)]


def split(items: Sequence, parts: int, weight: Callable[[Any], int]) -> list[list]:
    """Contiguous runs of ``items`` with about equal total weight (at most ``parts``, none empty)."""
    total = sum(weight(item) for item in items) or 1
    pieces: list[list] = [[]]
    done = 0
    for item in items:
        if pieces[-1] and done >= total * len(pieces) / parts:
            pieces.append([])
        pieces[-1].append(item)
        done += weight(item)
    return pieces


# ----------------------------------------------------------------------------------------------
# A large set a batch at a time: each batch of variants becomes finished text (its solutions are
# then let go), and the outputs are joined from the batches' text in order. The batches are
# independent (variant k does not depend on the others), so they may be made in parallel.


@dataclass(frozen=True)
class ExamRequest:
    """What a run makes of each batch of an exam's variants (the same for every batch)."""

    problem: Problem
    seed: int
    students: tuple[tuple[int, tuple[Student, ...]], ...] = ()  # variant -> its students
    quiz_category: str | None = None  # quiz.xml's category; None: no Moodle quiz
    canvas: bool = False


@dataclass(frozen=True)
class ExamPiece:
    """A batch of variants as finished text for each output, in the order of ``numbers``."""

    numbers: tuple[int, ...]
    sheets: tuple[str, ...]  # worksheet bodies
    answers: tuple[Block, ...]  # final-answers pages of the key
    worked: tuple[Block, ...]  # worked solutions of the key
    key_entries: tuple[str, ...]  # key.json's entries, as JSON text indented as there
    questions: tuple[str, ...] = ()  # quiz.xml's questions
    canvas: tuple = ()  # canvas.CanvasGroup of each variant
    derivation: str = ""  # the key's derivation (in the batch that holds the set's first variant)


def exam_request(problem: Problem, seed: int, sheets: Sequence[int], roster: Sequence[Student] = (),
                 quiz_category: str | None = None, canvas: bool = False) -> ExamRequest:
    """The request for an exam of ``sheets`` (a variant per printed sheet, the i-th for the i-th
    student of ``roster`` when there is one)."""
    if problem.randomisation is None:
        raise ProblemError(problem.source, "randomisation", "missing: the problem has no randomisation section, so it has no variants")
    students: dict[int, list[Student]] = {}
    for number, student in zip(sheets, roster):
        students.setdefault(number, []).append(student)
    return ExamRequest(problem, seed, tuple((n, tuple(s)) for n, s in sorted(students.items())), quiz_category, canvas)


def exam_batches(request: ExamRequest, sheets: Sequence[int], size: int = BATCH
                 ) -> list[tuple[ExamRequest, tuple[int, ...], bool]]:
    """The arguments of :func:`exam_piece` for each batch (of ``size`` variants) of those ``sheets`` uses."""
    numbers = sorted(set(sheets))
    return [(request, tuple(numbers[start:start + size]), start == 0) for start in range(0, len(numbers), size)]


#: From this many variants on, an exam is made in one worker process per core (below it,
#: starting the workers, each importing SymPy and deriving the formulas, costs more than it saves),
#: in batches of PARALLEL_BATCH (smaller: the workers finish together).
PARALLEL_FROM = 1000
PARALLEL_BATCH = 100


def exam_piece(request: ExamRequest, numbers: Sequence[int], first: bool = False) -> ExamPiece:
    """Draw, solve and verify the variants ``numbers`` and lay out everything made of them
    (``first``: this batch also writes the derivation, the same for every variant)."""
    from .canvas import canvas_groups  # noqa: PLC0415 (canvas imports this module's neighbours)
    from .moodle import fields_by_variant, questions_xml  # noqa: PLC0415

    students = dict(request.students)
    variants = [Variant(v.number, v.verified, students.get(v.number, ()))
                for v in solve_variants(request.problem, request.seed, list(numbers))]
    pairs = [(v.number, v.verified) for v in variants]
    pages = [_pages(v) for v in variants]  # a variant's pages in turn: they share its drawing and tables
    quiz = request.quiz_category is not None
    fields = list(fields_by_variant(pairs)) if quiz and request.canvas else None  # both quizzes ask the same
    return ExamPiece(
        numbers=tuple(numbers),
        sheets=tuple(sheet for sheet, _, _ in pages),
        answers=tuple(answers for _, answers, _ in pages),
        worked=tuple(worked for _, _, worked in pages),
        key_entries=tuple(_indented(json.dumps(key_entry(v), indent=2)) for v in variants),
        questions=tuple(questions_xml(pairs, request.quiz_category, fields_made=fields)) if quiz else (),
        canvas=tuple(canvas_groups(pairs, fields)) if request.canvas else (),
        derivation=derivation_body(variants[0].verified) if first else "",
    )


def _pages(v: Variant) -> tuple[str, Block, Block]:
    """A variant's worksheet body, its final-answers page and its worked solution."""
    return (worksheet_body(v.verified), Block("answers", final_answers_body(v.verified), v.number, _names(v)),
            Block("worked", worked_body(v.verified, with_tables=False), v.number, _names(v)))


def _indented(text: str) -> str:
    """JSON text of a key.json entry as it stands in the list of variants (4 spaces deeper)."""
    return text.replace("\n", "\n    ")


def sheet_blocks(pieces: Sequence[ExamPiece], sheets: Sequence[int], roster: Sequence[Student] = ()) -> list[Block]:
    """One block per printed worksheet (as :func:`exam_blocks`), from the batches' text."""
    return _stamped({number: body for piece in pieces for number, body in zip(piece.numbers, piece.sheets)},
                    sheets, roster)


def answer_blocks(pieces: Sequence[ExamPiece]) -> list[Block]:
    """The key's blocks (as :func:`key_blocks`): every final-answers page, the derivation, every
    worked solution."""
    derivation = next(piece.derivation for piece in pieces if piece.derivation)
    return [*(b for piece in pieces for b in piece.answers), Block("derivation", derivation),
            *(b for piece in pieces for b in piece.worked)]


def key_json_parts(problem: Problem, seed: int, pieces: Sequence[ExamPiece]) -> list[str]:
    """key.json's text in pieces (``json.dumps(key_json(...), indent=2)`` and a newline, to the
    byte, without holding every variant's key as objects at once)."""
    head = json.dumps(dict(_key_head(problem, seed), variants=["@@variants@@"]), indent=2)
    before, after = head.split('"@@variants@@"')
    entries = [entry for piece in pieces for entry in piece.key_entries]
    return [before, *(part for i, entry in enumerate(entries) for part in ((",\n    " if i else ""), entry)),
            after, "\n"]


def _key_head(problem: Problem, seed: int) -> dict[str, Any]:
    return {"schema": KEY_SCHEMA_VERSION, "title": problem.title, "source": problem.source,
            "sha256": problem.sha256, "seed": seed}


def key_entry(variant: Variant) -> dict[str, Any]:
    """One variant's entry of key.json: its numbers (as problem-file keys) and verified key."""
    entry = {"variant": variant.number, "numbers": numbers(variant.verified.problem), "key": answer_key(variant.verified)}
    if variant.students:
        entry["students"] = [{"name": s.name, "id": s.id} for s in variant.students]
    return entry


def key_json(problem: Problem, seed: int, variants: Sequence[Variant]) -> dict[str, Any]:
    """Every variant's numbers (as problem-file keys) and verified key (as ``derive solve --json``)."""
    return dict(_key_head(problem, seed), variants=[key_entry(v) for v in variants])
