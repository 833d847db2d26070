"""Stage 2 helper: SymPy expressions compiled to NumPy, with stable forms for saturated values.

The substitution evaluates the derivation's own expressions. Written as derived, some of them
overflow or lose every digit far from 0: softmax e^{z_j} / sum_k e^{z_k} is inf/inf once a logit
passes about 709, and the binary cross-entropy's log(1 - a) has no digits left once a rounds to
1. :func:`stable_form` rewrites such an expression into an equal one that does not: every log of
a sum of exponentials becomes a :class:`LogSumExp` (evaluated as max + log sum e^{z - max}), and
so does every reciprocal of such a sum. The shown formulas are never rewritten; only the numbers
of saturated rows come from the stable form (see :mod:`derive.worked`).

>>> z, y = sp.symbols("z y")
>>> stable_form(-y * sp.log(1 / (1 + sp.exp(-z))))  # -y log sigma(z) = y (log(1 + e^z) - z)
-y*(z - LogSumExp(0, z))
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import sympy as sp

from .registry import ACTIVATIONS, LOSSES, saturated_rows
from .spec import Network


class LogSumExp(sp.Function):
    """log(e^{x_1} + ... + e^{x_n}), kept unevaluated so that NumPy computes it without overflow."""


def _log_sum_exp(*columns) -> np.ndarray:
    stacked = np.stack(np.broadcast_arrays(*[np.asarray(c, dtype=float) for c in columns]))
    top = stacked.max(axis=0)
    return top + np.log(np.exp(stacked - top).sum(axis=0))


def _exponents(total: sp.Expr) -> list[sp.Expr] | None:
    """The exponents x_k of a sum of terms e^{x_k} (a positive constant c counts as e^{log c})."""
    terms = sp.Add.make_args(total)
    if not isinstance(total, sp.Add) or not any(isinstance(t, sp.exp) for t in terms):
        return None
    if not all(isinstance(t, sp.exp) or (t.is_number and t.is_positive) for t in terms):
        return None
    return [t.args[0] if isinstance(t, sp.exp) else sp.log(t) for t in terms]


def stable_form(expr: sp.Expr) -> sp.Expr:
    """``expr`` with its logs and reciprocals of sums of exponentials written as log-sum-exp."""
    # log(1 - 1/(1 + e^{-z})) -> log(e^{-z} / (1 + e^{-z})) -> -z - log(1 + e^{-z})
    expr = expr.replace(lambda e: isinstance(e, sp.log), lambda e: sp.log(sp.factor(sp.together(e.args[0]))))
    expr = sp.expand_log(expr, force=True)
    expr = expr.replace(lambda e: isinstance(e, sp.log) and _exponents(e.args[0]) is not None,
                        lambda e: LogSumExp(*_exponents(e.args[0])))
    expr = expr.replace(lambda e: isinstance(e, sp.Pow) and e.exp.is_negative and _exponents(e.base) is not None,
                        lambda e: sp.exp(e.exp * LogSumExp(*_exponents(e.base))))
    return sp.powsimp(expr, combine="exp")  # e^{z_j} e^{-LSE} -> e^{z_j - LSE}: no inf * 0


def lambdify(symbols: Sequence[sp.Symbol], expr) -> Callable:
    """``sp.lambdify`` to NumPy, knowing :class:`LogSumExp`; overflow and 0/0 give inf and nan
    quietly (the verification reports any number that is not finite, so no warning is printed)."""
    # The module itself, not "numpy": the same printer and code, but its names are taken as they
    # are, where "numpy" runs `from numpy import *`, which imports numpy.f2py, numpy.testing and
    # more on first use (0.09 s of a cold run).
    compiled = sp.lambdify(symbols, expr, modules=[{"LogSumExp": _log_sum_exp}, np])

    def quiet(*args):
        with np.errstate(all="ignore"):
            return compiled(*args)

    return quiet


def finite_or_stable(plain: Callable, stable: Callable) -> Callable:
    """``plain``, with the rows where it overflowed (softmax of logits past 709) from ``stable``."""
    def apply(Z: np.ndarray) -> np.ndarray:
        values = plain(Z)
        broken = ~np.all(np.isfinite(values), axis=1)
        return np.where(broken[:, None], stable(Z), values) if broken.any() else values

    return apply


def compile_loss(network: Network, out) -> Callable:
    """(A, Y, Z) -> per-example loss from the derivation's output rule ``out``: the derived loss
    in a; for saturated outputs (:func:`~derive.registry.saturated_rows`) of a loss that simplifies
    with the output activation, the same loss written in z, in its stable form."""
    in_a = lambdify((*out.a, *out.y), out.loss_expr)
    plain = lambda A, Y: np.broadcast_to(in_a(*A.T, *Y.T), A.shape[:1]).astype(float)  # noqa: E731
    loss, output = LOSSES[network.loss], ACTIVATIONS[network.activations[-1]]
    if not loss.simplifies(output.name):
        return lambda A, Y, Z: plain(A, Y)
    in_z = lambdify((*out.z, *out.y), stable_form(loss.sympy(output.sympy(out.z), out.y)))
    stable = lambda Z, Y: np.broadcast_to(in_z(*Z.T, *Y.T), Z.shape[:1]).astype(float)  # noqa: E731
    return lambda A, Y, Z: np.where(saturated_rows(A), stable(Z, Y), plain(A, Y))
