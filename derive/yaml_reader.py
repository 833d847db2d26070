"""Reading input files: the bytes of a regular file, its UTF-8 text, and YAML parsed safely.

One of the few modules that touch files. Every problem is a :class:`ProblemError` naming the file
(and, for YAML, the line), so a caller never sees an ``OSError`` or a ``yaml.YAMLError``.

Only regular files are read (a FIFO would block, a device never ends), at most
:data:`~derive.limits.MAX_FILE_BYTES` of them. YAML is read as YAML 1.2 reads numbers (``1e-3``,
``5E-1``, ``.5``, ``+0.5`` are numbers, where YAML 1.1 would give strings), with merge keys
(``<<: *defaults``), no key given twice, and at most :data:`~derive.limits.MAX_YAML_DEPTH`
levels of nesting, checked on the tokens before any recursive step can overflow the stack.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import yaml

from .errors import ProblemError
from .limits import MAX_FILE_BYTES, MAX_YAML_DEPTH

_FLOAT = "tag:yaml.org,2002:float"
# YAML 1.2's numbers (exponent without a dot or a sign, a sign before a leading dot), plus
# PyYAML's own 1.1 forms (1_000.5, 1:30.0, .inf, .nan).
_FLOAT_PATTERN = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)
_OPENING = (yaml.BlockSequenceStartToken, yaml.BlockMappingStartToken, yaml.FlowSequenceStartToken,
            yaml.FlowMappingStartToken)
_CLOSING = (yaml.BlockEndToken, yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)


class _Resolver(yaml.resolver.Resolver):
    """YAML 1.2's numbers in place of YAML 1.1's floats."""

    yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != _FLOAT]
        for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }


_Resolver.add_implicit_resolver(_FLOAT, _FLOAT_PATTERN, list("-+0123456789."))


class _Constructor(yaml.constructor.SafeConstructor):
    """SafeConstructor that rejects a key given twice (YAML would silently keep the last one);
    keys brought in by a merge key (``<<``) may be overridden, as YAML intends."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


# libyaml's parser when PyYAML was built with it (about 20 times faster than PyYAML's own).
_Parser = yaml.cyaml.CParser if yaml.__with_libyaml__ else None


class _Loader(_Parser or yaml.SafeLoader, _Constructor, _Resolver):  # type: ignore[misc]
    """A safe loader (no tags beyond YAML's own) with the resolver and constructor above."""

    def __init__(self, stream):
        (_Parser or yaml.SafeLoader).__init__(self, stream)
        _Constructor.__init__(self)
        _Resolver.__init__(self)


def read_bytes(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed); a :class:`ProblemError` if
    it is missing, not a regular file, unreadable or larger than ``limit`` bytes."""
    source = str(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not wait; it is refused just below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ProblemError(source, "", "file not found") from None
    except OSError as err:
        raise ProblemError(source, "", f"cannot read the file ({err.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ProblemError(source, "", "cannot read: not a regular file (a folder, device or pipe)")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as err:
        raise ProblemError(source, "", f"cannot read the file ({err.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ProblemError(source, "", f"larger than the limit of {limit:,} bytes (limits.MAX_FILE_BYTES)")
    return data


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
    """Parse YAML text; a :class:`ProblemError` names the line of a syntax error, a duplicate
    key or nesting deeper than :data:`~derive.limits.MAX_YAML_DEPTH`."""
    try:
        _check_depth(text, source)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ProblemError(source, "", f"YAML syntax error at {where}{problem}") from None


def _check_depth(text: str, source: str) -> None:
    """Refuse nesting deeper than the limit, reading tokens (the scanner does not recurse)."""
    depth = 0
    for token in yaml.scan(text, Loader=_Loader):
        if isinstance(token, _OPENING):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                line = token.start_mark.line + 1
                raise ProblemError(source, "", f"nested more than {MAX_YAML_DEPTH} levels deep at line {line} "
                                               "(limits.MAX_YAML_DEPTH)")
        elif isinstance(token, _CLOSING):
            depth -= 1
