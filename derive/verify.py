"""Stage 3, verification: every number of a solution checked against independent sources.

* the NumPy reference (:mod:`derive.reference`), which shares no code with the symbolic path,
  must agree with every z, a, delta, gradient, updated parameter and loss to a relative 1e-9;
* central finite differences of the loss must agree with every gradient;
* the derivation's proofs must all hold.

Only :func:`verify` makes a :class:`VerifiedSolution`, and the renderers accept nothing else,
so an answer key that was not checked cannot be printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import reference
from .errors import VerificationError
from .registry import ACTIVATIONS
from .worked import Solution

RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_FLOOR = 1e-12  # values that should be 0 come out as 1e-17 or so
FD_STEP = 1e-6
FD_TOLERANCE = 1e-6  # |fd - g| <= FD_TOLERANCE * (1 + |g|): central-difference error at h = 1e-6


@dataclass(frozen=True)
class VerificationReport:
    """What was checked and the largest differences seen."""

    quantities_checked: int
    max_abs_diff_numpy: float
    max_rel_diff_numpy: float
    gradients_checked_fd: int
    max_abs_diff_finite_difference: float
    fd_skipped: tuple[str, ...]
    proofs: int

    def summary(self) -> str:
        skipped = f"; {len(self.fd_skipped)} gradient(s) at a ReLU kink not compared" if self.fd_skipped else ""
        return (
            f"verified: {self.quantities_checked} numbers agree with the independent NumPy "
            f"implementation (largest difference {self.max_abs_diff_numpy:.1e}), "
            f"{self.gradients_checked_fd} gradients with central finite differences "
            f"(largest difference {self.max_abs_diff_finite_difference:.1e}){skipped}; "
            f"{self.proofs} symbolic identities proved"
        )


_TOKEN = object()


@dataclass(frozen=True)
class VerifiedSolution:
    """A solution whose every number was checked. Made only by :func:`verify`."""

    solution: Solution
    report: VerificationReport
    _token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._token is not _TOKEN:
            raise TypeError("a VerifiedSolution is made only by derive.verify.verify()")

    @property
    def problem(self):
        return self.solution.problem


def require_verified(value) -> VerifiedSolution:
    """Guard for renderers: refuse anything but a verified solution."""
    if not isinstance(value, VerifiedSolution):
        raise TypeError(f"renderers take a VerifiedSolution, got {type(value).__name__}")
    return value


def verify(solution: Solution) -> VerifiedSolution:
    """Check ``solution`` against NumPy and finite differences; raise on any disagreement."""
    return verify_many([solution])[0]


def verify_many(solutions: Sequence[Solution]) -> tuple[VerifiedSolution, ...]:
    """:func:`verify` for solutions of problems differing only in their numbers (an exam's
    variants): the NumPy reference and the finite differences run once, stacked, and every
    number of every solution is compared. The first solution that fails raises."""
    derivation = solutions[0].derivation
    problems: list[list[str]] = [[] for _ in solutions]
    if not derivation.proved:
        failed = [f"derivation: {p.claim} did not hold ({p.method})" for p in derivation.proofs if not p.holds]
        problems = [list(failed) for _ in solutions]
    tally = _Tally(len(solutions), problems)
    expected = reference.run_many([s.problem for s in solutions])
    for index, ref in enumerate(expected):
        steps = [s.steps[index] for s in solutions]
        where = f"step {index + 1}"
        tally.compare(f"{where} loss", [s.loss for s in steps], ref.loss)
        tally.compare(f"{where} data loss", [s.data_loss for s in steps], ref.data_loss)
        if steps[0].loss_after is not None:
            tally.compare(f"{where} loss after", [s.loss_after for s in steps], ref.loss_after)
        for i, layer in enumerate(steps[0].layers):
            pairs = [("z", "z", ref.z), ("a", "a", ref.a), ("W", "W", ref.new_W), ("b", "b", ref.new_b)]
            if layer.delta is not None:
                pairs += [("delta", "delta", ref.delta), ("grad_W", "grad_W", ref.grad_W), ("grad_b", "grad_b", ref.grad_b)]
            for name, attribute, theirs in pairs:
                ours = [getattr(s.layers[i], attribute) for s in steps]
                tally.compare(f"{where} layer {layer.layer} {name}", ours, theirs[i])
        if steps[0].layers[0].delta is not None:
            _check_finite_differences(solutions, index, ref, tally)
    for v, solution in enumerate(solutions):
        _check_chain_rules(solution, expected[0], v, tally)
    proofs = sum(p.instances for p in derivation.proofs)
    for v, found in enumerate(problems):
        if found:
            raise VerificationError(found)
    return tuple(VerifiedSolution(solution, tally.report(v, proofs), _TOKEN) for v, solution in enumerate(solutions))


class _Tally:
    """Per solution: how many numbers were compared, the largest differences, what failed."""

    def __init__(self, count: int, problems: list[list[str]]) -> None:
        self.problems = problems
        self.count = np.zeros(count, dtype=int)
        self.max_abs = np.zeros(count)
        self.max_rel = np.zeros(count)
        self.fd_count = np.zeros(count, dtype=int)
        self.fd_max = np.zeros(count)
        self.fd_skipped: list[list[str]] = [[] for _ in range(count)]

    def compare(self, name: str, ours, theirs) -> None:
        """Compare each solution's value (or array) with the reference's stacked ones."""
        ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
        if ours.shape != theirs.shape:
            for found in self.problems:
                found.append(f"{name}: shape {ours.shape[1:]} in the answer key, {theirs.shape[1:]} in NumPy")
            return
        diff = np.abs(ours - theirs).reshape(len(ours), -1)
        scale = np.maximum(np.abs(ours), np.abs(theirs)).reshape(len(ours), -1)
        self.count += diff.shape[1]
        self.max_abs = np.fmax(self.max_abs, _row_max(diff))
        with np.errstate(invalid="ignore", divide="ignore"):
            self.max_rel = np.fmax(self.max_rel, _row_max(np.where(scale > 0, diff / scale, 0.0)))
        bad = ~(diff <= RELATIVE_TOLERANCE * scale + ABSOLUTE_FLOOR)  # also catches NaN
        for v, flat in zip(*np.nonzero(bad)):
            index = np.unravel_index(flat, ours.shape[1:])
            label = f"{name}[{','.join(str(i + 1) for i in index)}]" if ours.ndim > 1 else name
            self.problems[v].append(f"{label}: answer key {float(ours[(v, *index)])!r}, NumPy {float(theirs[(v, *index)])!r}")

    def compare_one(self, v: int, name: str, ours: float, theirs: float) -> None:
        """Compare one number of solution ``v``."""
        diff, scale = abs(ours - theirs), max(abs(ours), abs(theirs))
        self.count[v] += 1
        self.max_abs[v] = max(self.max_abs[v], diff)
        if scale > 0:
            self.max_rel[v] = max(self.max_rel[v], diff / scale)
        if not diff <= RELATIVE_TOLERANCE * scale + ABSOLUTE_FLOOR:  # also catches NaN
            self.problems[v].append(f"{name}: answer key {ours!r}, NumPy {theirs!r}")

    def report(self, v: int, proofs: int) -> VerificationReport:
        return VerificationReport(
            quantities_checked=int(self.count[v]),
            max_abs_diff_numpy=float(self.max_abs[v]),
            max_rel_diff_numpy=float(self.max_rel[v]),
            gradients_checked_fd=int(self.fd_count[v]),
            max_abs_diff_finite_difference=float(self.fd_max[v]),
            fd_skipped=tuple(self.fd_skipped[v]),
            proofs=proofs,
        )


def _row_max(values: np.ndarray) -> np.ndarray:
    """The largest value of each row, ignoring NaN (a NaN is reported as a failure instead)."""
    if values.shape[1] == 0:
        return np.zeros(len(values))
    with np.errstate(invalid="ignore"):
        return np.fmax.reduce(values, axis=1)


def _check_chain_rules(solution: Solution, first, v: int, tally: _Tally) -> None:
    """Each chain-rule product is one example's gradient: delta^(l)_j a^(l-1)_k in the reference."""
    inputs = np.array(solution.problem.inputs, dtype=float)
    for rule in solution.chain_rules:
        row = first.batch.index(rule.example)
        a_prev = inputs[rule.example] if rule.layer == 1 else first.a[rule.layer - 2][v, row]
        expected = first.delta[rule.layer - 1][v, row, rule.row - 1] * a_prev[rule.col - 1]
        name = f"chain rule dL/dw({rule.layer})_{rule.row}{rule.col} of example {rule.example + 1}"
        tally.compare_one(v, name, rule.value, float(expected))


def _check_finite_differences(solutions: Sequence[Solution], index: int, ref, tally: _Tally) -> None:
    problem = solutions[0].problem
    steps = [s.steps[index] for s in solutions]
    batch = list(steps[0].batch)
    X = np.array([s.problem.inputs for s in solutions], dtype=float)[:, batch]
    Y = np.array([s.problem.targets for s in solutions], dtype=float)[:, batch]
    fd_W, fd_b = reference.finite_difference_gradients(problem, list(ref.W), list(ref.b), X, Y, FD_STEP)
    near_kink = _near_kink(problem, ref)
    for i, layer in enumerate(steps[0].layers):
        named = [("grad_W", "grad_W", fd_W[i])]
        if problem.network.bias:
            named.append(("grad_b", "grad_b", fd_b[i]))
        for name, attribute, fd in named:
            ours = np.array([getattr(s.layers[i], attribute) for s in steps])
            if ours.shape != fd.shape:
                continue  # already reported by the NumPy comparison
            diff = np.abs(ours - fd)
            good = diff <= FD_TOLERANCE * (1 + np.abs(ours))
            tally.fd_count += good.reshape(len(ours), -1).sum(axis=1)
            tally.fd_max = np.fmax(tally.fd_max, _row_max(np.where(good, diff, 0.0).reshape(len(ours), -1)))
            for v, *entry in zip(*np.nonzero(~good)):
                label = f"step {index + 1} layer {layer.layer} {name}[{','.join(str(j + 1) for j in entry)}]"
                if near_kink[v]:
                    # A pre-activation within the difference step of a ReLU kink: the two-sided
                    # difference straddles the kink and measures neither one-sided derivative.
                    tally.fd_skipped[v].append(label)
                else:
                    tally.problems[v].append(f"{label}: answer key {float(ours[(v, *entry)])!r}, "
                                             f"finite differences {float(fd[(v, *entry)])!r}")


def _near_kink(problem, ref) -> np.ndarray:
    """Per solution: whether a pre-activation lies within 1000 difference steps of a kink."""
    near = np.zeros(len(ref.z[0]), dtype=bool)
    for name, z in zip(problem.network.activations, ref.z):
        kink = ACTIVATIONS[name].kink
        if kink is not None:
            near |= (np.abs(z - kink) < 1e3 * FD_STEP).reshape(len(z), -1).any(axis=1)
    return near
