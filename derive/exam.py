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

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .answer_key import answer_key
from .errors import DeriveError, ProblemError
from .limits import MAX_VARIANTS
from .randomise import make_variants, numbers
from .sheet import derivation_body, escape, final_answers_body, worked_body, worksheet_body
from .spec import Problem, Student
from .pipeline import solve_many
from .templating import render
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
    return render("collection.tex.j2", dict(blocks=blocks, title=title, seed=seed, first=first), language)


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


def key_json(problem: Problem, seed: int, variants: Sequence[Variant]) -> dict[str, Any]:
    """Every variant's numbers (as problem-file keys) and verified key (as ``derive solve --json``)."""
    result: dict[str, Any] = {
        "schema": KEY_SCHEMA_VERSION,
        "title": problem.title,
        "source": problem.source,
        "sha256": problem.sha256,
        "seed": seed,
        "variants": [],
    }
    for v in variants:
        entry = {"variant": v.number, "numbers": numbers(v.verified.problem), "key": answer_key(v.verified)}
        if v.students:
            entry["students"] = [{"name": s.name, "id": s.id} for s in v.students]
        result["variants"].append(entry)
    return result
