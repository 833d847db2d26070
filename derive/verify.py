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
    problems: list[str] = []
    if not solution.derivation.proved:
        problems += [f"derivation: {p.claim} did not hold ({p.method})" for p in solution.derivation.proofs if not p.holds]
    tally = _Tally()
    expected = reference.run(solution.problem)
    for step, ref in zip(solution.steps, expected, strict=True):
        where = f"step {step.index + 1}"
        tally.compare(f"{where} loss", step.loss, ref.loss, problems)
        tally.compare(f"{where} data loss", step.data_loss, ref.data_loss, problems)
        if step.loss_after is not None:
            tally.compare(f"{where} loss after", step.loss_after, ref.loss_after, problems)
        for i, layer in enumerate(step.layers):
            pairs = [("z", layer.z, ref.z[i]), ("a", layer.a, ref.a[i]), ("W", layer.W, ref.new_W[i]), ("b", layer.b, ref.new_b[i])]
            if layer.delta is not None:
                pairs += [("delta", layer.delta, ref.delta[i]), ("grad_W", layer.grad_W, ref.grad_W[i]),
                          ("grad_b", layer.grad_b, ref.grad_b[i])]
            for name, ours, theirs in pairs:
                tally.compare_array(f"{where} layer {layer.layer} {name}", ours, theirs, problems)
        if step.layers[0].delta is not None:
            _check_finite_differences(solution, step, ref, tally, problems)
    _check_chain_rules(solution, expected[0], tally, problems)
    if problems:
        raise VerificationError(problems)
    report = VerificationReport(
        quantities_checked=tally.count,
        max_abs_diff_numpy=tally.max_abs,
        max_rel_diff_numpy=tally.max_rel,
        gradients_checked_fd=tally.fd_count,
        max_abs_diff_finite_difference=tally.fd_max,
        fd_skipped=tuple(tally.fd_skipped),
        proofs=sum(p.instances for p in solution.derivation.proofs),
    )
    return VerifiedSolution(solution, report, _TOKEN)


class _Tally:
    def __init__(self) -> None:
        self.count = 0
        self.max_abs = 0.0
        self.max_rel = 0.0
        self.fd_count = 0
        self.fd_max = 0.0
        self.fd_skipped: list[str] = []

    def compare(self, name: str, ours: float, theirs: float, problems: list[str]) -> None:
        diff = abs(ours - theirs)
        scale = max(abs(ours), abs(theirs))
        self.count += 1
        self.max_abs = max(self.max_abs, diff)
        if scale > 0:
            self.max_rel = max(self.max_rel, diff / scale)
        if not diff <= RELATIVE_TOLERANCE * scale + ABSOLUTE_FLOOR:  # also catches NaN
            problems.append(f"{name}: answer key {ours!r}, NumPy {theirs!r}")

    def compare_array(self, name: str, ours: np.ndarray, theirs: np.ndarray, problems: list[str]) -> None:
        if np.shape(ours) != np.shape(theirs):
            problems.append(f"{name}: shape {np.shape(ours)} in the answer key, {np.shape(theirs)} in NumPy")
            return
        for index in np.ndindex(np.shape(ours)):
            label = f"{name}[{','.join(str(i + 1) for i in index)}]"
            self.compare(label, float(ours[index]), float(theirs[index]), problems)


def _check_chain_rules(solution: Solution, first, tally: "_Tally", problems: list[str]) -> None:
    """Each chain-rule product is one example's gradient: delta^(l)_j a^(l-1)_k in the reference."""
    inputs = np.array(solution.problem.inputs, dtype=float)
    for rule in solution.chain_rules:
        row = first.batch.index(rule.example)
        a_prev = inputs[rule.example] if rule.layer == 1 else first.a[rule.layer - 2][row]
        expected = first.delta[rule.layer - 1][row, rule.row - 1] * a_prev[rule.col - 1]
        name = f"chain rule dL/dw({rule.layer})_{rule.row}{rule.col} of example {rule.example + 1}"
        tally.compare(name, rule.value, float(expected), problems)


def _check_finite_differences(solution: Solution, step, ref, tally: _Tally, problems: list[str]) -> None:
    problem = solution.problem
    X = np.array(problem.inputs, dtype=float)[list(step.batch)]
    Y = np.array(problem.targets, dtype=float)[list(step.batch)]
    fd_W, fd_b = reference.finite_difference_gradients(problem, list(ref.W), list(ref.b), X, Y, FD_STEP)
    near_kink = _near_kink(problem, ref)
    for i, layer in enumerate(step.layers):
        named = [("grad_W", layer.grad_W, fd_W[i])]
        if problem.network.bias:
            named.append(("grad_b", layer.grad_b, fd_b[i]))
        for name, ours, fd in named:
            if np.shape(ours) != np.shape(fd):
                continue  # already reported by the NumPy comparison
            for index in np.ndindex(ours.shape):
                label = f"step {step.index + 1} layer {layer.layer} {name}[{','.join(str(j + 1) for j in index)}]"
                diff = abs(float(ours[index]) - float(fd[index]))
                if diff <= FD_TOLERANCE * (1 + abs(float(ours[index]))):
                    tally.fd_count += 1
                    tally.fd_max = max(tally.fd_max, diff)
                elif near_kink:
                    # A pre-activation within the difference step of a ReLU kink: the two-sided
                    # difference straddles the kink and measures neither one-sided derivative.
                    tally.fd_skipped.append(label)
                else:
                    problems.append(f"{label}: answer key {float(ours[index])!r}, finite differences {float(fd[index])!r}")


def _near_kink(problem, ref) -> bool:
    for name, z in zip(problem.network.activations, ref.z):
        kink = ACTIVATIONS[name].kink
        if kink is not None and np.any(np.abs(z - kink) < 1e3 * FD_STEP):
            return True
    return False
