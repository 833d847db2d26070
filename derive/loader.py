"""Loader: reads a YAML problem file (and a class roster) and validates it into immutable data.

This is one of the few modules that touch files. Shape and type checks are pydantic's; the
checks that need the whole problem (matrix shapes against layer sizes, activation and loss
pairings, target ranges) follow, each raising a :class:`ProblemError` naming the field.
"""

from __future__ import annotations

import csv
import difflib
import io
import hashlib
import math
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ProblemError
from .registry import ACTIVATIONS, LOSSES
from .spec import (
    EXERCISES, QUANTITIES, Answers, Comparison, Constraints, Draw, Matrix, Network, Problem, Randomisation,
    Student, Training,
)

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NumberRow = list[Number]


MAX_GRID_POINTS = 100_000


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
    asked: list[Literal[QUANTITIES + EXERCISES]] | None = None  # type: ignore[valid-type]


class _RawCompare(_Strict):
    hidden_activation: list[str] | None = Field(default=None, min_length=2)
    loss: list[str] | None = Field(default=None, min_length=2)


class _RawDraw(_Strict):
    min: Number | None = None
    max: Number | None = None
    step: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)] | None = None
    choices: list[Number] | None = Field(default=None, min_length=1)
    nonzero: bool = False
    one_hot: bool = False


class _RawConstraints(_Strict):
    max_abs_z: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)] | None = None
    inactive_relu: Annotated[int, Field(strict=True, ge=0)] = 0
    nonzero_gradients: bool = True
    distinct_answers: bool = True
    no_rounding_ties: bool = False


class _RawRandomData(_Strict):
    inputs: _RawDraw | None = None
    targets: _RawDraw | None = None


class _RawRandomisation(_Strict):
    parameters: dict[str, _RawDraw] = {}
    data: _RawRandomData = _RawRandomData()
    constraints: _RawConstraints = _RawConstraints()
    max_draws: Annotated[int, Field(strict=True, gt=0, le=1_000_000)] = 1000
    instructions: str | None = None


class _RawProblem(_Strict):
    title: str = Field(min_length=1)
    instructions: str = ""
    network: _RawNetwork
    parameters: dict[str, Union[list[NumberRow], NumberRow]]
    data: _RawData
    training: _RawTraining
    answers: _RawAnswers = _RawAnswers()
    compare: _RawCompare | None = None
    randomisation: _RawRandomisation | None = None


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
    compare = _check_compare(raw, network, fail)
    randomisation = None
    if raw.randomisation is not None:
        randomisation = _check_randomisation(raw.randomisation, network, raw.answers.decimals, fail)
    problem = Problem(
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
        compare=compare,
        randomisation=randomisation,
    )
    for i, (option, alternative) in enumerate(problem.compared()):
        # Each option must make a valid problem of its own (pairings, targets, derivatives).
        field = f"compare.{compare.what}[{i}]"
        _check_network(_RawNetwork(**{**raw.network.model_dump(), "activations": list(alternative.network.activations),
                                      "loss": alternative.network.loss}), _renamed(fail, field))
        _check_data(raw.data, alternative.network, _renamed(fail, field))
        _check_training(raw.training, alternative.network, len(inputs), _renamed(fail, field))
    return problem


def _renamed(fail, field: str):
    """A ``fail`` that reports every error under ``field`` (an option of the compare section)."""
    return lambda _, message: fail(field, message)


def _check_compare(raw: _RawProblem, network: Network, fail) -> Comparison | None:
    if raw.compare is None:
        return None
    given = {k: v for k, v in raw.compare.model_dump().items() if v is not None}
    if len(given) != 1:
        raise fail("compare", "give exactly one of hidden_activation or loss, each a list of at least 2 names")
    (what, options), = given.items()
    if len(set(options)) != len(options):
        raise fail(f"compare.{what}", f"an option is listed twice: {options}")
    if what == "hidden_activation" and network.depth < 2:
        raise fail("compare.hidden_activation", "the network has no hidden layer")
    known = ACTIVATIONS if what == "hidden_activation" else LOSSES
    for i, name in enumerate(options):
        if name not in known:
            raise fail(f"compare.{what}[{i}]", _unknown(what.replace("_", " "), name, known))
    return Comparison(what, tuple(options))


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
    if not ACTIVATIONS[output].elementwise and raw.layers[-1] < 2:
        raise fail("network.layers", f"a {output} output layer needs at least 2 neurons")
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
    for i, row in enumerate(raw.targets):
        wrong = target_error(row, network.loss)
        if wrong:
            raise fail(f"data.targets[{i}]", wrong)
    as_matrix = lambda rows: tuple(tuple(float(x) for x in row) for row in rows)  # noqa: E731
    return as_matrix(raw.inputs), as_matrix(raw.targets)


def target_error(row, loss_name: str) -> str | None:
    """Why a target row does not suit the loss, or None when it does."""
    loss = LOSSES[loss_name]
    row = list(row)
    if loss.targets_in_unit_interval and any(not 0.0 <= y <= 1.0 for y in row):
        return f"{loss_name} needs targets in [0, 1], got {row}"
    if loss.targets_sum_to_one and not math.isclose(sum(row), 1.0, abs_tol=1e-9):
        return (f"{loss_name} needs each target row to sum to 1 (a class distribution), "
                f"got {row} with sum {sum(row):g}")
    return None


def _check_randomisation(raw: _RawRandomisation, network: Network, decimals: int, fail) -> Randomisation:
    """Resolve the defaults (``weights``, ``biases``) into one draw per parameter key."""
    depth = network.depth
    keys = [f"W{l}" for l in range(1, depth + 1)] + ([f"b{l}" for l in range(1, depth + 1)] if network.bias else [])
    defaults = {"weights": "W", "biases": "b"} if network.bias else {"weights": "W"}
    for key in raw.parameters:
        if key not in keys and key not in defaults:
            raise fail(f"randomisation.parameters.{key}",
                       f"unknown key; expected weights, {'biases, ' if network.bias else ''}or one of {', '.join(keys)}")
    draws = {}
    for key in keys:
        default = next((raw.parameters[name] for name, prefix in defaults.items()
                        if key.startswith(prefix) and name in raw.parameters), None)
        chosen, name = (raw.parameters[key], key) if key in raw.parameters else (default, "weights" if key[0] == "W" else "biases")
        if chosen is not None:
            draws[key] = _draw(chosen, f"randomisation.parameters.{name}", decimals, fail, one_hot_allowed=False)
    inputs = raw.data.inputs and _draw(raw.data.inputs, "randomisation.data.inputs", decimals, fail, False)
    targets = raw.data.targets and _draw(raw.data.targets, "randomisation.data.targets", decimals, fail, True)
    if targets is not None and targets.one_hot and network.layers[-1] < 2:
        raise fail("randomisation.data.targets", "one_hot needs at least 2 output neurons")
    c = raw.constraints
    return Randomisation(
        parameters=tuple(draws.items()), inputs=inputs, targets=targets,
        constraints=Constraints(c.max_abs_z, c.inactive_relu, c.nonzero_gradients, c.distinct_answers, c.no_rounding_ties),
        max_draws=raw.max_draws, instructions=raw.instructions,
    )


def _draw(raw: _RawDraw, field: str, decimals: int, fail, one_hot_allowed: bool) -> Draw:
    """A draw that is a grid (min, max, step) xor a list of choices xor one-hot, on the sheet's decimals."""
    grid = (raw.min, raw.max, raw.step)
    if raw.one_hot:
        if not one_hot_allowed:
            raise fail(field, "one_hot is only for data.targets")
        if raw.choices is not None or any(v is not None for v in grid):
            raise fail(field, "one_hot takes no min, max, step or choices")
        return Draw(one_hot=True)
    if raw.choices is not None:
        if any(v is not None for v in grid):
            raise fail(field, "give either choices or min, max and step, not both")
        values = [v for v in raw.choices if not (raw.nonzero and v == 0)]
        if not values:
            raise fail(field, "no choice left (all are 0 and nonzero is true)")
        _on_decimals(raw.choices, field + ".choices", decimals, fail)
        return Draw(choices=tuple(float(v) for v in raw.choices), nonzero=raw.nonzero)
    missing = [name for name, v in zip(("min", "max", "step"), grid) if v is None]
    if missing:
        raise fail(field, f"missing {', '.join(missing)} (give min, max and step, or choices)")
    if raw.min > raw.max:
        raise fail(field, f"min {raw.min:g} is greater than max {raw.max:g}")
    _on_decimals([raw.step], field + ".step", decimals, fail)
    draw = Draw(minimum=float(raw.min), maximum=float(raw.max), step=float(raw.step), nonzero=raw.nonzero)
    if (raw.max - raw.min) / raw.step > MAX_GRID_POINTS:
        raise fail(field, f"more than {MAX_GRID_POINTS} values between min and max; use a larger step")
    if not grid_values(draw):
        raise fail(field, f"no multiple of {raw.step:g} lies in [{raw.min:g}, {raw.max:g}]"
                          + (" other than 0" if raw.nonzero else ""))
    return draw


def _on_decimals(values, field: str, decimals: int, fail) -> None:
    for v in values:
        if Decimal(repr(float(v))).normalize().as_tuple().exponent < -decimals:
            raise fail(field, f"{v!r} has more decimals than the sheet shows (answers.decimals: {decimals})")


def grid_values(draw: Draw) -> tuple[Decimal, ...]:
    """Every value a draw can give, exactly, in increasing order."""
    if draw.choices:
        return tuple(Decimal(repr(v)) for v in draw.choices if not (draw.nonzero and v == 0))
    step = Decimal(repr(draw.step))
    low = math.ceil(Decimal(repr(draw.minimum)) / step)
    high = math.floor(Decimal(repr(draw.maximum)) / step)
    return tuple(k * step for k in range(low, high + 1) if not (draw.nonzero and k == 0))


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


ROSTER_COLUMNS = ("name", "id")


def load_roster(path: str | Path) -> tuple[Student, ...]:
    """Read a class roster: a UTF-8 CSV file with a header holding (at least) ``name`` and ``id``."""
    source = str(path)
    try:
        text = _read(Path(path)).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ProblemError(source, "", f"not UTF-8 text (byte {err.start}); save the roster as UTF-8 CSV") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise ProblemError(source, "", f"not a CSV file ({err})") from None
    if not rows:
        raise ProblemError(source, "", "empty file; expected a header line with the columns name,id")
    header = [cell.strip().lower() for cell in rows[0]]
    for column in ROSTER_COLUMNS:
        if column not in header:
            raise ProblemError(source, "line 1", f"missing column {column!r} (the header must name the columns "
                                                 f"name and id; found {', '.join(map(repr, rows[0])) or 'nothing'})")
    at = {column: header.index(column) for column in ROSTER_COLUMNS}
    students, seen = [], {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line
        cells = {column: row[i].strip() if i < len(row) else "" for column, i in at.items()}
        for column in ROSTER_COLUMNS:
            if not cells[column]:
                raise ProblemError(source, f"line {line}", f"empty {column}")
        if cells["id"] in seen:
            raise ProblemError(source, f"line {line}", f"duplicate id {cells['id']!r} (also on line {seen[cells['id']]})")
        seen[cells["id"]] = line
        students.append(Student(cells["name"], cells["id"]))
    if not students:
        raise ProblemError(source, "", "no students listed below the header")
    return tuple(students)
