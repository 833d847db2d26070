"""Any file at all as a problem or answers file: exit code 0, 1 or 2, at most one line on stderr
(exactly one for exit code 2), never a traceback. Hypothesis draws random bytes, random YAML
documents, and valid problems with one value replaced by a random one; the command line runs
in-process (click's CliRunner) for speed, plus a few cases through ``python -m derive``.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from derive import cli
from test_loader import VALID

ROOT = Path(__file__).resolve().parents[1]
SIGMOID = ROOT / "problems" / "sgd-sigmoid-hidden.yaml"
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    st.text(max_size=30), st.sampled_from(["1e-3", ".5", "+0.5", "full", "sigmoid", "\u200b", "nan"]))
documents = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.one_of(st.text(max_size=12), st.integers()), inner, max_size=5)),
    max_leaves=25)


def paths(node, prefix=()):
    """Every path into a nested document of dicts and lists."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths(value, (*prefix, i))


VALID_PATHS = [p for p in paths(VALID) if p]


@st.composite
def mutated_problems(draw) -> str:
    """The valid problem with one value (anywhere) replaced by a random document."""
    document = copy.deepcopy(VALID)
    *parents, last = draw(st.sampled_from(VALID_PATHS))
    node = document
    for key in parents:
        node = node[key]
    node[last] = draw(documents)
    return yaml.safe_dump(document, allow_unicode=True)


def assert_clean(result) -> None:
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        f"uncaught {type(result.exception).__name__}: {result.exception}")
    assert result.exit_code in (0, 1, 2), result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == (1 if result.exit_code == 2 else 0), result.stderr
    assert "Traceback" not in result.stderr


def as_problem(tmp_path: Path, data: bytes):
    path = tmp_path / "p.yaml"
    path.write_bytes(data)
    return CliRunner().invoke(cli.main, ["check", str(path), "--template", "-"])


def as_answers(tmp_path: Path, data: bytes):
    path = tmp_path / "a.yaml"
    path.write_bytes(data)
    return CliRunner().invoke(cli.main, ["check", str(SIGMOID), str(path)])


@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes_as_a_problem_file(tmp_path, data):
    assert_clean(as_problem(tmp_path, data))


@SETTINGS
@given(document=documents)
def test_random_yaml_as_a_problem_file(tmp_path, document):
    assert_clean(as_problem(tmp_path, yaml.safe_dump(document, allow_unicode=True).encode()))


@SETTINGS
@given(text=mutated_problems())
def test_valid_problem_with_one_random_value(tmp_path, text):
    assert_clean(as_problem(tmp_path, text.encode()))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=200), documents.map(lambda d: yaml.safe_dump(d).encode())))
def test_random_answers_file(tmp_path, data):
    assert_clean(as_answers(tmp_path, data))


@pytest.mark.parametrize("content", [b"\x00\xff\xfe garbage", b"title: " + b"[" * 10_000, b"a: &a [*a]",
                                     "title: x\u200b\n".encode(), b"- 1\n- 2\n"])
def test_hostile_problem_files_through_the_real_command(tmp_path, content):
    path = tmp_path / "p.yaml"
    path.write_bytes(content)
    result = subprocess.run([sys.executable, "-m", "derive", "solve", str(path)], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
