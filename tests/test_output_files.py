"""Stale and replaced files (issue 10, section 1): a run leaves its output folder holding exactly
its own files, every file says where it came from, nothing that is not derive's is replaced or
removed without --force, non-regular targets are written through, and modes follow the umask."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from derive import cli, pdf
from derive.files import MANIFEST

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
SIGMOID = PROBLEMS / "sgd-sigmoid-hidden.yaml"
TANH = PROBLEMS / "sgd-tanh-hidden.yaml"


def invoke(*args, expect: int = 0):
    result = CliRunner().invoke(cli.main, [str(a) for a in args])
    assert result.exit_code == expect, result.stderr or result.output
    return result


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def fake_latex(monkeypatch):
    """PDFs without a TeX engine: each 'PDF' is the first line of its source."""
    monkeypatch.setattr(pdf.Engine, "find", staticmethod(lambda single_pass=False: pdf.Engine(("true",), 1)))
    monkeypatch.setattr(pdf, "compile_pdf", lambda tex, name="document", engine=None: tex.splitlines()[0].encode())


def test_exam_without_moodle_removes_the_earlier_quiz(tmp_path):
    out = tmp_path / "x"
    invoke("exam", SIGMOID, "--variants", 2, "--seed", 7, "--moodle", "--tex-only", "-o", out)
    assert "quiz.xml" in names(out)
    invoke("exam", SIGMOID, "--variants", 2, "--seed", 8, "--tex-only", "-o", out)
    assert names(out) == [MANIFEST, "exam.tex", "key.json", "key.tex"]


def test_tex_only_sheet_removes_an_earlier_problems_pdfs(tmp_path, fake_latex):
    out = tmp_path / "x"
    invoke("sheet", SIGMOID, "-o", out)
    assert "worksheet.pdf" in names(out)
    invoke("sheet", TANH, "-o", out, "--tex-only")
    assert names(out) == ["answers.tex", MANIFEST, "worksheet.tex"]
    assert "sgd-tanh-hidden.yaml" in (out / "worksheet.tex").read_text().splitlines()[0]


def test_files_that_are_not_derives_are_never_touched_without_force(tmp_path):
    out = tmp_path / "x"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "quiz.xml").write_text("my own quiz")
    result = invoke("exam", SIGMOID, "--variants", 2, "--seed", 7, "--moodle", "--tex-only", "-o", out, expect=2)
    assert "quiz.xml" in result.stderr and "--force" in result.stderr and result.stderr.count("\n") == 1
    assert names(out) == ["notes.txt", "quiz.xml"] and (out / "quiz.xml").read_text() == "my own quiz"
    invoke("exam", SIGMOID, "--variants", 2, "--seed", 7, "--moodle", "--tex-only", "-o", out, "--force")
    assert (out / "quiz.xml").read_text().startswith("<?xml")
    assert (out / "notes.txt").read_text() == "mine"


def test_a_changed_output_is_not_removed_as_stale(tmp_path):
    out = tmp_path / "x"
    invoke("exam", SIGMOID, "--variants", 2, "--seed", 7, "--moodle", "--tex-only", "-o", out)
    (out / "quiz.xml").write_text("edited by hand")
    invoke("exam", SIGMOID, "--variants", 2, "--seed", 7, "--tex-only", "-o", out, expect=2)
    assert (out / "quiz.xml").read_text() == "edited by hand"


def test_every_written_file_names_its_problem_and_seed(tmp_path):
    out = tmp_path / "x"
    invoke("exam", SIGMOID, "--variants", 2, "--seed", 7, "--moodle", "--tex-only", "-o", out)
    digest = hashlib.sha256(SIGMOID.read_bytes()).hexdigest()
    for name in ("exam.tex", "key.tex", "quiz.xml"):
        head = "\n".join((out / name).read_text().splitlines()[:2])
        assert f"sha256 {digest}" in head and "seed 7" in head, name
    key = json.loads((out / "key.json").read_text())
    assert key["sha256"] == digest and key["seed"] == 7
    invoke("check", SIGMOID, "--template", tmp_path / "t.yaml", "--seed", 7, "--variant", 2)
    first = (tmp_path / "t.yaml").read_text().splitlines()[0]
    assert first.startswith("# ") and f"sha256 {digest}" in first and "seed 7, variant 2" in first


def test_json_dash_is_standard_output(tmp_path):
    result = invoke("solve", SIGMOID, "--json", "-")
    assert json.loads(result.stdout)["sha256"] == hashlib.sha256(SIGMOID.read_bytes()).hexdigest()
    assert not (Path("-")).exists()


def test_template_never_replaces_filled_in_answers(tmp_path):
    answers = tmp_path / "answers.yaml"
    invoke("check", SIGMOID, "--template", answers)
    invoke("check", SIGMOID, "--template", answers)  # a blank template of derive's: replaced
    filled = answers.read_text().replace("z1_1: null", "z1_1: 0.12", 1)
    answers.write_text(filled)
    result = invoke("check", SIGMOID, "--template", answers, expect=2)
    assert "--force" in result.stderr and answers.read_text() == filled
    invoke("check", SIGMOID, "--template", answers, "--force")
    assert "z1_1: null" in answers.read_text()


def test_json_never_replaces_the_problem_file(tmp_path):
    problem = tmp_path / "p.yaml"
    problem.write_bytes(SIGMOID.read_bytes())
    invoke("solve", problem, "--json", problem, expect=2)
    assert problem.read_bytes() == SIGMOID.read_bytes()


def test_symlink_is_followed(tmp_path):
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    invoke("solve", SIGMOID, "--json", real)
    link.symlink_to(real)
    invoke("solve", TANH, "--json", link)
    assert link.is_symlink()
    assert json.loads(real.read_text())["source"] == str(TANH)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_target_is_written_through_not_replaced(tmp_path):
    fifo = tmp_path / "key.json"
    os.mkfifo(fifo)
    received = {}

    def read():
        with open(fifo, "rb") as handle:
            received["data"] = handle.read()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    invoke("solve", SIGMOID, "-q", "--json", fifo)
    reader.join(timeout=20)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(received["data"])["schema"] == 1


def test_fifo_without_reader_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "key.json"
    os.mkfifo(fifo)
    result = invoke("solve", SIGMOID, "-q", "--json", fifo, expect=2)
    assert "no reader" in result.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_device_target_is_written_through():
    invoke("solve", SIGMOID, "-q", "--json", "/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        invoke("solve", SIGMOID, "-q", "--json", tmp_path / "key.json")
        invoke("check", SIGMOID, "--template", tmp_path / "t.yaml")
        invoke("exam", SIGMOID, "--variants", 1, "--seed", 1, "--tex-only", "-o", tmp_path / "x")
    finally:
        os.umask(old)
    for path in [tmp_path / "key.json", tmp_path / "t.yaml", *(tmp_path / "x").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == mode, path.name
