"""Writing outputs atomically: a temporary file in the same folder, moved into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import DeriveError


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
            handle.write(data)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise DeriveError(f"{path}: cannot write ({err.strerror})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_folder_atomically(folder: Path, files: dict[str, str | bytes]) -> list[Path]:
    """Write every file into a temporary folder beside ``folder``, then move each into ``folder``:
    a failure while writing leaves ``folder`` as it was."""
    folder = Path(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    except OSError as err:
        raise DeriveError(f"{folder}: cannot write ({err.strerror})") from None
    try:
        for name, content in files.items():
            (staging / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        folder.mkdir(exist_ok=True)
        written = []
        for name in files:
            os.replace(staging / name, folder / name)
            written.append(folder / name)
        return written
    except OSError as err:
        raise DeriveError(f"{folder}: cannot write ({err.strerror})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
