"""Batches of work in worker processes (the CLI's, for large exam sets).

:func:`run_batches` calls a pure function on each batch of arguments and yields the results in
order: in this process when one worker is asked for, else in a pool of fresh ("spawn") worker
processes, one per core. The results do not depend on how the batches are shared out: a
function given to it must make each batch from its arguments alone.

A worker ignores Ctrl-C: the main process handles it (one line, no traceback) and ends the
pool. A :class:`~derive.errors.DeriveError` raised in a worker comes back as its message and
exit code (exceptions with their own constructors do not survive pickling).
"""

from __future__ import annotations

import multiprocessing
import signal
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from .errors import DeriveError


@dataclass(frozen=True)
class _Failure:
    """A worker's DeriveError, as data."""

    message: str
    exit_code: int


class WorkerError(DeriveError):
    """A DeriveError raised in a worker process, with the worker's message and exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run_batches(function: Callable[..., Any], batches: Sequence[tuple], workers: int,
                done: Callable[[Any], None] | None = None) -> Iterator[Any]:
    """``function(*batch)`` of each batch, in order, in ``workers`` processes (1: this one);
    ``done`` is called with each result as it arrives."""
    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            result = function(*batch)
            if done is not None:
                done(result)
            yield result
        return
    pool = multiprocessing.get_context("spawn").Pool(min(workers, len(batches)), initializer=_ignore_interrupts)
    try:
        for outcome in pool.imap(_Call(function), batches):
            if isinstance(outcome, _Failure):
                raise WorkerError(outcome.message, outcome.exit_code)
            if done is not None:
                done(outcome)
            yield outcome
        pool.close()
    finally:
        pool.terminate()  # at once, also on Ctrl-C or an error: the remaining batches are not wanted
        pool.join()


@dataclass(frozen=True)
class _Call:
    """``function(*batch)`` in a worker, a DeriveError returned as a :class:`_Failure`."""

    function: Callable[..., Any]

    def __call__(self, batch: tuple) -> Any:
        try:
            return self.function(*batch)
        except DeriveError as err:
            return _Failure(str(err), err.exit_code)


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
