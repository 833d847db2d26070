"""derive exam end to end: reproducible files, key.json, roster stamping, bad input.

The key's numbers are checked against a small NumPy forward pass written here from each
variant's own ``numbers``, and by writing ``numbers`` back as an ordinary problem file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from derive.cli import main

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
RELU = PROBLEMS / "relu-2-3-3-1-batch.yaml"
SIGMOID = PROBLEMS / "sgd-sigmoid-hidden.yaml"
ROSTER = "name,id,email\nZoë Müller,s1001,z@example.org\nJean-Luc O'Neil & Co,s1002,\nAda Lovelace,s1003,a@example.org\n"


def exam(*args, expect: int = 0):
    result = CliRunner().invoke(main, ["exam", *map(str, args)])
    assert result.exit_code == expect, result.output
    return result


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def three(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exam") / "three"
    exam(RELU, "--variants", 3, "--seed", 2026, "--tex-only", "--moodle", "-o", out)
    return out


def test_tex_only_writes_sources_key_and_quiz(three):
    assert sorted(files(three)) == ["derive-manifest.json", "exam.tex", "key.json", "key.tex", "quiz.xml"]


def test_same_command_gives_identical_files(three, tmp_path):
    exam(RELU, "--variants", 3, "--seed", 2026, "--tex-only", "--moodle", "-o", tmp_path)
    assert files(tmp_path) == files(three)


def test_variant_unchanged_when_more_are_made(three, tmp_path):
    exam(RELU, "--variants", 5, "--seed", 2026, "--tex-only", "-o", tmp_path)
    few = json.loads((three / "key.json").read_text())["variants"]
    many = json.loads((tmp_path / "key.json").read_text())["variants"]
    assert [v["variant"] for v in many] == [1, 2, 3, 4, 5]
    assert many[:3] == few


def test_different_seed_gives_different_numbers(three, tmp_path):
    exam(RELU, "--variants", 3, "--seed", 2027, "--tex-only", "-o", tmp_path)
    ours = json.loads((three / "key.json").read_text())["variants"]
    theirs = json.loads((tmp_path / "key.json").read_text())["variants"]
    assert all(a["numbers"] != b["numbers"] for a, b in zip(ours, theirs))


def test_key_json_matches_an_independent_forward_pass(three):
    key = json.loads((three / "key.json").read_text())
    assert key["seed"] == 2026 and len(key["variants"]) == 3
    for entry in key["variants"]:
        numbers, step = entry["numbers"], entry["key"]["steps"][0]
        a = np.array(numbers["data"]["inputs"])
        for l in (1, 2, 3):
            z = a @ np.array(numbers["parameters"][f"W{l}"]).T + np.array(numbers["parameters"][f"b{l}"])
            a = z if l == 3 else np.maximum(z, 0)
            np.testing.assert_allclose(step["layers"][l - 1]["z"], z, rtol=1e-12)
        loss = np.mean(0.5 * (a - np.array(numbers["data"]["targets"])) ** 2)
        assert step["loss"] == pytest.approx(loss, rel=1e-12)
        assert entry["key"]["verification"]["verified"] is True
        assert entry["key"]["title"].endswith(f"(variant {entry['variant']})")


def test_numbers_write_back_as_a_problem_file_with_the_same_key(three, tmp_path):
    entry = json.loads((three / "key.json").read_text())["variants"][1]
    document = yaml.safe_load(RELU.read_text())
    del document["randomisation"]
    document.update(entry["numbers"])
    (tmp_path / "v2.yaml").write_text(yaml.safe_dump(document))
    result = CliRunner().invoke(main, ["solve", str(tmp_path / "v2.yaml"), "--json", str(tmp_path / "v2.json"), "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "v2.json").read_text())["steps"] == entry["key"]["steps"]


def test_exam_tex_stamps_every_sheet(three):
    tex = (three / "exam.tex").read_text()
    assert tex.count(r"\stamp{") == 3 and r"\stamp{3}" in tex
    key = (three / "key.tex").read_text()
    assert key.count(r"\subsection*{Variant") == 6 and key.count(": worked solution}") == 6  # heading and footer
    assert key.count(r"\section*{Derivation}") == 1


def test_roster_gives_one_sheet_per_student(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    exam(SIGMOID, "--roster", roster, "--seed", 5, "--variants", 2, "--tex-only", "-o", tmp_path / "out")
    tex = (tmp_path / "out" / "exam.tex").read_text()
    assert r"\stamp{1}{\textbf{Zoë Müller}}{\textbf{s1001}}" in tex
    assert r"\stamp{2}{\textbf{Jean{-}Luc O'Neil \& Co}}{\textbf{s1002}}" in tex
    assert r"\stamp{1}{\textbf{Ada Lovelace}}{\textbf{s1003}}" in tex  # 3 students, 2 variants: cycling
    key = json.loads((tmp_path / "out" / "key.json").read_text())
    assert [s["id"] for s in key["variants"][0]["students"]] == ["s1001", "s1003"]


def pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return unicodedata.normalize("NFC", " ".join(out.split())).replace("\u2019", "'").replace("\u2212", "-")  # TeX prints ’ and −


def test_real_pdfs_show_names_ids_and_variant_answers(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "derive", "exam", str(SIGMOID), "--roster", str(roster), "--seed", "5",
                             "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["derive-manifest.json", "exam.pdf", "exam.tex", "key.json", "key.pdf", "key.tex"]
    text = pdf_text(out / "exam.pdf")
    for name, sid in (("Zoë Müller", "s1001"), ("Jean-Luc O'Neil & Co", "s1002"), ("Ada Lovelace", "s1003")):
        assert name in text and sid in text
    assert "Variant 3" in text
    pages = subprocess.run(["pdftotext", str(out / "exam.pdf"), "-"], capture_output=True, text=True, check=True).stdout.split("\f")
    starts = [i + 1 for i, page in enumerate(pages) if "Name:" in page]
    assert len(starts) == 3 and all(n % 2 == 1 for n in starts)  # duplex: every sheet starts on a front page
    key = json.loads((out / "key.json").read_text())
    key_text = pdf_text(out / "key.pdf")
    for entry in key["variants"]:
        w = entry["key"]["steps"][0]["layers"][-1]["W"][0][0]
        assert f"{w:.4f}".rstrip("0").rstrip(".") in key_text


# ----------------------------------------------------------------------------------------------
# Bad input: one line, exit 2, nothing written


@pytest.mark.parametrize("content, words", [
    ("name,email\nA,a@x\n", "missing column 'id'"),
    ("name,id\nA,1\nB,\n", "line 3: empty id"),
    ("name,id\nA,1\nB,1\n", "duplicate id '1' (also on line 2)"),
    ("name,id\n".encode() + "Zoë,1\n".encode("latin-1"), "not UTF-8"),
])
def test_bad_roster(tmp_path, content, words):
    roster = tmp_path / "class.csv"
    roster.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = exam(SIGMOID, "--roster", roster, "--seed", 1, "--tex-only", "-o", tmp_path / "out", expect=2)
    assert words in result.output and "class.csv" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("count", [0, -2])
def test_variants_must_be_positive(tmp_path, count):
    result = exam(RELU, "--variants", count, "--seed", 1, "--tex-only", "-o", tmp_path / "out", expect=2)
    assert "need at least 1 variant" in result.output
    assert not (tmp_path / "out").exists()


def test_variants_or_roster_needed(tmp_path):
    result = exam(RELU, "--seed", 1, "--tex-only", "-o", tmp_path / "out", expect=2)
    assert "--variants" in result.output


def write_with(tmp_path: Path, section: dict) -> Path:
    document = yaml.safe_load(RELU.read_text())
    document["randomisation"] = {**document["randomisation"], **section}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_range_min_above_max(tmp_path):
    path = write_with(tmp_path, {"parameters": {"weights": {"min": 1, "max": 0, "step": 0.1}}})
    result = exam(path, "--variants", 2, "--seed", 1, "--tex-only", "-o", tmp_path / "out", expect=2)
    assert "randomisation.parameters.weights: min 1 is greater than max 0" in result.output
    assert not (tmp_path / "out").exists()


def test_unmeetable_constraints_leave_the_folder_as_it_was(tmp_path):
    path = write_with(tmp_path, {"constraints": {"max_abs_z": 0.01}, "max_draws": 30})
    out = tmp_path / "out"
    out.mkdir()
    (out / "exam.tex").write_text("earlier")
    result = exam(path, "--variants", 2, "--seed", 1, "--tex-only", "-o", out, expect=2)
    assert "randomisation.constraints.max_abs_z" in result.output and "30 draws" in result.output
    assert files(out) == {"exam.tex": b"earlier"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_problem_without_randomisation(tmp_path):
    result = exam(PROBLEMS / "sgd-tanh-hidden.yaml", "--variants", 2, "--seed", 1, "--tex-only", "-o", tmp_path / "o", expect=2)
    assert "no randomisation section" in result.output


def test_latex_failure_writes_nothing(tmp_path, monkeypatch):
    from derive import cli
    from derive.pdf import LatexError

    def fail(*args, **kwargs):
        raise LatexError("key-part1.tex", "  ! Undefined control sequence.")

    monkeypatch.setattr(cli, "compile_joined", fail)
    result = exam(SIGMOID, "--variants", 2, "--seed", 1, "-o", tmp_path / "out", expect=4)
    assert "LaTeX failed on key-part1.tex" in result.output
    assert list(tmp_path.iterdir()) == []


def test_the_progress_bar_runs_until_every_file_is_written(tmp_path, monkeypatch):
    """After the variants, laying out and writing the files takes seconds for a large set: a bar
    of its own counts the files as they are written, and every bar ends full."""
    from derive import cli

    bars, real = [], cli._progress

    def recording():
        bars.append(real())
        return bars[-1]

    monkeypatch.setattr(cli, "_progress", recording)
    out = tmp_path / "out"
    exam(RELU, "--variants", 3, "--seed", 5, "--tex-only", "--moodle", "--canvas", "-o", out)
    written = sorted(p.name for p in out.iterdir() if p.name != "derive-manifest.json")
    assert written == ["canvas-quiz.zip", "exam.tex", "key.json", "key.tex", "quiz.xml"]
    assert [(t.description, t.completed, t.total) for t in bars[0].tasks] == [
        ("variants drawn, verified and laid out", 3, 3), ("files written", 5, 5)]
