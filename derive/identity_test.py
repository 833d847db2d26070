"""Stage 1 helper: the exact identity test behind the end-to-end proof of :mod:`derive.derivation`.

An expression built from exp, tanh, log and Piecewise branches is atomized (each such function
replaced by an independent symbol), which makes it a rational function of independent symbols,
and shown identically 0 by exact evaluation at random rational points (Schwartz-Zippel).
"""

from __future__ import annotations

import random

import sympy as sp


class _NotRational(Exception):
    """The atomized expression would not be a rational function of independent symbols."""


def _vanishes(expr: sp.Expr, points: int = 2) -> bool:
    """Whether ``expr`` is identically 0, as a rational function of its atomized symbols.

    When an exponent has a fractional coefficient (leaky ReLU's 1/100 inside a softmax), the
    atoms are not independent; then the expression itself is evaluated at random rational
    points with 60 significant digits instead.
    """
    rng = random.Random(20261123)  # fixed: the same network always gets the same verdict
    try:
        atomized = _atomize(expr, {})
    except _NotRational:
        symbols = sorted(expr.free_symbols, key=str)
        for _ in range(points):
            values = {s: sp.Rational(rng.randint(-10**6, 10**6), 10**6) for s in symbols}
            if abs(expr.xreplace(values).evalf(60)) > sp.Float("1e-40"):
                return False
        return True
    symbols = sorted(atomized.free_symbols, key=str)
    for _ in range(points):
        values = {s: sp.Rational(rng.randint(1, 10**9), rng.randint(1, 10**9)) for s in symbols}
        if atomized.xreplace(values) != 0:
            return False
    return True


def _atomize(expr: sp.Expr, atoms: dict) -> sp.Expr:
    """Replace transcendental functions and Piecewise branches by independent symbols."""
    if expr.is_Atom:
        return expr
    if isinstance(expr, sp.Piecewise):
        (value, condition), *rest = expr.args
        otherwise = sp.Piecewise(*rest) if rest and rest[0][1] is not sp.true else (rest[0][0] if rest else sp.S.Zero)
        key = _atomize(condition, atoms)
        indicator = atoms.setdefault(key, sp.Dummy(f"H{len(atoms)}"))
        return indicator * _atomize(value, atoms) + (1 - indicator) * _atomize(otherwise, atoms)
    args = [_atomize(arg, atoms) for arg in expr.args]
    if isinstance(expr, sp.exp):
        # SymPy merges exp(u) exp(v) into exp(u + v), so one atom per term of the exponent:
        # exp(c m) = E_m ** c for an integer coefficient c keeps the two sides comparable.
        factors = []
        for term in sp.Add.make_args(sp.expand(args[0])):
            coeff, monomial = term.as_coeff_Mul()
            if not coeff.is_Integer:
                raise _NotRational  # exp(m/100) vs exp(m): no common atom, fall back to numbers
            factors.append(atoms.setdefault(sp.exp(monomial), sp.Dummy(f"E{len(atoms)}")) ** coeff)
        return sp.Mul(*factors)
    if isinstance(expr, (sp.Function, sp.exp)) or isinstance(expr, sp.core.relational.Relational):
        key = expr.func(*args)
        if isinstance(expr, sp.core.relational.Relational):
            return key
        return atoms.setdefault(key, sp.Dummy(f"F{len(atoms)}"))
    return expr.func(*args)
