"""Reading input files: the bytes of a regular file, its UTF-8 text, and YAML parsed safely.

One of the few modules that touch files. Every problem is a :class:`ProblemError` naming the file
(and, for YAML, the line), so a caller never sees an ``OSError`` or a ``yaml.YAMLError``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import ProblemError


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice (YAML would silently keep the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_bytes(path: str | Path) -> bytes:
    """The bytes of the file at ``path``; a :class:`ProblemError` if it cannot be read."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ProblemError(str(path), "", "file not found") from None
    except OSError as err:
        raise ProblemError(str(path), "", f"cannot read the file ({err.strerror})") from None


def decode(data: bytes, source: str, hint: str = "", encoding: str = "utf-8") -> str:
    """``data`` as UTF-8 text; a :class:`ProblemError` naming the first bad byte otherwise."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise ProblemError(source, "", f"not UTF-8 text (byte {err.start}){hint}") from None


def read_text(path: str | Path) -> str:
    """The UTF-8 text of a file (an answers file, say); a :class:`ProblemError` if it cannot be read."""
    return decode(read_bytes(path), str(path))


def read_yaml(text: str, source: str):
    """Parse YAML text (duplicate keys rejected); a :class:`ProblemError` names the line."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ProblemError(source, "", f"YAML syntax error at {where}{problem}") from None
