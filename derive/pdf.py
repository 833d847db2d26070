"""Stage 5, the PDF builder: writes a sheet's .tex files and compiles them with a TeX engine;
compiles an exam's parts in parallel and joins them.

One of the few modules that touch files and run processes. Each document is compiled in its own
temporary folder (latexmk -pdf, or pdflatex twice), never with shell escape, and a finished PDF
is moved into place only when every document compiled: a failure leaves no partial or stale PDF
and reports the lines of the LaTeX log that say what went wrong.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .files import provenance, with_provenance, write_run
from .errors import DeriveError
from .sheet import Compared, answers_tex, worksheet_tex
from .verify import VerifiedSolution, require_verified

TIMEOUT_SECONDS = 300
LOG_LINES_AFTER_ERROR = 4
# Fixed dates in the PDF (with \pdfinfoomitdate and \pdftrailerid{} in the preamble) so the same
# input gives the same bytes; paranoid file access so a document cannot read or write outside.
_ENV = {"SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1", "openout_any": "p", "openin_any": "p"}


# The TeX processes running now, so that an interrupted run (Ctrl-C, SIGTERM) can stop them and
# its threads can remove their temporary folders before the process exits.
_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()


class LatexError(DeriveError):
    """LaTeX did not produce a PDF: carries the relevant lines of the log."""

    exit_code = 4

    def __init__(self, document: str, excerpt: str) -> None:
        self.document = document
        self.excerpt = excerpt
        super().__init__(f"LaTeX failed on {document}; no PDF was written. From the log:\n{excerpt}")


class NoTexEngineError(DeriveError):
    """Neither latexmk nor pdflatex is installed."""

    exit_code = 4

    def __init__(self) -> None:
        super().__init__("no TeX engine found (latexmk or pdflatex); use --tex-only to write the .tex files only")


@dataclass(frozen=True)
class Engine:
    """How to run TeX: the command for one document in the current folder."""

    command: tuple[str, ...]
    passes: int

    @staticmethod
    def find(single_pass: bool = False) -> "Engine":
        """latexmk (as many passes as the document needs), or pdflatex twice; ``single_pass``:
        pdflatex once, for documents without cross-references (twice as fast as latexmk)."""
        flags = ("-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape")
        if single_pass and shutil.which("pdflatex"):
            return Engine(("pdflatex", *flags), 1)
        if shutil.which("latexmk") and shutil.which("pdflatex"):
            # -norc: no latexmkrc may switch shell escape back on or change the engine.
            return Engine(("latexmk", "-norc", "-pdf", "-quiet", *flags), 1)
        if shutil.which("pdflatex"):
            return Engine(("pdflatex", *flags), 2)
        raise NoTexEngineError()


def build_sheet(verified: VerifiedSolution, out_dir: Path, tex_only: bool = False, compared: Compared = (),
                force: bool = False) -> list[Path]:
    """Write worksheet.tex and answers.tex into ``out_dir`` and, unless ``tex_only``, their PDFs.

    Returns the paths written; the folder then holds exactly these of derive's files (see
    :func:`derive.files.write_run`, which refuses to replace a file derive did not write unless
    ``force``). Raises :class:`NoTexEngineError` before writing anything when a PDF is wanted and
    no engine is installed, and :class:`LatexError` when a document fails (``out_dir`` then holds
    the .tex files, and no earlier PDF of derive's that could pass for this run's).
    """
    verified = require_verified(verified)
    line = provenance(verified.problem.source, verified.problem.sha256)
    sources = {name: with_provenance(f"{name}.tex", tex, line)
               for name, tex in (("worksheet", worksheet_tex(verified)), ("answers", answers_tex(verified, compared)))}
    engine = None if tex_only else Engine.find()
    files: dict[str, str | bytes] = {f"{name}.tex": tex for name, tex in sources.items()}
    if engine is not None:
        try:
            with _pool(len(sources)) as pool:
                compiled = list(pool.map(lambda item: compile_pdf(item[1], item[0], engine), sources.items()))
        except BaseException:
            # This run's .tex files (to look at what failed) and none of derive's earlier PDFs.
            with contextlib.suppress(DeriveError):
                write_run(Path(out_dir), files, force=force)
            raise
        files.update({f"{name}.pdf": content for name, content in zip(sources, compiled)})
    return write_run(Path(out_dir), files, force=force)


def _run(command: list[str], cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """``subprocess.run`` that registers the process so :func:`_pool` can stop it."""
    with _RUNNING_LOCK:
        if _STOPPING.is_set():
            raise DeriveError("stopped: the run was interrupted")
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        _RUNNING.add(process)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@contextlib.contextmanager
def _pool(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, when the main thread is interrupted, cancels the queued jobs and kills
    the running TeX processes, then waits for the threads to remove their temporary folders."""
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        with _RUNNING_LOCK:
            _STOPPING.set()
            for process in _RUNNING:
                process.kill()
        raise
    finally:
        pool.shutdown(wait=True)
        _STOPPING.clear()


def compile_pdf(tex: str, name: str = "document", engine: Engine | None = None,
                assets: dict[str, bytes] | None = None) -> bytes:
    """Compile LaTeX source in a temporary folder and return the PDF's bytes; ``assets`` are
    files the document includes (figures), placed beside it by name."""
    engine = engine or Engine.find()
    with tempfile.TemporaryDirectory(prefix="derive-tex-") as folder:
        work = Path(folder)
        (work / f"{name}.tex").write_text(tex, encoding="utf-8")
        for asset, content in (assets or {}).items():
            (work / asset).write_bytes(content)
        env = {**os.environ, **_ENV}
        for _ in range(engine.passes):
            try:
                result = _run([*engine.command, f"{name}.tex"], cwd=work, env=env)
            except subprocess.TimeoutExpired:
                raise LatexError(f"{name}.tex", f"(no result after {TIMEOUT_SECONDS} s)") from None
            if result.returncode != 0:
                break
        pdf = work / f"{name}.pdf"
        if result.returncode != 0 or not pdf.is_file():
            log = work / f"{name}.log"
            text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else result.stdout.decode(errors="replace")
            raise LatexError(f"{name}.tex", log_excerpt(text))
        return pdf.read_bytes()


def log_excerpt(log: str) -> str:
    """The error lines of a LaTeX log (lines starting with '!' and the few after each), or the
    log's tail when there are none."""
    lines = log.splitlines()
    picked: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("!"):
            picked += [l for l in lines[i : i + 1 + LOG_LINES_AFTER_ERROR] if l.strip()]
    return "\n".join(f"  {l}" for l in (picked or lines[-15:]))


def compile_joined(parts: dict[str, list[str]], engine: Engine, workers: int | None = None,
                   done: Callable[[], None] | None = None) -> dict[str, bytes]:
    """Compile every part of every named document concurrently, then join each document's parts
    in order (with pdfunite). ``done`` is called after each part compiles."""
    workers = workers or os.cpu_count() or 1
    jobs = [(name, i, tex) for name, texts in parts.items() for i, tex in enumerate(texts)]
    if any(len(texts) > 1 for texts in parts.values()) and not shutil.which("pdfunite"):
        raise DeriveError("pdfunite (poppler-utils) is needed to join the parts of a PDF; install poppler-utils")

    def run(job: tuple[str, int, str]) -> bytes:
        name, i, tex = job
        pdf = compile_pdf(tex, name if len(parts[name]) == 1 else f"{name}-part{i + 1}", engine)
        if done is not None:
            done()
        return pdf

    # The longest parts first, so that no core waits for one long part at the end.
    order = sorted(range(len(jobs)), key=lambda j: -len(jobs[j][2]))
    with _pool(workers) as pool:
        compiled = dict(zip(order, pool.map(run, [jobs[j] for j in order])))
    result = {}
    for name in parts:
        pieces = [compiled[j] for j, job in enumerate(jobs) if job[0] == name]
        result[name] = pieces[0] if len(pieces) == 1 else join_pdfs(pieces)
    return result


def join_pdfs(pdfs: list[bytes]) -> bytes:
    """One PDF of the pages of ``pdfs``, in order (poppler's pdfunite)."""
    with tempfile.TemporaryDirectory(prefix="derive-join-") as folder:
        work = Path(folder)
        names = []
        for i, content in enumerate(pdfs):
            names.append(str(work / f"part{i:04d}.pdf"))
            Path(names[-1]).write_bytes(content)
        try:
            result = _run(["pdfunite", *names, str(work / "joined.pdf")])
        except subprocess.TimeoutExpired:
            raise DeriveError(f"pdfunite could not join the PDF parts in {TIMEOUT_SECONDS} s") from None
        if result.returncode != 0:
            raise DeriveError(f"pdfunite could not join the PDF parts: {result.stderr.decode(errors='replace').strip()}")
        return (work / "joined.pdf").read_bytes()
