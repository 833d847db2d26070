"""The loader: valid files become frozen dataclasses; every bad file is one clear ProblemError.

Each bad-input test asserts the error's ``field`` (the path into the file) and fragments of
its message that say what is wrong, so a message that only says "invalid" would fail.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from pathlib import Path

import pytest
import yaml

from derive.errors import DeriveError, ProblemError
from derive.loader import load_problem, parse_problem
from derive.spec import QUANTITIES, Answers, Network, Problem, Training

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
SOURCE = "ex.yaml"

# A 2-2-1 sigmoid network, one example. Written out literally so line numbers are known.
VALID_TEXT = """\
title: Tiny exercise
instructions: Work one step.
network:
  layers: [2, 2, 1]
  activations: [sigmoid, sigmoid]
  loss: half_mse
  bias: true
parameters:
  W1: [[0.2, -0.1], [0.4, 0.3]]
  b1: [0.1, -0.1]
  W2: [[0.5, -0.6]]
  b2: [0.2]
data:
  inputs: [[0.5, 0.9]]
  targets: [[1.0]]
training:
  learning_rate: 0.5
  steps: 1
  batch: full
  l2: 0.0
answers:
  decimals: 3
"""
VALID = yaml.safe_load(VALID_TEXT)


def variant(mutate) -> str:
    document = copy.deepcopy(VALID)
    mutate(document)
    return yaml.safe_dump(document, sort_keys=False)


def error_for(text: str) -> ProblemError:
    with pytest.raises(ProblemError) as info:
        parse_problem(text, SOURCE)
    err = info.value
    assert err.source == SOURCE
    assert "\n" not in str(err), "a ProblemError is one line"
    assert str(err).startswith(f"{SOURCE}: {err.field + ': ' if err.field else ''}")
    return err


def assert_says(err: ProblemError, field: str, *fragments: str) -> None:
    assert err.field == field, f"field {err.field!r} (message: {err.message})"
    for fragment in fragments:
        assert fragment in err.message, f"{fragment!r} not in {err.message!r}"


def setter(path: str, value):
    """mutate(document) setting the dotted ``path``."""

    def mutate(document):
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def remover(path: str):
    def mutate(document):
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


def both(*mutations):
    def mutate(document):
        for m in mutations:
            m(document)

    return mutate


# --------------------------------------------------------------------------------------------
# valid input
# --------------------------------------------------------------------------------------------


def test_valid_problem_parses_into_typed_values():
    problem = parse_problem(VALID_TEXT, SOURCE)
    assert isinstance(problem, Problem)
    assert problem.title == "Tiny exercise"
    assert problem.instructions == "Work one step."
    assert problem.network == Network(layers=(2, 2, 1), activations=("sigmoid", "sigmoid"), loss="half_mse", bias=True)
    assert problem.network.depth == 2
    assert problem.weights == (((0.2, -0.1), (0.4, 0.3)), ((0.5, -0.6),))
    assert problem.biases == ((0.1, -0.1), (0.2,))
    assert problem.inputs == ((0.5, 0.9),)
    assert problem.targets == ((1.0,),)
    assert problem.examples == 1
    assert problem.training == Training(learning_rate=0.5, steps=1, batch_size=None, l2=0.0, epochs=None)
    assert problem.answers == Answers(decimals=3, asked=QUANTITIES)
    assert problem.source == SOURCE
    assert all(isinstance(x, float) for row in problem.weights[0] for x in row)


def test_integers_are_accepted_as_numbers_and_stored_as_floats():
    problem = parse_problem(variant(setter("parameters.W2", [[1, -2]])), SOURCE)
    assert problem.weights[1] == ((1.0, -2.0),)
    assert all(type(x) is float for x in problem.weights[1][0])


def test_defaults_for_optional_fields():
    text = variant(both(remover("answers"), remover("instructions"), remover("training.batch"),
                        remover("training.l2"), remover("training.steps"), remover("network.bias")))
    problem = parse_problem(text, SOURCE)
    assert problem.answers == Answers(decimals=4, asked=QUANTITIES)
    assert problem.instructions == ""
    assert problem.training == Training(learning_rate=0.5, steps=1, batch_size=None, l2=0.0, epochs=None)
    assert problem.network.bias is True


def test_bias_false_gives_zero_biases():
    text = variant(both(setter("network.bias", False), remover("parameters.b1"), remover("parameters.b2")))
    problem = parse_problem(text, SOURCE)
    assert problem.network.bias is False
    assert problem.biases == ((0.0, 0.0), (0.0,))


@pytest.mark.parametrize(
    "obj, attribute, value",
    [
        (lambda p: p, "title", "changed"),
        (lambda p: p, "weights", ()),
        (lambda p: p.network, "layers", (1, 1)),
        (lambda p: p.network, "loss", "mse"),
        (lambda p: p.training, "steps", 99),
        (lambda p: p.training, "learning_rate", 1.0),
        (lambda p: p.answers, "decimals", 9),
    ],
)
def test_problem_is_frozen(obj, attribute, value):
    problem = parse_problem(VALID_TEXT, SOURCE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj(problem), attribute, value)


def test_problem_containers_are_tuples_and_it_hashes():
    problem = parse_problem(VALID_TEXT, SOURCE)
    with pytest.raises(TypeError):
        problem.weights[0][0] = (9.0, 9.0)  # type: ignore[index]
    assert hash(problem) == hash(parse_problem(VALID_TEXT, SOURCE))
    assert problem == parse_problem(VALID_TEXT, SOURCE)


def test_load_problem_records_sha256_of_the_file_bytes(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(VALID_TEXT.encode("utf-8"))
    problem = load_problem(path)
    assert problem.sha256 == hashlib.sha256(VALID_TEXT.encode("utf-8")).hexdigest()
    assert problem.source == str(path)
    assert problem.network.layers == (2, 2, 1)


@pytest.mark.parametrize("path", sorted(PROBLEMS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_problems_load(path):
    problem = load_problem(path)
    assert problem.title
    assert len(problem.weights) == problem.network.depth
    for l, W in enumerate(problem.weights, start=1):
        assert len(W) == problem.network.layers[l]
        assert all(len(row) == problem.network.layers[l - 1] for row in W)


# --------------------------------------------------------------------------------------------
# batches and epochs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "examples, batch, steps, expected",
    [
        (3, 2, 3, ((0, 1), (2, 0), (1, 2))),  # wraps around in file order
        (3, None, 2, ((0, 1, 2), (0, 1, 2))),  # full batch
        (3, 1, 4, ((0,), (1,), (2,), (0,))),
        (4, 2, 3, ((0, 1), (2, 3), (0, 1))),
        (5, 3, 0, ()),
    ],
)
def test_batch_indices(examples, batch, steps, expected):
    assert Training(0.1, steps, batch).batch_indices(examples) == expected


@pytest.mark.parametrize(
    "examples, batch, epochs, steps",
    [
        (4, 1, 5, 20),
        (4, 2, 3, 6),
        (3, 2, 2, 4),  # ceil(3 / 2) = 2 steps per epoch
        (3, "full", 3, 3),
    ],
)
def test_epochs_become_steps(examples, batch, epochs, steps):
    def mutate(document):
        document["data"]["inputs"] = [[float(i), 1.0] for i in range(examples)]
        document["data"]["targets"] = [[0.5]] * examples
        document["training"]["batch"] = batch
        del document["training"]["steps"]
        document["training"]["epochs"] = epochs

    problem = parse_problem(variant(mutate), SOURCE)
    assert problem.training.steps == steps
    assert problem.training.epochs == epochs
    assert problem.training.batch_size == (None if batch == "full" else batch)


def test_step_activation_allowed_for_forward_only_problem():
    text = variant(both(setter("network.activations", ["step", "sigmoid"]), setter("training.steps", 0)))
    problem = parse_problem(text, SOURCE)
    assert problem.training.steps == 0
    assert problem.network.activations == ("step", "sigmoid")


# --------------------------------------------------------------------------------------------
# bad input: each names the field and says what is wrong
# --------------------------------------------------------------------------------------------

BAD = {
    "W too few rows": (
        setter("parameters.W1", [[0.2, -0.1]]),
        "parameters.W1", ("expected 2 rows", "got 1"),
    ),
    "W too many rows": (
        setter("parameters.W2", [[0.5, -0.6], [0.1, 0.1]]),
        "parameters.W2", ("expected 1 rows", "got 2"),
    ),
    "W too many columns": (
        setter("parameters.W1", [[0.2, -0.1, 0.3], [0.4, 0.3, 0.3]]),
        "parameters.W1[0]", ("expected 2 columns", "got 3"),
    ),
    "W too few columns": (
        setter("parameters.W2", [[0.5]]),
        "parameters.W2[0]", ("expected 2 columns", "got 1"),
    ),
    "ragged W": (
        setter("parameters.W1", [[0.2, -0.1], [0.4]]),
        "parameters.W1[1]", ("expected 2 columns", "got 1"),
    ),
    "W given as a vector": (
        setter("parameters.W2", [0.5, -0.6]),
        "parameters.W2", ("1x2 matrix",),
    ),
    "b wrong length": (
        setter("parameters.b1", [0.1]),
        "parameters.b1", ("expected 2 biases", "got 1"),
    ),
    "b given as a matrix": (
        setter("parameters.b2", [[0.2]]),
        "parameters.b2", ("matrix",),
    ),
    "unknown activation": (
        setter("network.activations", ["sigmoid", "sigmod"]),
        "network.activations[1]", ("unknown activation 'sigmod'", "did you mean 'sigmoid'?"),
    ),
    "unknown activation, no close match": (
        setter("network.activations", ["xyzzy", "sigmoid"]),
        "network.activations[0]", ("unknown activation 'xyzzy'", "choose from", "tanh"),
    ),
    "wrong number of activations": (
        setter("network.activations", ["sigmoid"]),
        "network.activations", ("expected 2 activations", "got 1"),
    ),
    "softmax on a hidden layer": (
        setter("network.activations", ["softmax", "sigmoid"]),
        "network.activations[0]", ("softmax", "only allowed on the output layer", "hidden layer 1"),
    ),
    "softmax with one output": (
        setter("network.activations", ["sigmoid", "softmax"]),
        "network.layers", ("softmax", "at least 2"),
    ),
    "unknown loss": (
        setter("network.loss", "half_mes"),
        "network.loss", ("unknown loss 'half_mes'", "did you mean 'half_mse'?"),
    ),
    "bce with a tanh output": (
        both(setter("network.activations", ["sigmoid", "tanh"]), setter("network.loss", "bce")),
        "network.loss", ("bce needs a sigmoid output", "tanh"),
    ),
    "cross_entropy without softmax": (
        setter("network.loss", "cross_entropy"),
        "network.loss", ("cross_entropy needs a softmax output", "sigmoid"),
    ),
    "bce target above 1": (
        both(setter("network.loss", "bce"), setter("data.targets", [[1.5]])),
        "data.targets[0]", ("bce", "[0, 1]", "1.5"),
    ),
    "bce target below 0": (
        both(setter("network.loss", "bce"), setter("data.targets", [[-0.25]])),
        "data.targets[0]", ("[0, 1]", "-0.25"),
    ),
    "zero layer size": (
        setter("network.layers", [2, 0, 1]),
        "network.layers[1]", ("greater than 0", "0"),
    ),
    "negative layer size": (
        setter("network.layers", [2, 2, -1]),
        "network.layers[2]", ("greater than 0", "-1"),
    ),
    "only one layer": (
        setter("network.layers", [2]),
        "network.layers", ("at least 2",),
    ),
    "no training": (
        remover("training"),
        "training", ("missing", "required"),
    ),
    "no parameters.W2": (
        remover("parameters.W2"),
        "parameters.W2", ("missing", "1x2 weight matrix"),
    ),
    "no parameters.b1": (
        remover("parameters.b1"),
        "parameters.b1", ("missing", "2 biases", "bias: false"),
    ),
    "no learning rate": (
        remover("training.learning_rate"),
        "training.learning_rate", ("missing",),
    ),
    "no title": (
        remover("title"),
        "title", ("missing",),
    ),
    "abc as a weight": (
        setter("parameters.W1", [[0.2, "abc"], [0.4, 0.3]]),
        "parameters.W1[0][1]", ("expected a number", "'abc'"),
    ),
    "quoted number as a weight": (
        setter("parameters.W2", [["0.5", -0.6]]),
        "parameters.W2[0][0]", ("expected a number", "'0.5'"),
    ),
    "boolean as a weight": (
        setter("parameters.W2", [[True, -0.6]]),
        "parameters.W2[0][0]", ("expected a number", "True"),
    ),
    "abc as an input": (
        setter("data.inputs", [["abc", 0.9]]),
        "data.inputs[0][0]", ("expected a number", "'abc'"),
    ),
    "nan as an input": (
        setter("data.inputs", [[float("nan"), 0.9]]),
        "data.inputs[0][0]", ("finite",),
    ),
    "abc as the learning rate": (
        setter("training.learning_rate", "abc"),
        "training.learning_rate", ("expected a number", "'abc'"),
    ),
    "zero learning rate": (
        setter("training.learning_rate", 0),
        "training.learning_rate", ("greater than 0",),
    ),
    "negative steps": (
        setter("training.steps", -1),
        "training.steps", ("greater than or equal to 0", "-1"),
    ),
    "b given when bias is false": (
        setter("network.bias", False),
        "parameters.b1", ("unexpected parameter", "bias is false"),
    ),
    "extra weight matrix": (
        setter("parameters.W3", [[1.0]]),
        "parameters.W3", ("unexpected parameter", "W1, W2, b1, b2"),
    ),
    "batch larger than the data": (
        setter("training.batch", 2),
        "training.batch", ("batch size 2", "1 examples"),
    ),
    "both steps and epochs": (
        setter("training.epochs", 2),
        "training", ("either steps or epochs", "not both"),
    ),
    "step activation with steps > 0": (
        setter("network.activations", ["step", "sigmoid"]),
        "network.activations[0]", ("step", "no usable derivative", "backpropagation", "training.steps: 0"),
    ),
    "unknown top-level key": (
        setter("momentum", 0.9),
        "momentum", ("unknown field",),
    ),
    "unknown nested key": (
        setter("training.momentum", 0.9),
        "training.momentum", ("unknown field",),
    ),
    "input row of the wrong width": (
        setter("data.inputs", [[0.5]]),
        "data.inputs[0]", ("expected 2 values", "got 1"),
    ),
    "target row of the wrong width": (
        setter("data.targets", [[1.0, 0.0]]),
        "data.targets[0]", ("expected 1 values", "got 2"),
    ),
    "more targets than inputs": (
        setter("data.targets", [[1.0], [0.0]]),
        "data.targets", ("one row per example", "got 2"),
    ),
    "unknown quantity asked": (
        setter("answers.asked", ["forward", "backward"]),
        "answers.asked[1]", ("'backward'",),
    ),
    "too many decimals": (
        setter("answers.decimals", 20),
        "answers.decimals", ("12", "20"),
    ),
    "compare: unknown activation": (
        setter("compare", {"hidden_activation": ["sigmoid", "tahn"]}),
        "compare.hidden_activation[1]", ("'tahn'", "did you mean 'tanh'"),
    ),
    "compare: softmax as a hidden activation": (
        setter("compare", {"hidden_activation": ["sigmoid", "softmax"]}),
        "compare.hidden_activation[1]", ("only allowed on the output layer",),
    ),
    "compare: loss that does not suit the output": (
        setter("compare", {"loss": ["half_mse", "cross_entropy"]}),
        "compare.loss[1]", ("needs a softmax output layer",),
    ),
    "compare: both kinds at once": (
        setter("compare", {"loss": ["half_mse", "mse"], "hidden_activation": ["sigmoid", "tanh"]}),
        "compare", ("exactly one of hidden_activation or loss",),
    ),
    "compare: an option twice": (
        setter("compare", {"loss": ["mse", "mse"]}),
        "compare.loss", ("listed twice",),
    ),
    "compare: a single option": (
        setter("compare", {"loss": ["mse"]}),
        "compare.loss", ("at least 2",),
    ),
    "compare: step cannot be trained": (
        setter("compare", {"hidden_activation": ["sigmoid", "step"]}),
        "compare.hidden_activation[1]", ("no usable derivative",),
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_names_field_and_problem(case):
    mutate, field, fragments = BAD[case]
    assert_says(error_for(variant(mutate)), field, *fragments)


def softmax_document(targets):
    document = copy.deepcopy(VALID)
    document["network"] = {"layers": [2, 3], "activations": ["softmax"], "loss": "cross_entropy"}
    document["parameters"] = {"W1": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], "b1": [0.0, 0.0, 0.0]}
    document["data"] = {"inputs": [[1.0, 0.0]] * len(targets), "targets": targets}
    return yaml.safe_dump(document)


def test_softmax_problem_with_distribution_targets_is_valid():
    problem = parse_problem(softmax_document([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]]), SOURCE)
    assert problem.targets == ((1.0, 0.0, 0.0), (0.2, 0.3, 0.5))


def test_cross_entropy_targets_not_summing_to_one():
    err = error_for(softmax_document([[1.0, 0.0, 0.0], [0.0, 0.5, 1.0]]))
    assert_says(err, "data.targets[1]", "cross_entropy", "sum to 1", "sum 1.5")


def test_cross_entropy_targets_summing_to_less_than_one():
    err = error_for(softmax_document([[0.0, 0.5, 0.0]]))
    assert_says(err, "data.targets[0]", "sum to 1", "sum 0.5")


def test_yaml_syntax_error_gives_line_number():
    lines = VALID_TEXT.splitlines()
    assert lines[10] == "  W2: [[0.5, -0.6]]"
    lines[10] = "  W2: [[0.5, -0.6]]]"  # line 11: one bracket too many
    err = error_for("\n".join(lines) + "\n")
    assert err.field == ""
    assert "YAML syntax error" in err.message
    assert "line 11" in err.message


def test_yaml_tab_indentation_gives_line_number():
    lines = VALID_TEXT.splitlines()
    lines[16] = "\tlearning_rate: 0.5"  # line 17
    err = error_for("\n".join(lines) + "\n")
    assert "YAML syntax error" in err.message and "line 17" in err.message


@pytest.mark.parametrize("text", ["", "just a string\n", "- 1\n- 2\n"])
def test_document_that_is_not_a_mapping(text):
    err = error_for(text)
    assert err.field == ""
    assert "mapping" in err.message


def test_file_not_found(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ProblemError) as info:
        load_problem(missing)
    assert info.value.source == str(missing)
    assert "file not found" in info.value.message
    assert str(missing) in str(info.value)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ProblemError) as info:
        load_problem(tmp_path)
    assert "cannot read" in info.value.message


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(VALID_TEXT.replace("Tiny exercise", "Caf\u00e9 exercise").encode("latin-1"))
    with pytest.raises(ProblemError) as info:
        load_problem(path)
    assert info.value.source == str(path)
    assert "UTF-8" in info.value.message
    assert f"byte {VALID_TEXT.index('exercise') - 2}" in info.value.message  # the 0xE9 of Cafe


def test_problem_error_is_a_derive_error_with_exit_code_2():
    err = error_for(variant(remover("training")))
    assert isinstance(err, DeriveError)
    assert err.exit_code == 2


def test_abc_as_a_bias_says_expected_a_number():
    assert_says(error_for(variant(setter("parameters.b1", ["abc", 0.1]))), "parameters.b1[0]", "expected a number")


def test_compare_section_becomes_typed_options():
    problem = parse_problem(variant(setter("compare", {"hidden_activation": ["sigmoid", "tanh", "relu"]})), SOURCE)
    assert problem.compare.what == "hidden_activation" and problem.compare.options == ("sigmoid", "tanh", "relu")
    assert [p.network.activations for _, p in problem.compared()] == [
        ("sigmoid", "sigmoid"), ("tanh", "sigmoid"), ("relu", "sigmoid")]
    assert all(p.compare is None and p.weights == problem.weights for _, p in problem.compared())
    losses = parse_problem(variant(setter("compare", {"loss": ["half_mse", "mse"]})), SOURCE)
    assert [p.network.loss for _, p in losses.compared()] == ["half_mse", "mse"]
    assert parse_problem(VALID_TEXT, SOURCE).compared() == ()
