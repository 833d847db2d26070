"""The ``derive`` command's entry point: signal handling first, then the CLI.

Installed before the CLI (and SymPy, which takes a second or two) is imported, so that Ctrl-C
at any moment prints one line and exits 130, and SIGTERM one line and 143, never a traceback.
Both unwind the stack like an exception, so temporary files and folders (the LaTeX build
folders, the staging folder of an exam) are removed on the way out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from .errors import Interrupted


def _terminate(signum, frame) -> None:
    raise Interrupted("terminated", 128 + signal.SIGTERM)


def run() -> None:
    """Run the command line (``derive ...`` and ``python -m derive ...``)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        try:
            from .cli import main

            main()
        except KeyboardInterrupt:
            raise Interrupted("interrupted", 128 + signal.SIGINT) from None
        except SystemExit:
            _finished()
            raise
        _finished()
    except Interrupted as interruption:
        stop(interruption)


def _finished() -> None:
    """The command has done its work and is exiting: a Ctrl-C now would only turn a finished run
    into death by SIGINT during the interpreter's shutdown, so it is ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop(interruption: Interrupted) -> None:
    """Report an interruption in one line and exit with its code, at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(f"error: {interruption}", file=sys.stderr, flush=True)
    with contextlib.suppress(OSError):
        sys.stdout.flush()
    # The stack has unwound (temporary files removed, threads joined). Exit now: CPython would
    # turn this exit into death by SIGINT (-2) when a KeyboardInterrupt passed through the
    # middle of an import.
    os._exit(interruption.exit_code)
