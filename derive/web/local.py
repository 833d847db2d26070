"""Running ``derive serve`` locally from a script: for the browser test, the README screenshot
and the benchmark (not used by the server itself).

:func:`running_server` starts ``python -m derive serve`` on a free loopback port in a child
process and stops it afterwards; :func:`launch_chromium` starts Debian's Chromium headless for
Playwright (never a downloaded browser).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

REPOSITORY = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
#: Chromium as root in a container: no sandbox, no GPU, nothing fetched from the network.
#: (Playwright gives every launch a fresh user-data-dir of its own.)
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    return shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)


def launch_chromium(playwright):
    """A headless Chromium browser (Playwright's ``Browser``) from Debian's package."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(path: str | Path, port: int | None = None, timeout: float = 300.0, workers: int = 1) -> Iterator[str]:
    """``derive serve PATH`` on 127.0.0.1 in a child process; yields its base URL once it answers."""
    port = port or free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")]))
    log = tempfile.TemporaryFile("w+")  # not a pipe: a long run must never block on a full one
    process = subprocess.Popen([sys.executable, "-m", "derive", "serve", str(path), "--port", str(port),
                                "--workers", str(workers)],
                               env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _answers(url):
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"derive serve stopped: {log.read()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"derive serve did not answer within {timeout:g} s")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
