"""Errors that carry structure; the CLI maps each kind to one message and an exit code."""

from __future__ import annotations

import reprlib

MAX_QUOTED_CHARS = 80
"""A value quoted in an error line is cut to this length (an alias bomb must not fill a terminal)."""

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = MAX_QUOTED_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 10
_REPR.maxlevel = 3


def shown(value: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """``repr(value)`` on one line and at most ``limit`` characters, without building the whole
    repr of a huge value."""
    text = _REPR.repr(value) if not isinstance(value, str) else repr(value)
    return one_line(text, limit)


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` with line breaks and other control characters escaped, cut to ``limit``."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class DeriveError(Exception):
    """Base class of every error derive reports to a user (never as a traceback)."""

    exit_code = 2


class ProblemError(DeriveError):
    """A problem file that cannot be used: names the file, the field and what is wrong."""

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source = source
        self.field = field = one_line(field, MAX_QUOTED_CHARS)
        self.message = message = one_line(message)
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}")


class VerificationError(DeriveError):
    """The answer key disagrees with the independent NumPy implementation or finite differences."""

    exit_code = 3

    def __init__(self, disagreements: list[str]) -> None:
        self.disagreements = disagreements
        shown = "\n  ".join(disagreements[:10])
        more = f"\n  ... and {len(disagreements) - 10} more" if len(disagreements) > 10 else ""
        super().__init__(
            f"the answer key failed verification, so none was written:\n  {shown}{more}"
        )


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: the run stops, cleaning up as it unwinds (a BaseException, so that no
    ``except Exception`` swallows it and click does not turn it into "Aborted!")."""

    def __init__(self, what: str, exit_code: int) -> None:
        self.exit_code = exit_code
        super().__init__(what)
