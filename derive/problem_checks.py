"""The checks that need the whole problem, turning a schema-valid ``RawProblem`` into a
:class:`Problem`: matrix shapes against layer sizes, activation and loss pairings, target ranges,
randomisation draws. Each failure is a :class:`ProblemError` naming the field.
"""

from __future__ import annotations

import difflib
import math
from decimal import Decimal

from .errors import ProblemError, shown
from .free_text import text_problem
from .grid import grid_values
from . import limits
from .limits import MAX_GRID_POINTS, MAX_INSTRUCTIONS_CHARS, MAX_TITLE_CHARS
from .registry import ACTIVATIONS, LOSSES
from .schema import RawDraw, RawNetwork, RawData, RawProblem, RawRandomisation, RawTraining
from .spec import (
    QUANTITIES, Answers, Comparison, Constraints, Draw, Matrix, Network, Problem, Randomisation, Training,
)


def build(raw: RawProblem, source: str, sha256: str) -> Problem:
    """The :class:`Problem` of a schema-valid file; a :class:`ProblemError` at the first check
    that fails (sizes and free text first, before anything is built)."""

    def fail(field: str, message: str) -> ProblemError:
        return ProblemError(source, field, message)

    _check_text(raw, fail)
    _check_sizes(raw, fail)
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
        _check_reachable(randomisation, network, training, len(inputs), fail)
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
    _check_options(raw, problem, fail)
    return problem


def _check_options(raw: RawProblem, problem: Problem, fail) -> None:
    """Each option of the compare section must make a valid problem of its own (pairings,
    targets, derivatives)."""
    for i, (option, alternative) in enumerate(problem.compared()):
        field = f"compare.{problem.compare.what}[{i}]"
        _check_network(RawNetwork(**{**raw.network.model_dump(), "activations": list(alternative.network.activations),
                                      "loss": alternative.network.loss}), _renamed(fail, field))
        _check_data(raw.data, alternative.network, _renamed(fail, field))
        _check_training(raw.training, alternative.network, problem.examples, _renamed(fail, field))


def _check_sizes(raw: RawProblem, fail) -> None:
    """The sizes a problem file sets, against :mod:`derive.limits`, before any other work."""
    layers = raw.network.layers
    sizes = [("network.layers", len(layers), "MAX_LAYERS", "layers"),
             ("network.layers", max(layers), "MAX_LAYER_SIZE", "neurons in a layer"),
             ("network.layers", _parameter_count(layers, raw.network.bias), "MAX_PARAMETERS", "weights and biases"),
             ("data.inputs", len(raw.data.inputs), "MAX_EXAMPLES", "examples")]
    if raw.randomisation is not None:
        sizes.append(("randomisation.max_draws", raw.randomisation.max_draws, "MAX_DRAWS", "draws"))
    for field, size, name, what in sizes:
        within(size, name, what, lambda message, field=field: fail(field, message))


def _parameter_count(layers, bias: bool) -> int:
    return sum(n * (m + (1 if bias else 0)) for m, n in zip(layers, layers[1:]))


def within(size: int, limit_name: str, what: str, fail) -> None:
    """Raise ``fail(message)`` when ``size`` exceeds the limit ``limits.<limit_name>``."""
    limit = getattr(limits, limit_name)
    if size > limit:
        raise fail(f"{size:,} {what}, more than the limit of {limit:,} (limits.{limit_name})")


def _check_text(raw: RawProblem, fail) -> None:
    """Title and instructions: within their length limits, no control or invisible characters."""
    texts = [("title", raw.title, MAX_TITLE_CHARS, "MAX_TITLE_CHARS", True),
             ("instructions", raw.instructions, MAX_INSTRUCTIONS_CHARS, "MAX_INSTRUCTIONS_CHARS", True)]
    if raw.randomisation is not None and raw.randomisation.instructions is not None:
        texts.append(("randomisation.instructions", raw.randomisation.instructions, MAX_INSTRUCTIONS_CHARS,
                      "MAX_INSTRUCTIONS_CHARS", True))
    for field, text, limit, limit_name, multiline in texts:
        wrong = text_problem(text, limit, limit_name, multiline)
        if wrong:
            raise fail(field, wrong)


def _renamed(fail, field: str):
    """A ``fail`` that reports every error under ``field`` (an option of the compare section)."""
    return lambda _, message: fail(field, message)


def _check_compare(raw: RawProblem, network: Network, fail) -> Comparison | None:
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
    return f"unknown {kind} {shown(name)}{hint}; choose from {', '.join(known)}"


def _check_network(raw: RawNetwork, fail) -> Network:
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
        raise fail(field, f"expected a {rows}x{cols} matrix (a list of {rows} rows), got {shown(value)}")
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


def _check_data(raw: RawData, network: Network, fail) -> tuple[Matrix, Matrix]:
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
        return f"{loss_name} needs targets in [0, 1], got {shown(row)}"
    if loss.targets_sum_to_one and not math.isclose(sum(row), 1.0, abs_tol=1e-9):
        return (f"{loss_name} needs each target row to sum to 1 (a class distribution), "
                f"got {shown(row)} with sum {sum(row):g}")
    return None


def _check_randomisation(raw: RawRandomisation, network: Network, decimals: int, fail) -> Randomisation:
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


def _check_reachable(randomisation: Randomisation, network: Network, training: Training, examples: int,
                     fail) -> None:
    """Refuse, before any draw, a constraint that no draw can meet: more inactive ReLU units
    than the steps' ReLU pre-activations."""
    wanted = randomisation.constraints.inactive_relu
    units = sum(size for size, name in zip(network.layers[1:], network.activations) if ACTIVATIONS[name].kink is not None)
    available = units * max(training.steps, 1) * (training.batch_size or examples)
    if wanted > available:
        raise fail("randomisation.constraints.inactive_relu",
                   f"asks for {wanted} inactive ReLU units, but the steps have only {available} ReLU "
                   "pre-activations in all, so no draw can meet it")


def _draw(raw: RawDraw, field: str, decimals: int, fail, one_hot_allowed: bool) -> Draw:
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
        raise fail(field, f"more than {MAX_GRID_POINTS:,} values between min and max, the limit "
                          "(limits.MAX_GRID_POINTS); use a larger step")
    if not grid_values(draw):
        raise fail(field, f"no multiple of {raw.step:g} lies in [{raw.min:g}, {raw.max:g}]"
                          + (" other than 0" if raw.nonzero else ""))
    return draw


def _on_decimals(values, field: str, decimals: int, fail) -> None:
    for v in values:
        if Decimal(repr(float(v))).normalize().as_tuple().exponent < -decimals:
            raise fail(field, f"{v!r} has more decimals than the sheet shows (answers.decimals: {decimals})")


def _check_training(raw: RawTraining, network: Network, examples: int, fail) -> Training:
    batch_size = None if raw.batch == "full" else raw.batch
    if batch_size is not None and batch_size > examples:
        raise fail("training.batch", f"batch size {batch_size} exceeds the {examples} examples")
    if raw.steps is not None and raw.epochs is not None:
        raise fail("training", "give either steps or epochs, not both")
    training = Training(raw.learning_rate, 1, batch_size, raw.l2, raw.epochs)
    steps = raw.steps if raw.steps is not None else 1
    if raw.epochs is not None:
        steps = raw.epochs * training.steps_per_epoch(examples)
    field = "training.epochs" if raw.epochs is not None else "training.steps"
    within(steps, "MAX_STEPS", "steps", lambda message: fail(field, message))
    work = _parameter_count(network.layers, network.bias) * max(steps, 1) * (batch_size or examples)
    within(work, "MAX_WORK", "parameters x steps x examples per step", lambda message: fail(field, message))
    for i, name in enumerate(network.activations):
        if steps > 0 and ACTIVATIONS[name].numpy_backward is None:
            raise fail(
                f"network.activations[{i}]",
                f"{name} has no usable derivative (zero everywhere except at 0, where it is "
                "undefined), so backpropagation cannot train through it; use sigmoid, or set "
                "training.steps: 0 for a forward-pass-only problem",
            )
    return Training(raw.learning_rate, steps, batch_size, raw.l2, raw.epochs)
