"""Exam sets made in worker processes (derive.parallel, ``derive exam --jobs``).

The batches are independent, so the files must not depend on how many workers made them: the
same command with ``--jobs 2`` (batches of 100 shared between two spawned workers) and with
``--jobs 1`` (batches of 250 in this process) writes the same bytes, Moodle and Canvas included.
A DeriveError raised in a worker reaches the user as the worker's own message and exit code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from derive.errors import DeriveError
from derive.loader import load_problem
from derive.parallel import WorkerError, run_batches

ROOT = Path(__file__).resolve().parents[1]
RELU = ROOT / "problems" / "relu-2-3-3-1-batch.yaml"


def derive_exam(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "derive", "exam", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_two_workers_write_the_same_files_as_one(tmp_path):
    made = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs-{jobs}"
        result = derive_exam(RELU, "--variants", 130, "--seed", 7, "--tex-only", "--moodle", "--canvas",
                             "--jobs", jobs, "-o", out, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        made[jobs] = files(out)
    assert sorted(made[2]) == ["canvas-quiz.zip", "derive-manifest.json", "exam.tex", "key.json", "key.tex", "quiz.xml"]
    assert made[2] == made[1]


def test_results_come_back_in_order_whatever_the_workers():
    paths = sorted((ROOT / "problems").glob("*.yaml"))[:5]  # five different problems, so order shows
    batches = [(path,) for path in paths]
    one = [problem.title for problem in run_batches(load_problem, batches, workers=1)]
    two = [problem.title for problem in run_batches(load_problem, batches, workers=2)]
    assert one == two == [load_problem(path).title for path in paths]
    assert len(set(one)) == len(one)


def test_a_workers_error_keeps_its_message_and_exit_code(tmp_path):
    missing = tmp_path / "missing.yaml"
    with pytest.raises(DeriveError) as here:
        load_problem(missing)
    with pytest.raises(WorkerError) as there:
        list(run_batches(load_problem, [(RELU,), (missing,)], workers=2))
    assert str(there.value) == str(here.value)
    assert there.value.exit_code == here.value.exit_code != 0


def test_python_m_derive_can_be_imported_without_running(tmp_path):
    """Spawned workers import the main module again: ``python -m derive`` must not run there."""
    result = subprocess.run([sys.executable, "-c", "import runpy; runpy.run_module('derive', run_name='__mp_main__')"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
