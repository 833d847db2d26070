"""Loading a class roster: a UTF-8 CSV file naming each student (columns ``name`` and ``id``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .errors import ProblemError
from .free_text import text_problem
from .limits import MAX_ROSTER_ID_CHARS, MAX_ROSTER_NAME_CHARS, MAX_VARIANTS
from .spec import Student
from .yaml_reader import decode, read_bytes


ROSTER_COLUMNS = ("name", "id")
_LIMITS = {"name": (MAX_ROSTER_NAME_CHARS, "MAX_ROSTER_NAME_CHARS"), "id": (MAX_ROSTER_ID_CHARS, "MAX_ROSTER_ID_CHARS")}


def load_roster(path: str | Path) -> tuple[Student, ...]:
    """Read a class roster: a UTF-8 CSV file with a header holding (at least) ``name`` and ``id``."""
    source = str(path)
    text = decode(read_bytes(path), source, "; save the roster as UTF-8 CSV", encoding="utf-8-sig")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise ProblemError(source, "", f"not a CSV file ({err})") from None
    if not rows:
        raise ProblemError(source, "", "empty file; expected a header line with the columns name,id")
    header = [cell.strip().lower() for cell in rows[0]]
    for column in ROSTER_COLUMNS:
        if column not in header:
            raise ProblemError(source, "line 1", f"missing column {column!r} (the header must name the columns "
                                                 f"name and id; found {', '.join(map(repr, rows[0])) or 'nothing'})")
    at = {column: header.index(column) for column in ROSTER_COLUMNS}
    students, seen = [], {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line
        cells = {column: row[i].strip() if i < len(row) else "" for column, i in at.items()}
        for column in ROSTER_COLUMNS:
            if not cells[column]:
                raise ProblemError(source, f"line {line}", f"empty {column}")
            limit, limit_name = _LIMITS[column]
            wrong = text_problem(cells[column], limit, limit_name)
            if wrong:
                raise ProblemError(source, f"line {line}", f"{column}: {wrong}")
        if cells["id"] in seen:
            raise ProblemError(source, f"line {line}", f"duplicate id {cells['id']!r} (also on line {seen[cells['id']]})")
        seen[cells["id"]] = line
        students.append(Student(cells["name"], cells["id"]))
    if len(students) > MAX_VARIANTS:
        raise ProblemError(source, "", f"{len(students):,} students, more than the limit of {MAX_VARIANTS:,} "
                                       "(limits.MAX_VARIANTS)")
    if not students:
        raise ProblemError(source, "", "no students listed below the header")
    return tuple(students)
