"""Writing outputs: atomically, never over a file that is not derive's own, and saying where
every file came from.

* :func:`write_atomically`: a temporary file in the same folder, moved into place, with the
  permissions the umask gives (not mkstemp's 0600).
* :func:`write_file`: one output file (``solve --json``, ``check --template``): ``-`` is standard
  output; a symlink is followed; a target that is not a regular file (a device, a pipe) is
  written through, never replaced; a regular file is replaced only when it is empty, derive's
  own output (the caller says how to recognise it) or with ``force``.
* :func:`write_run`: the files of one run into an output folder (``sheet``, ``exam``), staged
  beside it and moved in together. The folder's manifest (:data:`MANIFEST`) lists what derive
  wrote there and each file's sha256, so the next run removes derive's earlier files it does not
  write again (a stale ``quiz.xml`` or PDF), and refuses, naming them, to replace or remove a
  file derive did not write or that was changed since, unless ``force``.
* :func:`provenance`: the comment line that opens every .tex, .xml and .yaml file derive writes,
  naming the problem file, its sha256 and the seed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable

from .errors import DeriveError, one_line

MANIFEST = "derive-manifest.json"

#: A file's text in pieces, written one after another (a large exam's 200 MB quiz is never
#: joined into one string, nor encoded whole).
Parts = list[str]
_UMASK_LOCK = threading.Lock()
_COMMENTS = {".tex": "% {}\n", ".yaml": "# {}\n", ".xml": "<!-- {} -->\n", ".py": "# {}\n"}


def provenance(source: str, sha256: str, seed: int | None = None, variant: int | None = None) -> str:
    """``Written by derive from p.yaml (sha256 ...), seed 7.``: where a file came from."""
    seed_text = "no seed" if seed is None else f"seed {seed}" + ("" if variant is None else f", variant {variant}")
    return one_line(f"Written by derive from {source} (sha256 {sha256 or 'unknown'}), {seed_text}.")


def with_provenance(name: str, content: str | Parts, line: str) -> str | Parts:
    """``content`` of the file ``name`` with ``line`` as a comment at its top (after an XML
    declaration); other kinds (JSON, which carries sha256 and seed as keys) unchanged. Content
    in parts gets the comment in its first part."""
    if isinstance(content, list):
        return [with_provenance(name, content[0], line), *content[1:]] if content else content
    suffix = Path(name).suffix
    if suffix not in _COMMENTS:
        return content
    comment = _COMMENTS[suffix].format(line.replace("--", "- -") if suffix == ".xml" else line)
    if suffix == ".xml" and content.startswith("<?xml"):
        declaration, _, rest = content.partition("\n")
        return f"{declaration}\n{comment}{rest}"
    return comment + content


def _mode() -> int:
    """0o666 less the process's umask (read by setting it, so under a lock)."""
    with _UMASK_LOCK:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: Path, content: str | bytes) -> Path:
    """Write ``content`` to ``path`` so that a failure never leaves a half-written file."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise DeriveError(f"{path}: cannot write ({err.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _mode())
            handle.write(data)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise DeriveError(f"{path}: cannot write ({err.strerror})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_file(path: Path | str, content: str, is_own: Callable[[str], bool], force: bool = False) -> str:
    """Write one output file (see the module's docstring); returns where it went."""
    if str(path) == "-":
        sys.stdout.write(content)
        sys.stdout.flush()
        return "standard output"
    try:
        mode = os.stat(path).st_mode  # through symlinks, to what is written
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise DeriveError(f"{path}: cannot write ({err.strerror})") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise DeriveError(f"{path}: cannot write (it is a folder)")
    if mode is not None and not stat.S_ISREG(mode):
        _write_through(path, content.encode("utf-8"))  # by its own name: /proc/self/fd/1 works too
        return str(path)
    target = Path(os.path.realpath(path))  # a symlink is followed, never replaced
    if mode is not None and not force and target.stat().st_size > 0 and not is_own(_peek(target)):
        raise DeriveError(f"{path}: exists and is not derive's own output; it was left as it is "
                          "(choose another name, or use --force to replace it)")
    write_atomically(target, content)
    return str(path)  # as the user named it


def _peek(path: Path, limit: int = 1_000_000) -> str:
    """The start of a file as text (for recognising derive's own output), or '' if unreadable."""
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _write_through(path: Path | str, data: bytes) -> None:
    """Write into a device or a pipe in place (a pipe with no reader is refused, not waited on)."""
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0))
        os.set_blocking(fd, True)
    except OSError as err:
        reason = "a pipe with no reader" if err.errno == errno.ENXIO else err.strerror
        raise DeriveError(f"{path}: cannot write ({reason})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError as err:
        raise DeriveError(f"{path}: cannot write ({err.strerror})") from None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stage(path: Path, content: str | bytes | Parts, mode: int) -> str:
    """Write ``content`` to ``path`` (a part at a time) with ``mode``; returns its sha256."""
    digest = hashlib.sha256()
    with open(path, "wb", buffering=1 << 22) as handle:  # a large buffer: the parts of a document are small
        for part in [content] if isinstance(content, (str, bytes)) else content:
            data = part.encode("utf-8") if isinstance(part, str) else part
            digest.update(data)
            handle.write(data)
    os.chmod(path, mode)
    return digest.hexdigest()


def _manifest(folder: Path) -> dict[str, str]:
    """name -> sha256 of every file derive wrote into ``folder`` last time ({} if none)."""
    try:
        recorded = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {name: digest for name, digest in recorded.items()
            if isinstance(name, str) and isinstance(digest, str) and "/" not in name and name not in ("", ".", "..")}


def _own(folder: Path, name: str, recorded: dict[str, str]) -> bool:
    """Whether folder/name is the file derive wrote there (unchanged since)."""
    path = folder / name
    if name not in recorded or path.is_symlink() or not path.is_file():
        return False
    try:
        return _digest(path.read_bytes()) == recorded[name]
    except OSError:
        return False


def _conflicts(folder: Path, names: list[str], recorded: dict[str, str]) -> list[str]:
    """The files a run into ``folder`` would replace or remove that are not derive's own."""
    stale = [name for name in recorded if name not in names]
    return [name for name in [*names, *stale]
            if os.path.lexists(folder / name) and not _own(folder, name, recorded)]


def write_run(folder: Path, files: dict[str, str | bytes | Parts], force: bool = False,
              done: Callable[[str], None] | None = None) -> list[Path]:
    """Write one run's ``files`` into ``folder`` (see the module's docstring): staged in a
    temporary folder beside it and moved in, then derive's earlier files that this run did not
    write are removed, so the folder holds exactly this run's files (and any not derive's).
    ``done`` is called with each file's name once it is staged (for a progress bar)."""
    folder = Path(os.path.realpath(folder))
    if folder.exists() and not folder.is_dir():
        raise DeriveError(f"{folder}: cannot write (not a folder)")
    for name in files:
        target = folder / name
        if os.path.lexists(target) and target.exists() and not target.is_file():
            raise DeriveError(f"{target}: cannot write (not a regular file; derive does not replace it)")
    recorded = _manifest(folder)
    conflicts = _conflicts(folder, list(files), recorded)
    if conflicts and not force:
        raise DeriveError(f"{folder}: {', '.join(conflicts)} would be replaced or removed but "
                          f"{'is' if len(conflicts) == 1 else 'are'} not derive's own output (or changed since "
                          "derive wrote it); nothing was written (move it away, or use --force)")
    written = _move_in(folder, files, done)
    for name in recorded:
        if name not in files and (force or _own(folder, name, recorded)):
            (folder / name).unlink(missing_ok=True)
    return [path for path in written if path.name != MANIFEST]


def _move_in(folder: Path, files: dict[str, str | bytes | Parts], done: Callable[[str], None] | None = None
             ) -> list[Path]:
    """Every file, and the manifest of their sha256, written into a temporary folder beside
    ``folder``, then moved in: a failure while writing leaves ``folder`` as it was."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    except OSError as err:
        raise DeriveError(f"{folder}: cannot write ({err.strerror})") from None
    try:
        mode = _mode()
        digests = {}
        for name, content in files.items():
            digests[name] = _stage(staging / name, content, mode)
            if done is not None:
                done(name)
        manifest = {"written_by": "derive", "files": digests}
        _stage(staging / MANIFEST, json.dumps(manifest, indent=2) + "\n", mode)
        folder.mkdir(exist_ok=True)
        written = []
        for name in [*files, MANIFEST]:
            target = Path(os.path.realpath(folder / name))  # a symlinked output: its target replaced
            os.replace(staging / name, target)
            written.append(folder / name)
        return written
    except OSError as err:
        raise DeriveError(f"{folder}: cannot write ({err.strerror})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
