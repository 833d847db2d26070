"""Loader: reads a YAML problem file and validates it into immutable data.

The public entry of the loader's parts: :mod:`derive.yaml_reader` reads the file and parses the
YAML, :mod:`derive.schema` checks each field's shape and type, :mod:`derive.problem_checks` the
whole problem; :mod:`derive.roster` reads class rosters. Each failure is one
:class:`ProblemError` naming the file and the field.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .errors import ProblemError
from .problem_checks import build, target_error
from .roster import load_roster
from .schema import validate
from .spec import Problem
from .yaml_reader import decode, read_bytes, read_text, read_yaml

__all__ = ["load_problem", "parse_problem", "load_roster", "read_text", "read_yaml", "target_error"]


def load_problem(path: str | Path) -> Problem:
    """Read and validate a problem file; raise :class:`ProblemError` on any problem."""
    raw_bytes = read_bytes(path)
    return parse_problem(decode(raw_bytes, str(path)), str(path), sha256=hashlib.sha256(raw_bytes).hexdigest())


def parse_problem(text: str, source: str = "<string>", sha256: str = "") -> Problem:
    """Validate YAML text into a :class:`Problem` (``source`` names it in errors)."""
    document = read_yaml(text, source)
    if not isinstance(document, dict):
        raise ProblemError(source, "", "expected a mapping with title, network, parameters, data, training")
    return build(validate(document, source), source, sha256)
