"""Unbounded work (issue 10, section 3): every size a file or an option sets is checked against
derive/limits.py before any work starts, and exceeding it is exit code 2 naming the limit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from derive import cli, limits
from derive.errors import ProblemError
from derive.loader import load_problem, parse_problem
from derive.roster import load_roster
from test_loader import VALID_TEXT

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


def refused(text: str, field: str, limit: str) -> None:
    with pytest.raises(ProblemError) as info:
        parse_problem(text, "p.yaml")
    assert info.value.field == field
    assert f"limits.{limit}" in info.value.message


def network(layers: list[int]) -> str:
    document = yaml.safe_load(VALID_TEXT)
    document["network"].update(layers=layers, activations=["sigmoid"] * (len(layers) - 1))
    document["parameters"] = {}
    for l in range(1, len(layers)):
        document["parameters"][f"W{l}"] = [[0.1] * layers[l - 1] for _ in range(layers[l])]
        document["parameters"][f"b{l}"] = [0.1] * layers[l]
    document["data"] = {"inputs": [[0.5] * layers[0]], "targets": [[1.0] * layers[-1]]}
    return yaml.safe_dump(document)


def test_steps():
    refused(VALID_TEXT.replace("steps: 1", "steps: 1000000000"), "training.steps", "MAX_STEPS")


def test_epochs():
    refused(VALID_TEXT.replace("steps: 1", "epochs: 1000000000"), "training.epochs", "MAX_STEPS")


def test_layer_size_is_refused_before_sympy_starts():
    refused(network([784, 1000, 10]), "network.layers", "MAX_LAYER_SIZE")


def test_parameter_count():
    refused(network([64, 64, 64, 64]), "network.layers", "MAX_PARAMETERS")


def test_layer_count():
    refused(network([2] * 12), "network.layers", "MAX_LAYERS")


def test_examples():
    document = yaml.safe_load(VALID_TEXT)
    document["data"] = {"inputs": [[0.5, 0.5]] * 101, "targets": [[1.0]] * 101}
    refused(yaml.safe_dump(document), "data.inputs", "MAX_EXAMPLES")


def test_steps_times_examples():
    document = yaml.safe_load(VALID_TEXT)
    document["data"] = {"inputs": [[0.5, 0.5]] * 100, "targets": [[1.0]] * 100}
    document["training"]["steps"] = 1000
    refused(yaml.safe_dump(document), "training.steps", "MAX_WORK")


def test_max_draws():
    text = VALID_TEXT + "randomisation:\n  parameters:\n    weights: {min: -1, max: 1, step: 0.5}\n  max_draws: 1000000\n"
    refused(text, "randomisation.max_draws", "MAX_DRAWS")


def test_variants_option():
    result = CliRunner().invoke(cli.main, ["exam", str(PROBLEMS / "sgd-sigmoid-hidden.yaml"), "--variants",
                                           "1000000000", "--seed", "1", "--tex-only", "-o", "unused"])
    assert result.exit_code == 2
    assert "limits.MAX_VARIANTS" in result.stderr and result.stderr.count("\n") == 1


def test_roster_size(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("name,id\n" + "".join(f"Student {i},{i}\n" for i in range(limits.MAX_VARIANTS + 1)))
    with pytest.raises(ProblemError) as info:
        load_roster(roster)
    assert "limits.MAX_VARIANTS" in info.value.message


def test_file_size(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(VALID_TEXT + "#" * limits.MAX_FILE_BYTES)
    with pytest.raises(ProblemError) as info:
        load_problem(big)
    assert "limits.MAX_FILE_BYTES" in info.value.message


def test_endless_device_is_refused():
    result = CliRunner().invoke(cli.main, ["solve", "/dev/zero"])
    assert result.exit_code == 2 and "not a regular file" in result.stderr


def test_deep_nesting_is_a_message_not_a_recursion_error():
    refused_text = "title: " + "[" * 10_000
    with pytest.raises(ProblemError) as info:
        parse_problem(refused_text, "p.yaml")
    assert "limits.MAX_YAML_DEPTH" in info.value.message


def test_the_limits_admit_every_shipped_problem():
    for path in PROBLEMS.glob("*.yaml"):
        load_problem(path)


def test_impossible_constraint_is_refused_before_any_draw():
    text = VALID_TEXT + ("randomisation:\n  parameters:\n    weights: {min: -1, max: 1, step: 0.5}\n"
                         "  constraints: {inactive_relu: 3}\n  max_draws: 20000\n")
    with pytest.raises(ProblemError) as info:
        parse_problem(text, "p.yaml")  # sigmoid layers: no ReLU pre-activation at all
    assert info.value.field == "randomisation.constraints.inactive_relu"
    assert "no draw can meet it" in info.value.message
