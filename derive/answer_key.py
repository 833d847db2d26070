"""JSON answer key: a thin driver over a verified solution (schema documented in README)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .quantities import example_losses
from .verify import VerifiedSolution, require_verified

SCHEMA_VERSION = 1


def answer_key(verified: VerifiedSolution) -> dict[str, Any]:
    """The verified solution as plain JSON-ready data, at full precision."""
    verified = require_verified(verified)
    solution, report = verified.solution, verified.report
    problem = solution.problem
    key: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "title": problem.title,
        "source": problem.source,
        "sha256": problem.sha256,
        "decimals": problem.answers.decimals,
        "network": {
            "layers": list(problem.network.layers),
            "activations": list(problem.network.activations),
            "loss": problem.network.loss,
            "bias": problem.network.bias,
        },
        "training": {
            "learning_rate": problem.training.learning_rate,
            "steps": problem.training.steps,
            "batch": problem.training.batch_size or "full",
            "l2": problem.training.l2,
            "epochs": problem.training.epochs,
        },
        "verification": {
            "verified": True,
            "quantities_checked": report.quantities_checked,
            "max_abs_diff_numpy": report.max_abs_diff_numpy,
            "max_rel_diff_numpy": report.max_rel_diff_numpy,
            "gradients_checked_finite_difference": report.gradients_checked_fd,
            "max_abs_diff_finite_difference": report.max_abs_diff_finite_difference,
            "finite_difference_skipped_at_kink": list(report.fd_skipped),
            "symbolic_identities_proved": report.proofs,
        },
        "steps": [_step(problem, step) for step in solution.steps],
    }
    if problem.training.epochs:
        key["epochs"] = epoch_losses(verified)
    return key


def epoch_losses(verified: VerifiedSolution) -> list[dict[str, Any]]:
    """Mean loss (before each update) over the steps of each epoch."""
    solution = require_verified(verified).solution
    return [{"epoch": e.epoch, "mean_loss": e.mean_loss} for e in solution.epochs]


def _step(problem, step) -> dict[str, Any]:
    bias = problem.network.bias
    return {
        "step": step.index + 1,
        "batch": [i + 1 for i in step.batch],
        "loss": step.loss,
        "data_loss": step.data_loss,
        "losses": example_losses(step),
        "loss_after": step.loss_after,
        "notes": list(step.notes),
        "layers": [
            {
                "layer": layer.layer,
                "z": _list(layer.z),
                "a": _list(layer.a),
                "delta": _list(layer.delta),
                "grad_W": _list(layer.grad_W),
                "grad_b": _list(layer.grad_b) if bias else None,
                "W": _list(layer.W),
                "b": _list(layer.b) if bias else None,
            }
            for layer in step.layers
        ],
    }


def _list(value: np.ndarray | None):
    return None if value is None else np.asarray(value, dtype=float).tolist()
