"""Clear messages on bad input (issue 10, section 4): every problem of a file named, with a
did-you-mean for unknown keys; numbers as people write them; merge keys; quoted values capped;
free text checked up front; long words breakable; only regular files read.

Each runs the command line in-process (click's CliRunner) or the loader directly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from derive import cli
from derive.errors import ProblemError
from derive.loader import load_problem, parse_problem
from derive.roster import load_roster
from derive.sheet import worksheet_tex
from derive.pipeline import solve
from test_loader import VALID_TEXT

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
SIGMOID = PROBLEMS / "sgd-sigmoid-hidden.yaml"


def error(text: str) -> ProblemError:
    with pytest.raises(ProblemError) as info:
        parse_problem(text, "p.yaml")
    assert "\n" not in str(info.value)
    return info.value


def invoke(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args])


def test_misspelled_key_is_named_with_a_suggestion_and_every_problem_is_listed():
    err = error(VALID_TEXT.replace("title:", "titel:").replace("  steps: 1", "  stpes: 1"))
    text = str(err)
    assert "unknown field 'titel' (did you mean 'title'?)" in text
    assert "training.stpes: unknown field 'stpes' (did you mean 'steps'?)" in text
    assert "title: missing" in text
    assert "more problem" not in text


def test_unknown_key_deep_in_the_file_gets_a_suggestion():
    err = error(VALID_TEXT + "randomisation:\n  parameters:\n    weights: {mn: -1, max: 1, step: 0.5}\n")
    assert err.field == "randomisation.parameters.weights.mn"
    assert "did you mean 'min'?" in err.message


def test_misspelled_option_is_one_line_with_a_suggestion():
    result = invoke("exam", SIGMOID, "--variant", "3", "--seed", "1")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "'--variants'" in result.stderr


@pytest.mark.parametrize("written, value", [
    ("1e-3", 0.001), ("1E-3", 0.001), ("5e-1", 0.5), (".5", 0.5), ("-0.5", -0.5), ("+0.5", 0.5),
    ("+.5", 0.5), ("11e-2", 0.11), ("1.5e3", 1500.0), ("2E+1", 20.0),
])
def test_numbers_as_people_write_them(written, value):
    problem = parse_problem(VALID_TEXT.replace("  b2: [0.2]", f"  b2: [{written}]"), "p.yaml")
    assert problem.biases[1] == (value,)


def test_learning_rate_in_exponent_form():
    problem = parse_problem(VALID_TEXT.replace("learning_rate: 0.5", "learning_rate: 1e-3"), "p.yaml")
    assert problem.training.learning_rate == 0.001


def test_numbers_in_exponent_form_in_an_answers_file(tmp_path):
    answers = tmp_path / "a.yaml"
    answers.write_text("z1_1: 5e-1\nz1_2: 1E-3\n", encoding="utf-8")
    result = invoke("check", SIGMOID, answers, "--json")
    assert result.exit_code == 1, result.stderr
    assert "expected a number" not in result.output


def test_merge_key_with_override_in_a_problem():
    text = VALID_TEXT.replace("network:\n", "network: &n\n").replace(
        "training:\n", "training:\n  <<: {learning_rate: 0.1, l2: 0.0}\n").replace("  learning_rate: 0.5\n", "")
    text = text.replace("  l2: 0.0\n", "")
    assert parse_problem(text, "p.yaml").training.learning_rate == 0.1


def test_alias_bomb_where_a_number_belongs_is_quoted_briefly():
    bomb = "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{n}: &{n} [" + ",".join([f"*{p}"] * 10) + "]\n" for p, n in zip("abcdef", "bcdefg"))
    text = "anchors:\n" + "".join(f"  {line}\n" for line in bomb.splitlines()) + VALID_TEXT.replace(
        "learning_rate: 0.5", "learning_rate: *g")
    err = error(text)
    assert len(str(err)) < 1000
    assert "training.learning_rate: expected a number" in str(err)


@pytest.mark.parametrize("field, text, fragment", [
    ("title", "x" * 200_000, "200,000 characters, more than the limit of 200"),
    ("title", "Back\u200bprop", "line 1, column 5 is U+200B (zero width space)"),
    ("instructions", "Line one.\nLine\x07two.", "line 2, column 5 is U+0007"),
])
def test_free_text_is_checked_up_front(field, text, fragment):
    import yaml
    document = yaml.safe_load(VALID_TEXT)
    document[field] = text
    err = error(yaml.safe_dump(document))
    assert err.field == field
    assert fragment in err.message


def test_roster_name_with_an_invisible_character(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("name,id\nAda Lovelace,1\nAlan\u200dTuring,2\n", encoding="utf-8")
    with pytest.raises(ProblemError) as info:
        load_roster(roster)
    assert info.value.field == "line 3" and "U+200D" in info.value.message


def test_long_word_may_break_on_the_page(tmp_path):
    import dataclasses

    problem = load_problem(SIGMOID)
    word = "ab" * 1500
    tex = worksheet_tex(solve(dataclasses.replace(problem, title="T " + "y" * 150, instructions=f"See {word} here.")))
    assert "ab" * 21 not in tex
    if shutil.which("pdflatex"):
        (tmp_path / "w.tex").write_text(tex, encoding="utf-8")
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "w.tex"], cwd=tmp_path,
                       capture_output=True, timeout=300, check=True)
        assert "Overfull" not in (tmp_path / "w.log").read_text(errors="replace"), "a line runs off the page"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    outcome = {}
    reader = threading.Thread(target=lambda: outcome.update(result=invoke("solve", fifo)), daemon=True)
    reader.start()
    reader.join(timeout=20)
    assert not reader.is_alive(), "derive waited on a FIFO"
    assert outcome["result"].exit_code == 2
    assert "not a regular file" in outcome["result"].stderr


def test_folder_as_problem_file_is_refused(tmp_path):
    result = invoke("solve", tmp_path)
    assert result.exit_code == 2 and "not a regular file" in result.stderr
