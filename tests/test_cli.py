"""The command line end to end: ``python -m derive`` in a subprocess, from an unrelated folder.

Numbers in the JSON key are checked against a small NumPy implementation written here from the
problem file's own numbers (not against derive's output), plus the key's internal consistency.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from derive import cli
from derive.errors import VerificationError
from derive.files import write_atomically

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
SIGMOID = PROBLEMS / "sgd-sigmoid-hidden.yaml"
RELU_BATCH = PROBLEMS / "relu-2-3-3-1-batch.yaml"
BCE_EPOCHS = PROBLEMS / "bce-relu-epochs.yaml"


def run(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "derive", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def runs(workdir) -> dict[str, subprocess.CompletedProcess]:
    """The successful runs, started together (each spends most of its time importing SymPy)."""
    commands = {
        "sigmoid": ("solve", SIGMOID, "--json", workdir / "sigmoid.json"),
        "quiet": ("solve", SIGMOID, "-q"),
        "relu": ("solve", RELU_BATCH, "--json", workdir / "relu.json", "--quiet"),
        "epochs": ("solve", BCE_EPOCHS, "--json", workdir / "epochs.json", "-q"),
        "formulas": ("formulas", SIGMOID),
    }
    started = {
        name: subprocess.Popen(
            [sys.executable, "-m", "derive", *map(str, args)],
            cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, args in commands.items()
    }
    done = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=120)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done


@pytest.fixture(scope="module")
def sigmoid_run(runs, workdir):
    return runs["sigmoid"], workdir / "sigmoid.json"


def key_from(runs, workdir, name) -> dict:
    assert runs[name].returncode == 0, runs[name].stderr
    return json.loads((workdir / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def relu_key(runs, workdir) -> dict:
    return key_from(runs, workdir, "relu")


@pytest.fixture(scope="module")
def epochs_key(runs, workdir) -> dict:
    return key_from(runs, workdir, "epochs")


# --------------------------------------------------------------------------------------------
# solve
# --------------------------------------------------------------------------------------------


def test_solve_prints_worked_solution_and_verification_line(sigmoid_run):
    result, out = sigmoid_run
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "One SGD step with a sigmoid hidden layer"
    verification = [line for line in lines if line.startswith("verified: ")]
    assert len(verification) == 1
    assert "agree with the independent NumPy implementation" in verification[0]
    assert "central finite differences" in verification[0]
    assert "symbolic identities proved" in verification[0]
    assert lines[-1] == f"answer key written to {out}"
    assert "Traceback" not in result.stderr


def test_solve_quiet_prints_only_the_verification_line(runs):
    result = runs["quiet"]
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [result.stdout.strip()]
    # 27 array entries (z, a, delta, gradients, updated W and b) + 3 losses + 2 chain-rule products
    assert result.stdout.startswith("verified: 32 numbers agree")


def test_json_has_the_schema_fields(sigmoid_run):
    result, out = sigmoid_run
    key = json.loads(out.read_text(encoding="utf-8"))
    problem = yaml.safe_load(SIGMOID.read_text(encoding="utf-8"))
    assert key["title"] == problem["title"]
    assert key["decimals"] == problem["answers"]["decimals"]
    assert key["sha256"] == hashlib.sha256(SIGMOID.read_bytes()).hexdigest()
    assert key["network"] == {"layers": [2, 2, 1], "activations": ["sigmoid", "sigmoid"], "loss": "half_mse", "bias": True}
    verification = key["verification"]
    assert verification["verified"] is True
    assert verification["quantities_checked"] == 32  # 30 numbers + 2 chain-rule products
    assert verification["gradients_checked_finite_difference"] == 9
    assert verification["max_abs_diff_numpy"] < 1e-12
    assert verification["max_abs_diff_finite_difference"] < 1e-8
    assert len(key["steps"]) == 1
    step = key["steps"][0]
    assert {"loss", "loss_after", "layers", "batch"} <= set(step)
    assert [layer["layer"] for layer in step["layers"]] == [1, 2]
    for layer in step["layers"]:
        assert {"layer", "z", "a", "delta", "grad_W", "grad_b", "W", "b"} <= set(layer)


def test_json_numbers_for_the_sigmoid_problem(sigmoid_run):
    """One step of 2-2-1 sigmoid / half_mse, recomputed here with NumPy."""
    _, out = sigmoid_run
    key = json.loads(out.read_text(encoding="utf-8"))
    x, y = np.array([0.5, 0.9]), np.array([1.0])
    W1, b1 = np.array([[0.2, -0.1], [0.4, 0.3]]), np.array([0.1, -0.1])
    W2, b2 = np.array([[0.5, -0.6]]), np.array([0.2])
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    z1 = W1 @ x + b1
    a1 = sigmoid(z1)
    z2 = W2 @ a1 + b2
    a2 = sigmoid(z2)
    d2 = (a2 - y) * a2 * (1 - a2)
    d1 = (W2.T @ d2) * a1 * (1 - a1)
    step = key["steps"][0]
    first, second = step["layers"]
    np.testing.assert_allclose(first["z"], [z1], rtol=1e-12)
    np.testing.assert_allclose(second["a"], [a2], rtol=1e-12)
    np.testing.assert_allclose(second["delta"], [d2], rtol=1e-12)
    np.testing.assert_allclose(first["delta"], [d1], rtol=1e-12)
    np.testing.assert_allclose(first["grad_W"], np.outer(d1, x), rtol=1e-12)
    np.testing.assert_allclose(second["W"], W2 - 0.5 * np.outer(d2, a1), rtol=1e-12)
    np.testing.assert_allclose(second["b"], b2 - 0.5 * d2, rtol=1e-12)
    assert step["loss"] == pytest.approx(0.5 * float(((y - a2) ** 2).sum()), rel=1e-12)


def relu_network_reference(problem: dict):
    """Forward and backward of the relu-relu-identity / half_mse batch problem, written here."""
    p, data = problem["parameters"], problem["data"]
    Ws = [np.array(p[f"W{l}"]) for l in (1, 2, 3)]
    bs = [np.array(p[f"b{l}"]) for l in (1, 2, 3)]
    X, Y = np.array(data["inputs"]), np.array(data["targets"])
    zs, acts = [], [X]
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = acts[-1] @ W.T + b
        zs.append(z)
        acts.append(z if l == 2 else np.maximum(z, 0.0))
    deltas = [None, None, acts[-1] - Y]
    for l in (1, 0):
        deltas[l] = (deltas[l + 1] @ Ws[l + 1]) * (zs[l] > 0)
    m = len(X)
    grads_W = [d.T @ a / m for d, a in zip(deltas, acts)]
    grads_b = [d.mean(axis=0) for d in deltas]
    loss = float((0.5 * ((Y - acts[-1]) ** 2).sum(axis=1)).mean())
    return zs, acts[1:], deltas, grads_W, grads_b, Ws, bs, loss


def test_json_batch_problem_matches_numpy(relu_key):
    problem = yaml.safe_load(RELU_BATCH.read_text(encoding="utf-8"))
    zs, acts, deltas, grads_W, grads_b, Ws, bs, loss = relu_network_reference(problem)
    eta = problem["training"]["learning_rate"]
    step = relu_key["steps"][0]
    assert step["batch"] == [1, 2, 3]
    assert step["loss"] == pytest.approx(loss, rel=1e-12)
    for i, layer in enumerate(step["layers"]):
        assert layer["layer"] == i + 1
        # rows of z, a and delta are the batch's examples
        assert len(layer["z"]) == len(layer["a"]) == len(layer["delta"]) == 3
        np.testing.assert_allclose(layer["z"], zs[i], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(layer["a"], acts[i], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(layer["delta"], deltas[i], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(layer["grad_W"], grads_W[i], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(layer["grad_b"], grads_b[i], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(layer["W"], Ws[i] - eta * grads_W[i], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(layer["b"], bs[i] - eta * grads_b[i], rtol=1e-12, atol=1e-15)


def test_json_per_example_steps_chain_and_epochs(epochs_key):
    problem = yaml.safe_load(BCE_EPOCHS.read_text(encoding="utf-8"))
    X = np.array(problem["data"]["inputs"])
    steps = epochs_key["steps"]
    assert len(steps) == 5 * 4  # 5 epochs of 4 examples, batch size 1
    assert [s["batch"] for s in steps[:6]] == [[1], [2], [3], [4], [1], [2]]
    assert epochs_key["training"]["batch"] == 1 and epochs_key["training"]["epochs"] == 5
    for previous, step in zip(steps, steps[1:]):
        assert all(len(layer["delta"]) == 1 for layer in step["layers"])  # one row: batch of one
        # step k+1 starts from the weights step k ended with
        W1, b1 = np.array(previous["layers"][0]["W"]), np.array(previous["layers"][0]["b"])
        x = X[step["batch"][0] - 1]
        np.testing.assert_allclose(step["layers"][0]["z"], [W1 @ x + b1], rtol=1e-12, atol=1e-15)
    epochs = epochs_key["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4, 5]
    for e in epochs:
        losses = [s["loss"] for s in steps[4 * (e["epoch"] - 1) : 4 * e["epoch"]]]
        assert e["mean_loss"] == pytest.approx(sum(losses) / 4, rel=1e-12)
    means = [e["mean_loss"] for e in epochs]
    assert means == sorted(means, reverse=True), "the problem promises a falling loss"


# --------------------------------------------------------------------------------------------
# formulas
# --------------------------------------------------------------------------------------------


def test_formulas_prints_text_and_latex(runs):
    result = runs["formulas"]
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "a*(1 - a)" in out
    assert "\\delta" in out
    assert "LaTeX: " in out
    assert "\\sigma'(z)" in out
    assert "Proved by SymPy for this network:" in out
    assert "[FAILED]" not in out and "[ok]" in out


# --------------------------------------------------------------------------------------------
# bad input: exit 2, one line naming file and field, no traceback, no output file
# --------------------------------------------------------------------------------------------

GOOD = SIGMOID.read_text(encoding="utf-8")

BROKEN = {
    "wrong shape": (
        GOOD.replace("W1: [[0.2, -0.1], [0.4, 0.3]]", "W1: [[0.2, -0.1, 0.7], [0.4, 0.3, 0.7]]"),
        ("parameters.W1[0]", "expected 2 columns"),
    ),
    "unknown activation": (
        GOOD.replace("activations: [sigmoid, sigmoid]", "activations: [sigmoud, sigmoid]"),
        ("network.activations[0]", "unknown activation 'sigmoud'", "did you mean 'sigmoid'?"),
    ),
    "yaml syntax error": (
        GOOD.replace("  W2: [[0.5, -0.6]]", "  W2: [[0.5, -0.6]]]"),
        ("YAML syntax error", f"line {GOOD.splitlines().index('  W2: [[0.5, -0.6]]') + 1}"),
    ),
    "missing training": (
        GOOD.split("training:")[0],
        ("training: missing",),
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_bad_input_is_one_clear_line(tmp_path, case):
    text, fragments = BROKEN[case]
    assert text != GOOD
    problem = tmp_path / "broken.yaml"
    problem.write_text(text, encoding="utf-8")
    out = tmp_path / "key.json"
    result = run("solve", problem, "--json", out, cwd=tmp_path)
    assert_one_line_error(result, str(problem), *fragments)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml"]


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


def test_missing_file(tmp_path):
    out = tmp_path / "key.json"
    result = run("solve", "no-such-problem.yaml", "--json", out, cwd=tmp_path)
    assert_one_line_error(result, "error: no-such-problem.yaml: file not found")
    assert not out.exists()


def test_formulas_bad_input(tmp_path):
    problem = tmp_path / "p.yaml"
    problem.write_text(BROKEN["unknown activation"][0], encoding="utf-8")
    result = run("formulas", problem, cwd=tmp_path)
    assert_one_line_error(result, str(problem), "network.activations[0]")


def test_existing_json_is_untouched_when_solving_fails(tmp_path):
    problem = tmp_path / "broken.yaml"
    problem.write_text(BROKEN["wrong shape"][0], encoding="utf-8")
    out = tmp_path / "key.json"
    out.write_text('{"previous": "answer key"}\n', encoding="utf-8")
    result = run("solve", problem, "--json", out, cwd=tmp_path)
    assert result.returncode == 2
    assert out.read_text(encoding="utf-8") == '{"previous": "answer key"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.yaml", "key.json"]


def test_json_path_that_is_a_directory_is_one_clear_line(tmp_path):
    (tmp_path / "out").mkdir()
    result = run("solve", SIGMOID, "-q", "--json", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, str(tmp_path / "out"))


# --------------------------------------------------------------------------------------------
# in-process: atomic writes and the verification-failure exit code
# --------------------------------------------------------------------------------------------


def test_write_atomically_replaces_the_file(tmp_path):
    target = tmp_path / "sub" / "key.json"
    write_atomically(target, "first\n")
    write_atomically(target, "second\n")
    assert target.read_text(encoding="utf-8") == "second\n"
    assert [p.name for p in target.parent.iterdir()] == ["key.json"]


def test_write_atomically_leaves_existing_file_whole_on_failure(tmp_path):
    target = tmp_path / "key.json"
    target.write_text('{"old": 1}\n', encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, '{"new": "' + "x" * 100_000 + '\ud800"}')  # fails mid-write
    assert target.read_text(encoding="utf-8") == '{"old": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["key.json"], "temporary file left behind"


def test_verification_failure_exits_3_and_writes_nothing(tmp_path, monkeypatch):
    def failing_solve(problem):
        raise VerificationError(["step 1 loss: answer key 1.0, NumPy 2.0"])

    monkeypatch.setattr(cli, "solve_problem", failing_solve)
    out = tmp_path / "key.json"
    out.write_text("old\n", encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["solve", str(SIGMOID), "--json", str(out)])
    assert result.exit_code == 3
    assert "error: the answer key failed verification" in result.stderr
    assert "step 1 loss: answer key 1.0, NumPy 2.0" in result.stderr
    assert out.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["key.json"]


def test_version_option():
    result = CliRunner().invoke(cli.main, ["--version"])
    assert result.exit_code == 0
    assert "0.1.0" in result.output
