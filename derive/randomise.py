"""Stage 0.5, randomisation: variant k of a problem file's randomisation section.

A pure core: :func:`make_variant` turns (problem, seed, k) into an ordinary :class:`Problem`
whose numbers were drawn on the section's decimal grids (integers times the step, as exact
decimals, then floats), redrawn until the pen-and-paper constraints hold. Each attempt uses its
own generator ``numpy.random.default_rng([seed, k, attempt])``, so variant k is the same whether
10 or 400 are made, on any machine. The constraints are checked on the independent NumPy
reference (:mod:`derive.reference`), which is fast; the accepted variant then goes through the
ordinary pipeline (derivation, substitution, verification) like any other problem.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .i18n import gettext_for
from . import pcg, reference
from .errors import ProblemError
from .grid import grid_values
from .problem_checks import target_error
from .registry import ACTIVATIONS, LOSSES
from .rounding import round_value
from .spec import Answers, Constraints, Draw, Problem


def make_variant(problem: Problem, seed: int, variant: int) -> Problem:
    """Variant ``variant`` (from 1) of ``problem`` for ``seed``: an ordinary problem, drawn anew.

    Raises :class:`ProblemError` when the problem has no randomisation section, the variant
    number is below 1, the seed is negative, or no draw meets the constraints.
    """
    return make_variants(problem, seed, (variant,))[0]


def make_variants(problem: Problem, seed: int, variants: Sequence[int]) -> tuple[Problem, ...]:
    """:func:`make_variant` for each of ``variants``, the draws' constraints checked together.

    Every variant tries its attempts in order, ``_ROUND`` at a time, and the attempts of every
    pending variant are checked in one stacked NumPy run, so variant k is the draw it would be
    alone. When a variant runs out of draws, the smallest such variant is reported.
    """
    spec = problem.randomisation
    if spec is None:
        raise ProblemError(problem.source, "randomisation", "missing: the problem has no randomisation section, so it has no variants")
    if seed < 0:
        raise ProblemError(problem.source, "seed", f"the seed must be 0 or more, got {seed}")
    for variant in variants:
        if variant < 1:
            raise ProblemError(problem.source, "variant", f"variants are numbered from 1, got {variant}")
    parts = _parts(problem)
    chosen: dict[int, Problem] = {}
    failures: dict[int, Counter[str]] = {k: Counter() for k in variants}
    tried = 0
    while tried < spec.max_draws and len(chosen) < len(failures):
        attempts = range(tried, min(tried + _ROUND, spec.max_draws))
        pending = [k for k in failures if k not in chosen]
        arrays = _candidates(parts, [(seed, k, a) for k in pending for a in attempts])
        broken = _violated(problem, arrays, spec.constraints)
        for i, k in enumerate(pending):
            mine = broken[i * len(attempts):(i + 1) * len(attempts)]
            first = next((j for j, name in enumerate(mine) if name is None), None)
            failures[k].update(mine if first is None else mine[:first])
            if first is not None:
                chosen[k] = _variant(problem, k, [values[i * len(attempts) + first] for values in arrays])
        tried = attempts.stop
    missing = [k for k in failures if k not in chosen]
    if missing:
        raise _no_draw(problem, seed, min(missing), failures[min(missing)])
    return tuple(chosen[k] for k in variants)


_ROUND = 8  # attempts per variant checked in one stacked run


def _no_draw(problem: Problem, seed: int, variant: int, failures: Counter[str]) -> ProblemError:
    spec = problem.randomisation
    assert spec is not None
    name, count = failures.most_common(1)[0]
    field = "randomisation.data.targets" if name == "targets" else f"randomisation.constraints.{name}"
    return ProblemError(
        problem.source, field,
        f"no draw for variant {variant} (seed {seed}) met the constraints in {spec.max_draws} draws; "
        f"{_DESCRIPTIONS[name]} failed {count} times: widen the ranges, relax the constraint or raise max_draws",
    )


def numbers(problem: Problem) -> dict[str, Any]:
    """A problem's ``parameters`` and ``data`` in the problem file's keys (to write it back out)."""
    parameters: dict[str, Any] = {}
    for l, (W, b) in enumerate(zip(problem.weights, problem.biases), start=1):
        parameters[f"W{l}"] = [list(row) for row in W]
        if problem.network.bias:
            parameters[f"b{l}"] = list(b)
    data = {"inputs": [list(row) for row in problem.inputs], "targets": [list(row) for row in problem.targets]}
    return {"parameters": parameters, "data": data}


# ----------------------------------------------------------------------------------------------
# Drawing


@dataclass(frozen=True)
class _Part:
    """One drawn block of a variant's numbers, in the order the generator draws them: a weight
    matrix, a bias vector (one row), the inputs, the targets."""

    shape: tuple[int, int]
    given: tuple[tuple[float, ...], ...]  # the problem's own numbers, kept when nothing is drawn
    grid: np.ndarray | None = None  # the values drawn from (None: not drawn)
    classes: int = 0  # one-hot targets: the number of classes (one draw per row)

    @property
    def draws(self) -> tuple[int, int]:
        """(how many integers the generator draws, below what)."""
        if self.classes:
            return self.shape[0], self.classes
        return (0, 1) if self.grid is None else (self.shape[0] * self.shape[1], len(self.grid))

    def values(self, picks: np.ndarray | None, count: int) -> np.ndarray:
        """The numbers of ``count`` attempts from their picks (one row of integers each)."""
        if picks is None:
            return np.broadcast_to(np.array(self.given, dtype=float), (count, *self.shape))
        if self.classes:
            return np.eye(self.classes)[picks]
        return self.grid[picks].reshape(count, *self.shape)


def _parts(problem: Problem) -> list[_Part]:
    spec = problem.randomisation
    assert spec is not None
    draws = dict(spec.parameters)
    parts = [_part(draws.get(f"W{l}"), W) for l, W in enumerate(problem.weights, start=1)]
    parts += [_part(draws.get(f"b{l}") if problem.network.bias else None, (b,)) for l, b in enumerate(problem.biases, start=1)]
    parts.append(_part(spec.inputs, problem.inputs))
    if spec.targets and spec.targets.one_hot:
        parts.append(_Part((len(problem.targets), problem.network.layers[-1]), problem.targets, classes=problem.network.layers[-1]))
    else:
        parts.append(_part(spec.targets, problem.targets))
    return parts


def _part(draw: Draw | None, given) -> _Part:
    return _Part((len(given), len(given[0])), tuple(map(tuple, given)), None if draw is None else _grid(draw))


@functools.lru_cache(maxsize=None)
def _grid(draw: Draw) -> np.ndarray:
    """The draw's grid as floats (each the float of its exact decimal)."""
    return np.array([float(v) for v in grid_values(draw)])


def _candidates(parts: list[_Part], keys: list[tuple[int, int, int]]) -> list[np.ndarray]:
    """Each part's numbers for each attempt ``(seed, variant, attempt)``, stacked (attempts first)."""
    return [part.values(picks, len(keys)) for part, picks in zip(parts, _picks(parts, keys))]


def _picks(parts: list[_Part], keys) -> list[np.ndarray | None]:
    """Per part, the integers ``Generator.integers(high, size)`` gives each attempt (one row
    per attempt; None for a part not drawn).

    NumPy's bounded integers (below 2^32) are Lemire's multiply-shift on the generator's 32-bit
    halves of its 64-bit outputs, low half first; they are computed here from ``random_raw``
    for all attempts at once. An attempt where a rejection could occur (a leftover below
    ``high``, about one draw in 10^8) is drawn by the Generator itself, as is every attempt if
    this NumPy draws differently (checked once).
    """
    if not _same_as_numpy():
        return _rows([_picks_slow(parts, key) for key in keys])
    picks, unsafe = _picks_fast(parts, keys)
    for i in np.nonzero(unsafe)[0]:
        for part_picks, slow in zip(picks, _picks_slow(parts, keys[i])):
            if part_picks is not None:
                part_picks[i] = slow
    return picks


def _rows(per_attempt: list[list[np.ndarray | None]]) -> list[np.ndarray | None]:
    """Per-attempt picks regrouped per part (one row per attempt)."""
    return [None if column[0] is None else np.stack(column) for column in zip(*per_attempt)]


def _picks_fast(parts: list[_Part], keys) -> tuple[list[np.ndarray | None], np.ndarray]:
    """The picks from the generators' raw output, and which attempts may need a rejection."""
    sizes = [part.draws for part in parts]
    needed = sum(count for count, high in sizes if high > 1)
    raw = _raw(keys, (needed + 1) // 2)
    halves = np.empty((len(keys), raw.shape[1] * 2), dtype=np.uint64)
    halves[:, 0::2], halves[:, 1::2] = raw & _LOW, raw >> np.uint64(32)
    picks: list[np.ndarray | None] = []
    unsafe = np.zeros(len(keys), dtype=bool)
    at = 0
    for part, (count, high) in zip(parts, sizes):
        if part.grid is None and not part.classes:
            picks.append(None)
        elif high == 1:
            picks.append(np.zeros((len(keys), count), dtype=np.int64))  # a one-value grid draws nothing
        else:
            scaled = halves[:, at:at + count] * np.uint64(high)
            at += count
            unsafe |= ((scaled & _LOW) < np.uint64(high)).any(axis=1)
            picks.append((scaled >> np.uint64(32)).astype(np.int64))
    return picks, unsafe


_LOW = np.uint64(0xFFFFFFFF)


def _raw(keys, count: int) -> np.ndarray:
    """``PCG64(SeedSequence(key)).random_raw(count)`` of each key, one row per key: all keys at
    once (:func:`derive.pcg.raw`) when they are 32-bit words, else one generator per key."""
    if pcg.fits(keys):
        return pcg.raw(keys, count)
    return np.stack([np.random.PCG64(np.random.SeedSequence(list(key))).random_raw(count) for key in keys])


def _picks_slow(parts: list[_Part], key) -> list[np.ndarray | None]:
    rng = np.random.default_rng(list(key))
    return [None if part.grid is None and not part.classes else rng.integers(part.draws[1], size=part.draws[0])
            for part in parts]


@functools.lru_cache(maxsize=None)
def _same_as_numpy() -> bool:
    """Whether the fast draws equal ``Generator.integers`` in this NumPy (checked on a few attempts)."""
    parts = [_Part((3, 5), ((0.0,) * 5,) * 3, np.arange(float(n))) for n in (7, 1, 20, 3)]
    keys = [(seed, 1, attempt) for seed in (0, 2026) for attempt in range(4)]
    fast, _ = _picks_fast(parts, keys)
    return all(np.array_equal(f, s) for f, s in zip(fast, _rows([_picks_slow(parts, k) for k in keys])))


def _variant(problem: Problem, variant: int, values: list[np.ndarray]) -> Problem:
    """The problem with one attempt's numbers: an ordinary problem."""
    spec = problem.randomisation
    assert spec is not None
    rows = lambda array: tuple(map(tuple, array.tolist()))  # noqa: E731
    depth = problem.network.depth
    weights = tuple(rows(v) for v in values[:depth])
    biases = tuple(rows(v)[0] for v in values[depth:2 * depth])
    instructions = problem.instructions if spec.instructions is None else spec.instructions
    return dataclasses.replace(problem, title=_variant_title(problem, variant), instructions=instructions,
                               weights=weights, biases=biases, inputs=rows(values[-2]), targets=rows(values[-1]),
                               randomisation=None)


# ----------------------------------------------------------------------------------------------
# Constraints

_DESCRIPTIONS = {
    "targets": "targets valid for the loss",
    "max_abs_z": "|z| under max_abs_z",
    "inactive_relu": "the number of inactive ReLU units (and no pre-activation that rounds to 0)",
    "nonzero_gradients": "no gradient that rounds to 0",
    "distinct_answers": "no two equal answers",
    "no_rounding_ties": "no answer halfway between two rounded values",
}


def violated_constraint(problem: Problem, constraints: Constraints) -> str | None:
    """The name of the first constraint ``problem`` breaks (see :class:`Constraints`), or None."""
    arrays = [np.array(W, dtype=float)[None] for W in problem.weights]
    arrays += [np.array([b], dtype=float)[None] for b in problem.biases]
    arrays += [np.array(problem.inputs, dtype=float)[None], np.array(problem.targets, dtype=float)[None]]
    return _violated(problem, arrays, constraints)[0]


def _violated(problem: Problem, arrays: list[np.ndarray], constraints: Constraints) -> list[str | None]:
    """:func:`violated_constraint` of each candidate: ``arrays`` are the parts' numbers (see
    :func:`_parts`) with the candidates first, checked in one stacked NumPy run."""
    depth = problem.network.depth
    targets = arrays[-1]
    loss = LOSSES[problem.network.loss]
    names: list[str | None] = [None] * len(targets)
    if loss.targets_in_unit_interval or loss.targets_sum_to_one:
        names = ["targets" if any(target_error(row, loss.name) for row in Y.tolist()) else None for Y in targets]
    valid = np.array([i for i, name in enumerate(names) if name is None], dtype=int)
    if len(valid) == 0:
        return names
    pick = lambda array: array[valid]  # noqa: E731
    steps = reference.run_stacked(problem, [pick(W) for W in arrays[:depth]], [pick(b)[:, 0] for b in arrays[depth:2 * depth]],
                                  pick(arrays[-2]), pick(targets))
    broken = np.full(len(valid), "", dtype=object)
    for name, failed in _constraint_checks(problem, constraints, steps, pick(targets)):
        broken[(broken == "") & failed] = name
    for i, name in zip(valid, broken):
        names[i] = name or None
    return names


def _constraint_checks(problem: Problem, constraints: Constraints, steps, targets: np.ndarray):
    """(name, which candidates break it) in the order the constraints are checked."""
    d = problem.answers.decimals
    kinked = [ACTIVATIONS[name].kink is not None for name in problem.network.activations]
    count = len(targets)
    if constraints.max_abs_z is not None:
        yield "max_abs_z", _any(count, (np.abs(z) >= constraints.max_abs_z for s in steps for z in s.z))
    relu_z = [z for s in steps for z, k in zip(s.z, kinked) if k]
    inactive = sum((np.sum(z < 0, axis=(-2, -1)) for z in relu_z), np.zeros(count, dtype=int))
    yield "inactive_relu", _any(count, (_shown(z, d) == 0 for z in relu_z)) | (inactive != constraints.inactive_relu)
    if constraints.nonzero_gradients:
        yield "nonzero_gradients", _any(count, (_small_gradients(s, kinked, problem.updates_biases, d) for s in steps))
    if constraints.distinct_answers:
        yield "distinct_answers", _any(count, (_equal_answers(problem, s, targets, d) for s in steps))
    if constraints.no_rounding_ties:
        yield "no_rounding_ties", _any(count, (_on_a_tie(_answers(s), d) for s in steps))


def _any(count: int, flags) -> np.ndarray:
    """Per candidate: whether any of ``flags`` (arrays with the candidates first) is set."""
    result = np.zeros(count, dtype=bool)
    for flag in flags:
        result |= flag.reshape(count, -1).any(axis=1)
    return result


def _shown(values: np.ndarray, decimals: int) -> np.ndarray:
    """The number a sheet shows for each value, times 10^decimals, as an integer-valued array:
    ``printing.number`` vectorised (exact: values near a rounding tie are rounded one by one)."""
    values = np.asarray(values, dtype=float)
    scaled = values * 10.0**decimals
    shown = np.rint(scaled)
    near_tie = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) < 1e-6
    # Rounded as printed (the nearest double to k / 10^d, so times 10^d it rounds back to k).
    shown[near_tie] = np.rint(round_value(Answers(decimals=decimals), values[near_tie]) * 10.0**decimals)
    return shown + 0.0  # -0.0 shows as 0


def _small_gradients(step, kinked: list[bool], bias: bool, d: int) -> np.ndarray:
    if step.grad_W is None:
        return np.zeros((len(step.z[0]), 1), dtype=bool)
    flags = []
    for z, grad_W, grad_b, k in zip(step.z, step.grad_W, step.grad_b, kinked):
        values = np.concatenate([grad_W, grad_b[..., None]], axis=-1) if bias else grad_W
        small = (_shown(values, d) == 0).any(axis=-1)
        if k:
            small &= ~np.all(z < 0, axis=-2)  # a unit inactive for the whole batch: its gradients are exactly 0
        flags.append(small)
    return np.concatenate(flags, axis=-1)


def _equal_answers(problem: Problem, step, targets: np.ndarray, d: int) -> np.ndarray:
    Y = targets[:, list(step.batch)]
    per_example = reference.per_example_loss(problem, step.z[-1], step.a[-1], Y)
    losses = [step.loss] + ([] if step.loss_after is None else [step.loss_after])
    count = len(targets)
    groups = [[z] for z in step.z] + [[a] for a in step.a] + [
        [per_example if len(step.batch) > 1 else np.zeros((count, 0)), np.stack(losses, axis=-1)]]
    if step.delta is not None:
        groups += [step.delta, [*step.grad_W, *(step.grad_b if problem.updates_biases else ())],
                   [*step.new_W, *(step.new_b if problem.updates_biases else ())]]
    return np.stack([_has_duplicates(np.concatenate([m.reshape(count, -1) for m in group], axis=1), d)
                     for group in groups], axis=-1)


def _answers(step) -> np.ndarray:
    """Every answer of a step (forward pass, losses, deltas, gradients, new parameters), one row
    per candidate."""
    count = len(step.z[0])
    arrays = [*step.z, *step.a, np.stack([step.loss] + ([] if step.loss_after is None else [step.loss_after]), axis=-1)]
    if step.delta is not None:
        arrays += [*step.delta, *step.grad_W, *step.grad_b, *step.new_W, *step.new_b]
    return np.concatenate([a.reshape(count, -1) for a in arrays], axis=1)


def _on_a_tie(values: np.ndarray, d: int) -> np.ndarray:
    scaled = np.abs(values) * 10.0**d
    return np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6


def _has_duplicates(values: np.ndarray, d: int) -> np.ndarray:
    """Per row: whether two nonzero values show the same number."""
    if values.shape[1] < 2:
        return np.zeros(len(values), dtype=bool)
    shown = _shown(values, d)
    # Exact zeros take distinct stand-ins above every shown value, so they never match.
    stand_in = np.abs(shown).max() + 1 + np.arange(values.shape[1])
    shown = np.sort(np.where(values != 0.0, shown, stand_in), axis=1)
    return (shown[:, 1:] == shown[:, :-1]).any(axis=1)


def _variant_title(problem: Problem, variant: int) -> str:
    """The problem's title with the variant number, in the sheet's language."""
    _ = gettext_for(problem.language)
    return _("{title} (variant {n})").format(title=problem.title, n=variant)
