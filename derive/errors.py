"""Errors that carry structure; the CLI maps each kind to one message and an exit code."""

from __future__ import annotations


class DeriveError(Exception):
    """Base class of every error derive reports to a user (never as a traceback)."""

    exit_code = 2


class ProblemError(DeriveError):
    """A problem file that cannot be used: names the file, the field and what is wrong."""

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source = source
        self.field = field
        self.message = message
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
