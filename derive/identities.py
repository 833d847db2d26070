"""Exact identity testing for the derivation's end-to-end proof (stage 1's helper).

:func:`vanishes` decides whether an expression SymPy built (a direct derivative minus the
delta-rule form) is identically 0: transcendental functions and Piecewise branches become
independent atoms, and the resulting rational function is evaluated exactly modulo a 61-bit
prime at random points (Schwartz-Zippel: a nonzero rational function of degree d vanishes at a
uniformly random point with probability at most d/P). Sound for "holds": atoms only forget
relations between functions, so a difference that vanishes as a rational function of the
atoms vanishes as a function.
"""

from __future__ import annotations

import random

import sympy as sp


class _NotRational(Exception):
    """The atomized expression would not be a rational function of independent symbols."""


#: The prime the exact identity test computes modulo (the Mersenne prime 2^61 - 1): a nonzero
#: rational function of degree d vanishes at a uniformly random point with probability <= d/P.
PRIME = 2**61 - 1


def vanishes(expr: sp.Expr, points: int = 2) -> bool:
    """Whether ``expr`` is identically 0, as a rational function of its atomized symbols.

    Every symbol, and every atom (see :class:`_ModularPoint`), gets a random value modulo
    ``PRIME`` and the expression is evaluated exactly in that field, ``points`` times.
    When an exponent has a fractional coefficient (leaky ReLU's 1/100 inside a softmax), the
    atoms are not independent; then the expression itself is evaluated at random rational
    points with 60 significant digits instead.
    """
    rng = random.Random(20261123)  # fixed: the same network always gets the same verdict
    try:
        done = 0
        for _ in range(4 * points):  # a point where a denominator vanishes is skipped
            try:
                value = _ModularPoint(rng).value(expr)
            except ZeroDivisionError:
                continue
            if value != 0:
                return False
            done += 1
            if done == points:
                return True
        return False
    except _NotRational:
        symbols = sorted(expr.free_symbols, key=str)
        for _ in range(points):
            values = {s: sp.Rational(rng.randint(-10**6, 10**6), 10**6) for s in symbols}
            if abs(expr.xreplace(values).evalf(60)) > sp.Float("1e-40"):
                return False
        return True


class _ModularPoint:
    """An expression's value modulo ``PRIME`` at one random point, transcendental functions and
    Piecewise branches replaced by independent random values (atoms).

    An atom is keyed by its function and the values of its arguments, so equal arguments
    written differently share it. ``exp`` gets one atom per term of its expanded exponent,
    raised to the term's integer coefficient: SymPy merges exp(u) exp(v) into exp(u + v) in
    some places and not in others, and both sides must stay comparable. A Piecewise with
    condition c is H v + (1 - H) w for an atom H of c.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.memo: dict = {}
        self.atoms: dict = {}

    def atom(self, key) -> int:
        if key not in self.atoms:
            self.atoms[key] = self.rng.randrange(1, PRIME)
        return self.atoms[key]

    def value(self, expr) -> int:
        found = self.memo.get(expr)
        if found is None:
            found = self.memo[expr] = self._evaluate(expr)
        return found

    def _evaluate(self, expr) -> int:
        if expr.is_Rational:
            return expr.p % PRIME * _inverse(expr.q) % PRIME
        if expr.is_Symbol or isinstance(expr, sp.NumberSymbol):
            return self.atom(("symbol", expr))
        if expr.is_Add:
            return sum(self.value(term) for term in expr.args) % PRIME
        if expr.is_Mul:
            product = 1
            for factor in expr.args:
                product = product * self.value(factor) % PRIME
            return product
        if expr.is_Pow and not isinstance(expr, sp.exp):
            if not expr.exp.is_Integer:
                raise _NotRational
            base = self.value(expr.base)
            return pow(base, int(expr.exp), PRIME) if expr.exp >= 0 else pow(_inverse(base), -int(expr.exp), PRIME)
        if isinstance(expr, sp.exp):
            product = 1
            for term in sp.Add.make_args(sp.expand(expr.args[0])):
                coeff, monomial = term.as_coeff_Mul()
                if not coeff.is_Integer:
                    raise _NotRational  # exp(m/100) vs exp(m): no common atom, fall back to numbers
                base = self.atom(("exp", self.value(monomial)))
                product = product * pow(base if coeff >= 0 else _inverse(base), abs(int(coeff)), PRIME) % PRIME
            return product
        if isinstance(expr, sp.Piecewise):
            (value, condition), *rest = expr.args
            if condition is sp.true:
                return self.value(value)
            otherwise = self.value(sp.Piecewise(*rest)) if rest else 0
            indicator = self.atom(("condition", self._key(condition)))
            return (indicator * self.value(value) + (1 - indicator) * otherwise) % PRIME
        if isinstance(expr, sp.Function):
            return self.atom((expr.func, tuple(self.value(arg) for arg in expr.args)))
        raise _NotRational

    def _key(self, condition):
        """A hashable stand-in for a Piecewise condition: its relation of argument values."""
        if isinstance(condition, sp.core.relational.Relational):
            return (condition.func, (self.value(condition.lhs) - self.value(condition.rhs)) % PRIME)
        if condition.is_Boolean and condition.args:
            return (condition.func, tuple(self._key(arg) for arg in condition.args))
        return condition


def _inverse(value: int) -> int:
    if value % PRIME == 0:
        raise ZeroDivisionError("a denominator vanishes at this point")
    return pow(value, -1, PRIME)
