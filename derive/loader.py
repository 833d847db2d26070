"""Loader: reads a YAML problem file and validates it into an immutable :class:`Problem`.

This is one of the few modules that touch files. Shape and type checks are pydantic's; the
checks that need the whole problem (matrix shapes against layer sizes, activation and loss
pairings, target ranges) follow, each raising a :class:`ProblemError` naming the field.
"""

from __future__ import annotations

import difflib
import hashlib
import math
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ProblemError
from .registry import ACTIVATIONS, LOSSES
from .spec import QUANTITIES, Answers, Matrix, Network, Problem, Training

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NumberRow = list[Number]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RawNetwork(_Strict):
    layers: list[Annotated[int, Field(strict=True, gt=0)]] = Field(min_length=2)
    activations: list[str]
    loss: str
    bias: bool = True


class _RawData(_Strict):
    inputs: list[NumberRow] = Field(min_length=1)
    targets: list[NumberRow] = Field(min_length=1)


class _RawTraining(_Strict):
    learning_rate: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
    steps: Annotated[int, Field(strict=True, ge=0)] | None = None
    epochs: Annotated[int, Field(strict=True, gt=0)] | None = None
    batch: Union[Literal["full"], Annotated[int, Field(strict=True, gt=0)]] = "full"
    l2: Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)] = 0.0


class _RawAnswers(_Strict):
    significant_figures: Annotated[int, Field(strict=True, ge=1, le=15)] | None = None
    relative_tolerance: Annotated[float, Field(strict=True, gt=0, lt=1, allow_inf_nan=False)] | None = None
    decimals: Annotated[int, Field(strict=True, ge=0, le=12)] = 4
    asked: list[Literal[QUANTITIES]] | None = None  # type: ignore[valid-type]


class _RawProblem(_Strict):
    title: str = Field(min_length=1)
    instructions: str = ""
    network: _RawNetwork
    parameters: dict[str, Union[list[NumberRow], NumberRow]]
    data: _RawData
    training: _RawTraining
    answers: _RawAnswers = _RawAnswers()


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice (YAML would silently keep the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_problem(path: str | Path) -> Problem:
    """Read and validate a problem file; raise :class:`ProblemError` on any problem."""
    source = str(path)
    raw_bytes = _read(Path(path))
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ProblemError(source, "", f"not UTF-8 text (byte {err.start})") from None
    return parse_problem(text, source, sha256=hashlib.sha256(raw_bytes).hexdigest())


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ProblemError(str(path), "", "file not found") from None
    except OSError as err:
        raise ProblemError(str(path), "", f"cannot read the file ({err.strerror})") from None


def parse_problem(text: str, source: str = "<string>", sha256: str = "") -> Problem:
    """Validate YAML text into a :class:`Problem` (``source`` names it in errors)."""
    document = read_yaml(text, source)
    if not isinstance(document, dict):
        raise ProblemError(source, "", "expected a mapping with title, network, parameters, data, training")
    try:
        raw = _RawProblem.model_validate(document)
    except ValidationError as err:
        # A value that fails a union (matrix or vector) is reported once per member; group the
        # errors by field and describe the most telling one (a non-number beats a wrong type).
        errors = err.errors()
        # Drop "not a list" errors from the union member that does not fit the value's shape.
        shaped = [e for e in errors if e["type"] != "list_type" or not any(
            o is not e and o["type"] != "list_type" and o["loc"][:2] == e["loc"][:2] for o in errors)]
        by_field: dict[str, list[dict]] = {}
        for error in shaped:
            by_field.setdefault(_field_path(error["loc"]), []).append(error)
        field, errors = next(iter(by_field.items()))
        numeric = [e for e in errors if e["type"] in ("float_type", "float_parsing", "finite_number")]
        message = _describe((numeric or errors)[0])
        more = len(by_field) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ProblemError(source, field, message) from None
    return _build(raw, source, sha256)


def read_text(path: str | Path) -> str:
    """The UTF-8 text of a file (an answers file, say); a :class:`ProblemError` if it cannot be read."""
    try:
        return _read(Path(path)).decode("utf-8")
    except UnicodeDecodeError as err:
        raise ProblemError(str(path), "", f"not UTF-8 text (byte {err.start})") from None


def read_yaml(text: str, source: str):
    """Parse YAML text (duplicate keys rejected); a :class:`ProblemError` names the line."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ProblemError(source, "", f"YAML syntax error at {where}{problem}") from None


def _field_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("int", "float", "list[float]", "list[list[float]]", "literal['full']"):
            continue  # pydantic's names of union members, not fields
        else:
            path += f".{part}" if path else str(part)
    return path


def _describe(error: dict) -> str:
    kind = error["type"]
    given = error.get("input")
    if kind == "missing":
        return "missing (this field is required)"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling)"
    if kind == "finite_number":
        return f"expected a finite number, got {given!r}"
    if kind in ("float_type", "int_type", "float_parsing"):
        return f"expected a number, got {given!r}"
    return f"{error['msg']}, got {given!r}"


def _build(raw: _RawProblem, source: str, sha256: str) -> Problem:
    def fail(field: str, message: str) -> ProblemError:
        return ProblemError(source, field, message)

    if raw.answers.significant_figures is not None and raw.answers.relative_tolerance is not None:
        raise fail("answers", "give either significant_figures or relative_tolerance, not both")
    network = _check_network(raw.network, fail)
    weights, biases = _check_parameters(raw.parameters, network, fail)
    inputs, targets = _check_data(raw.data, network, fail)
    training = _check_training(raw.training, network, len(inputs), fail)
    asked = tuple(raw.answers.asked) if raw.answers.asked is not None else QUANTITIES
    return Problem(
        title=raw.title,
        instructions=raw.instructions,
        network=network,
        weights=weights,
        biases=biases,
        inputs=inputs,
        targets=targets,
        training=training,
        answers=Answers(decimals=raw.answers.decimals, asked=asked, significant_figures=raw.answers.significant_figures,
                        relative_tolerance=raw.answers.relative_tolerance),
        source=source,
        sha256=sha256,
    )


def _unknown(kind: str, name: str, known: dict) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}; choose from {', '.join(known)}"


def _check_network(raw: _RawNetwork, fail) -> Network:
    depth = len(raw.layers) - 1
    if len(raw.activations) != depth:
        raise fail(
            "network.activations",
            f"expected {depth} activation{'s' if depth > 1 else ''} (one per non-input layer "
            f"of {raw.layers}), got {len(raw.activations)}",
        )
    for i, name in enumerate(raw.activations):
        field = f"network.activations[{i}]"
        if name not in ACTIVATIONS:
            raise fail(field, _unknown("activation", name, ACTIVATIONS))
        if ACTIVATIONS[name].output_only and i != depth - 1:
            raise fail(field, f"{name} is only allowed on the output layer, not on hidden layer {i + 1}")
    if raw.loss not in LOSSES:
        raise fail("network.loss", _unknown("loss", raw.loss, LOSSES))
    loss = LOSSES[raw.loss]
    output = raw.activations[-1]
    if loss.output_activations and output not in loss.output_activations:
        raise fail(
            "network.loss",
            f"{raw.loss} needs a {' or '.join(loss.output_activations)} output layer, "
            f"but the output activation is {output}",
        )
    if output == "softmax" and raw.layers[-1] < 2:
        raise fail("network.layers", "a softmax output layer needs at least 2 neurons")
    return Network(tuple(raw.layers), tuple(raw.activations), raw.loss, raw.bias)


def _check_parameters(parameters: dict, network: Network, fail) -> tuple[tuple[Matrix, ...], tuple]:
    depth = network.depth
    expected = {f"W{l}" for l in range(1, depth + 1)}
    if network.bias:
        expected |= {f"b{l}" for l in range(1, depth + 1)}
    for key in sorted(parameters):
        if key not in expected:
            reason = (
                "network.bias is false, so no biases are given"
                if key.startswith("b") and not network.bias and key[1:].isdigit()
                else f"expected only {', '.join(sorted(expected))}"
            )
            raise fail(f"parameters.{key}", f"unexpected parameter ({reason})")
    weights, biases = [], []
    for l in range(1, depth + 1):
        rows, cols = network.layers[l], network.layers[l - 1]
        weights.append(_matrix(parameters, f"W{l}", rows, cols, l, fail))
        if network.bias:
            biases.append(_vector(parameters, f"b{l}", rows, l, fail))
        else:
            biases.append(tuple(0.0 for _ in range(rows)))
    return tuple(weights), tuple(biases)


def _matrix(parameters: dict, key: str, rows: int, cols: int, layer: int, fail) -> Matrix:
    field = f"parameters.{key}"
    if key not in parameters:
        raise fail(field, f"missing (layer {layer} needs a {rows}x{cols} weight matrix)")
    value = parameters[key]
    if not value or not all(isinstance(row, list) for row in value):
        raise fail(field, f"expected a {rows}x{cols} matrix (a list of {rows} rows), got {value!r}")
    if len(value) != rows:
        raise fail(field, f"expected {rows} rows (one per neuron of layer {layer}), got {len(value)}")
    for i, row in enumerate(value):
        if len(row) != cols:
            raise fail(
                f"{field}[{i}]",
                f"expected {cols} columns (one per neuron of layer {layer - 1}), got {len(row)}",
            )
    return tuple(tuple(float(x) for x in row) for row in value)


def _vector(parameters: dict, key: str, size: int, layer: int, fail) -> tuple[float, ...]:
    field = f"parameters.{key}"
    if key not in parameters:
        raise fail(field, f"missing (layer {layer} needs {size} biases, or set network.bias: false)")
    value = parameters[key]
    if any(isinstance(x, list) for x in value):
        raise fail(field, f"expected a list of {size} numbers, got a matrix")
    if len(value) != size:
        raise fail(field, f"expected {size} biases (one per neuron of layer {layer}), got {len(value)}")
    return tuple(float(x) for x in value)


def _check_data(raw: _RawData, network: Network, fail) -> tuple[Matrix, Matrix]:
    n_in, n_out = network.layers[0], network.layers[-1]
    for name, rows, width in (("inputs", raw.inputs, n_in), ("targets", raw.targets, n_out)):
        for i, row in enumerate(rows):
            if len(row) != width:
                raise fail(f"data.{name}[{i}]", f"expected {width} values (layer size), got {len(row)}")
    if len(raw.targets) != len(raw.inputs):
        raise fail(
            "data.targets",
            f"expected one row per example ({len(raw.inputs)} inputs), got {len(raw.targets)}",
        )
    loss = LOSSES[network.loss]
    for i, row in enumerate(raw.targets):
        if loss.targets_in_unit_interval and any(not 0.0 <= y <= 1.0 for y in row):
            raise fail(f"data.targets[{i}]", f"{network.loss} needs targets in [0, 1], got {row}")
        if loss.targets_sum_to_one and not math.isclose(sum(row), 1.0, abs_tol=1e-9):
            raise fail(
                f"data.targets[{i}]",
                f"{network.loss} needs each target row to sum to 1 (a class distribution), "
                f"got {row} with sum {sum(row):g}",
            )
    as_matrix = lambda rows: tuple(tuple(float(x) for x in row) for row in rows)  # noqa: E731
    return as_matrix(raw.inputs), as_matrix(raw.targets)


def _check_training(raw: _RawTraining, network: Network, examples: int, fail) -> Training:
    batch_size = None if raw.batch == "full" else raw.batch
    if batch_size is not None and batch_size > examples:
        raise fail("training.batch", f"batch size {batch_size} exceeds the {examples} examples")
    if raw.steps is not None and raw.epochs is not None:
        raise fail("training", "give either steps or epochs, not both")
    training = Training(raw.learning_rate, 1, batch_size, raw.l2, raw.epochs)
    steps = raw.steps if raw.steps is not None else 1
    if raw.epochs is not None:
        steps = raw.epochs * training.steps_per_epoch(examples)
    for i, name in enumerate(network.activations):
        if steps > 0 and ACTIVATIONS[name].numpy_backward is None:
            raise fail(
                f"network.activations[{i}]",
                f"{name} has no usable derivative (zero everywhere except at 0, where it is "
                "undefined), so backpropagation cannot train through it; use sigmoid, or set "
                "training.steps: 0 for a forward-pass-only problem",
            )
    return Training(raw.learning_rate, steps, batch_size, raw.l2, raw.epochs)
