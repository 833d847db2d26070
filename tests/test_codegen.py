"""`derive code`: every generated script of every shipped problem runs and prints the verified key.

The scripts run as subprocesses (plain `python script.py`, nothing of derive imported); their
printed numbers are compared with the answer key derive verified (derive.pipeline.solve +
derive.answer_key.answer_key): NumPy and PyTorch to 1e-9 relative, the NumPy exercise after the
test fills in the formulas its own TODOs name, Keras (KERAS_BACKEND=torch) to float32 precision,
because Keras 3 computes in float32 on the torch backend whatever floatx says.

torch and keras are optional here and skipped without them, except under CI (``CI`` set).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from derive.answer_key import answer_key
from derive.cli import main
from derive.codegen import code_script
from derive.loader import load_problem
from derive.pipeline import solve
from derive.registry import ACTIVATIONS, LOSSES

PROBLEMS = sorted(Path("problems").glob("*.yaml"))
RTOL, ATOL = 1e-9, 1e-12
KERAS_RTOL, KERAS_ATOL = 2e-5, 1e-7  # float32 arithmetic inside Keras 3


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        if _in_ci():
            pytest.fail(f"{module} is not installed; under CI it is required (scripts/test.sh installs it)")
        pytest.skip(f"{module} is not installed")


def run_script(text: str, tmp_path: Path, name: str = "script.py") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    env.pop("PYTHONPATH", None)  # the script needs only its framework, not derive
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def parse_output(stdout: str) -> dict:
    """{(step, label): value} and {("epoch", k): mean loss} from a script's printout."""
    values, step = {}, None
    for line in stdout.splitlines():
        if m := re.match(r"step (\d+), examples (\[.*\])$", line):
            step = int(m.group(1))
            values[(step, "examples")] = ast.literal_eval(m.group(2))
        elif m := re.match(r"epoch (\d+): mean loss = (.+)$", line):
            values[("epoch", int(m.group(1)))] = float(m.group(2))
        elif m := re.match(r"\s+(\S.*?) = (.+)$", line):
            values[(step, m.group(1))] = ast.literal_eval(m.group(2))
    return values


def expected_values(key: dict) -> dict:
    """The same quantities read off the verified answer key, labelled as the scripts print them."""
    expected = {}
    bias = key["network"]["bias"]
    for step in key["steps"]:
        k = step["step"]
        expected[(k, "examples")] = step["batch"]
        expected[(k, "J")] = step["loss"]
        expected[(k, "J'")] = step["loss_after"]
        for layer in step["layers"]:
            l = layer["layer"]
            expected[(k, f"dJ/dW({l})")] = layer["grad_W"]
            expected[(k, f"W({l})'")] = layer["W"]
            if bias:
                expected[(k, f"dJ/db({l})")] = layer["grad_b"]
                expected[(k, f"b({l})'")] = layer["b"]
    losses = [s["loss"] for s in key["steps"]]
    examples = len(load_problem(key["source"]).inputs)
    size = key["training"]["batch"] if key["training"]["batch"] != "full" else examples
    steps_per_epoch = -(-examples // size)
    for e, start in enumerate(range(0, len(losses), steps_per_epoch), start=1):
        expected[("epoch", e)] = float(np.mean(losses[start : start + steps_per_epoch]))
    for row in key.get("epochs", []):  # the key's own epoch means, where it has them
        expected[("epoch", row["epoch"])] = row["mean_loss"]
    return expected


def assert_matches_key(printed: dict, key: dict, rtol: float = RTOL, atol: float = ATOL) -> None:
    expected = expected_values(key)
    assert set(printed) == set(expected)
    for label, value in expected.items():
        if label[1] == "examples":
            assert printed[label] == value
        else:
            np.testing.assert_allclose(np.asarray(printed[label], float), np.asarray(value, float),
                                       rtol=rtol, atol=atol, err_msg=str(label))


@pytest.fixture(scope="module")
def keys():
    cache = {}

    def get(path: Path):
        if path not in cache:
            verified = solve(load_problem(path))
            cache[path] = (verified, answer_key(verified))
        return cache[path]

    return get


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_numpy_script_prints_the_verified_key(path, keys, tmp_path):
    verified, key = keys(path)
    assert_matches_key(parse_output(run_script(code_script(verified, "numpy"), tmp_path)), key)


def complete_exercise(text: str) -> str:
    """Fill the exercise in with the formulas its own TODOs name: each `# TODO: code` line
    becomes the code, and the NotImplementedError that stood for it goes."""
    lines = []
    for line in text.splitlines():
        if "raise NotImplementedError" in line:
            continue
        lines.append(re.sub(r"^(\s*)# TODO: ", r"\1", line))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_exercise_completed_from_its_todos_prints_the_verified_key(path, keys, tmp_path):
    verified, key = keys(path)
    exercise = code_script(verified, "numpy", exercise=True)
    assert "# TODO: " in exercise and "raise NotImplementedError" in exercise
    assert exercise != code_script(verified, "numpy")
    assert_matches_key(parse_output(run_script(complete_exercise(exercise), tmp_path)), key)


def test_exercise_as_given_stops_at_the_backward_pass(keys, tmp_path):
    verified, _ = keys(Path("problems/sgd-tanh-hidden.yaml"))
    path = tmp_path / "exercise.py"
    path.write_text(code_script(verified, "numpy", exercise=True), encoding="utf-8")
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "NotImplementedError" in result.stderr


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_pytorch_script_prints_the_verified_key(path, keys, tmp_path):
    _require("torch")
    verified, key = keys(path)
    assert_matches_key(parse_output(run_script(code_script(verified, "pytorch"), tmp_path)), key)


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_keras_script_prints_the_verified_key(path, keys, tmp_path):
    _require("torch")
    _require("keras")
    verified, key = keys(path)
    assert_matches_key(parse_output(run_script(code_script(verified, "keras"), tmp_path)), key,
                       rtol=KERAS_RTOL, atol=KERAS_ATOL)


def test_keras_script_states_the_loss_convention(keys):
    half = " ".join(code_script(keys(Path("problems/sgd-sigmoid-hidden.yaml"))[0], "keras").replace("#", " ").split())
    assert "without the 1/2" in half and "custom loss" in half and "def loss(y_true, y_pred)" in half
    keras_mse = " ".join(code_script(keys(Path("problems/sgd-keras-mse.yaml"))[0], "keras").replace("#", " ").split())
    assert "loss = keras.losses.MeanSquaredError()" in keras_mse and "without the 1/2" in keras_mse


def test_scripts_need_only_their_framework(keys):
    verified, _ = keys(Path("problems/softmax-3class.yaml"))
    for framework, allowed in (("numpy", {"numpy"}), ("pytorch", {"torch"}), ("keras", {"os", "keras", "numpy"})):
        imported = {m.group(1).split(".")[0] for m in re.finditer(r"^import (\S+)", code_script(verified, framework), re.M)}
        assert imported == allowed, framework


def test_scripts_are_deterministic(keys):
    verified, _ = keys(Path("problems/bce-relu-epochs.yaml"))
    assert code_script(verified, "pytorch") == code_script(solve(load_problem("problems/bce-relu-epochs.yaml")), "pytorch")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_registry_numpy_code_matches_the_registry_functions(name):
    """The code forms the scripts print are the same functions the reference uses."""
    entry = ACTIVATIONS[name]
    rng = np.random.default_rng(3)
    z = rng.normal(size=(4, 3))
    z[0, 0] = 0.0
    a = entry.numpy(z)
    np.testing.assert_allclose(eval(entry.numpy_code, {"np": np, "z": z}), a, rtol=1e-14)
    if entry.numpy_backward is not None:
        g = rng.normal(size=z.shape)
        np.testing.assert_allclose(eval(entry.numpy_backward_code, {"np": np, "z": z, "a": a, "grad_a": g}),
                                   entry.numpy_backward(z, a, g), rtol=1e-14)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_registry_loss_code_matches_the_registry_functions(name):
    entry = LOSSES[name]
    rng = np.random.default_rng(4)
    A = rng.uniform(0.05, 0.95, size=(3, 4))
    A = A / A.sum(axis=1, keepdims=True)
    Y = np.eye(4)[[0, 2, 3]]
    np.testing.assert_allclose(eval(entry.numpy_code, {"np": np, "A": A, "Y": Y}), entry.numpy(A, Y), rtol=1e-14)
    np.testing.assert_allclose(eval(entry.numpy_grad_code, {"np": np, "A": A, "Y": Y}), entry.numpy_grad(A, Y), rtol=1e-14)


def test_cli_writes_the_script(tmp_path):
    out = tmp_path / "tanh.py"
    result = CliRunner().invoke(main, ["code", "problems/sgd-tanh-hidden.yaml", "--framework", "numpy", "-o", str(out)])
    assert result.exit_code == 0, result.output
    first, second = out.read_text(encoding="utf-8").splitlines()[:2]
    assert first.startswith("# Written by derive from problems/sgd-tanh-hidden.yaml (sha256 ")
    assert second.startswith('"""One SGD step with a tanh hidden layer')
    again = CliRunner().invoke(main, ["code", "problems/sgd-tanh-hidden.yaml", "--framework", "pytorch", "-o", str(out)])
    assert again.exit_code == 0, again.output  # derive's own script is replaced


def test_cli_does_not_replace_a_file_that_is_not_a_derive_script(tmp_path):
    mine = tmp_path / "mine.py"
    mine.write_text("print('my own work')\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["code", "problems/sgd-tanh-hidden.yaml", "--framework", "numpy", "-o", str(mine)])
    assert result.exit_code == 2 and "not derive's own output" in result.output
    assert mine.read_text(encoding="utf-8") == "print('my own work')\n"


def test_cli_prints_the_script_without_output_file():
    result = CliRunner().invoke(main, ["code", "problems/sgd-tanh-hidden.yaml", "--framework", "pytorch"])
    assert result.exit_code == 0 and "import torch" in result.output


def test_cli_exercise_only_for_numpy():
    result = CliRunner().invoke(main, ["code", "problems/sgd-tanh-hidden.yaml", "--framework", "keras", "--exercise"])
    assert result.exit_code == 2 and "--exercise" in result.output


# Networks no shipped problem has: no biases, wrap-around batches, leaky ReLU, an identity output,
# L2 on steps of 2 examples out of 3, and a forward pass only.
NO_BIAS_WRAPPING = """\
title: No biases, batches of 2 wrapping around
network: {layers: [3, 4, 2], activations: [leaky_relu, identity], loss: mse, bias: false}
parameters:
  W1: [[0.1, -0.2, 0.3], [-0.4, 0.5, 0.1], [0.2, 0.2, -0.3], [-0.1, -0.3, 0.4]]
  W2: [[0.3, -0.1, 0.2, 0.5], [-0.2, 0.4, -0.3, 0.1]]
data:
  inputs: [[0.5, -1.0, 0.2], [1.0, 0.3, -0.5], [-0.4, 0.8, 0.9]]
  targets: [[0.1, 0.9], [0.5, -0.2], [0.3, 0.4]]
training: {learning_rate: 0.3, steps: 4, batch: 2, l2: 0.2}
"""
FORWARD_ONLY = """\
title: Forward pass only
network: {layers: [2, 2, 1], activations: [tanh, sigmoid], loss: half_mse}
parameters: {W1: [[0.2, -0.1], [0.4, 0.3]], b1: [0.1, -0.1], W2: [[0.5, -0.6]], b2: [0.2]}
data: {inputs: [[0.5, 0.9], [1.0, -1.0]], targets: [[1.0], [0.0]]}
training: {learning_rate: 0.5, steps: 0}
"""


@pytest.mark.parametrize("framework", ["numpy", "exercise", "pytorch", "keras"])
def test_scripts_without_biases_and_with_wrapping_batches(framework, tmp_path):
    if framework in ("pytorch", "keras"):
        _require("torch")
    if framework == "keras":
        _require("keras")
    path = tmp_path / "no-bias.yaml"
    path.write_text(NO_BIAS_WRAPPING, encoding="utf-8")
    verified = solve(load_problem(path))
    key = answer_key(verified)
    if framework == "exercise":
        script = complete_exercise(code_script(verified, "numpy", exercise=True))
    else:
        script = code_script(verified, framework)
    printed = parse_output(run_script(script, tmp_path))
    assert printed[(2, "examples")] == [3, 1]  # step 2 wraps around to the first example
    tolerance = (KERAS_RTOL, KERAS_ATOL) if framework == "keras" else (RTOL, ATOL)
    assert_matches_key(printed, key, *tolerance)


@pytest.mark.parametrize("framework", ["numpy", "pytorch"])
def test_forward_only_script_prints_the_loss(framework, tmp_path):
    if framework == "pytorch":
        _require("torch")
    path = tmp_path / "forward.yaml"
    path.write_text(FORWARD_ONLY, encoding="utf-8")
    verified = solve(load_problem(path))
    printed = parse_output(run_script(code_script(verified, framework), tmp_path))
    assert set(printed) == {(None, "J")}
    np.testing.assert_allclose(printed[(None, "J")], answer_key(verified)["steps"][0]["loss"], rtol=RTOL)


@pytest.mark.parametrize("framework", ["numpy", "pytorch", "keras"])
def test_step_activation_forward_only(framework, tmp_path):
    """The step has no derivative: its scripts only run the forward pass."""
    if framework != "numpy":
        _require("torch")
    if framework == "keras":
        _require("keras")
    path = tmp_path / "step.yaml"
    # (no z near the step's jump: Keras' float32 could land on the other side of it)
    step = FORWARD_ONLY.replace("[tanh, sigmoid]", "[step, sigmoid]").replace("[1.0, -1.0]", "[1.0, -0.5]")
    path.write_text(step, encoding="utf-8")
    verified = solve(load_problem(path))
    printed = parse_output(run_script(code_script(verified, framework), tmp_path))
    tolerance = KERAS_RTOL if framework == "keras" else RTOL
    np.testing.assert_allclose(printed[(None, "J")], answer_key(verified)["steps"][0]["loss"], rtol=tolerance)


def test_cli_bad_problem_file_is_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(FORWARD_ONLY.replace("loss: half_mse", "loss: half_mes"), encoding="utf-8")
    result = CliRunner().invoke(main, ["code", str(bad), "--framework", "numpy", "-o", str(tmp_path / "x.py")])
    assert result.exit_code == 2 and f"{bad}: network.loss: unknown loss" in result.output
    assert not (tmp_path / "x.py").exists()
