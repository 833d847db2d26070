"""Stage 2b, the chain rule written out: one output-layer weight and one hidden-layer weight.

For the first example of the first step this spells out dL/dw as the product of the local
derivatives a student writes by hand, e.g. for a 2-2-1 network

    dL/dw^(1)_11 = dL/da^(2)_1 * da^(2)_1/dz^(2)_1 * dz^(2)_1/da^(1)_1 * da^(1)_1/dz^(1)_1 * dz^(1)_1/dw^(1)_11

Every factor is printed from an expression SymPy derived (dL/da from the loss, f' from the
activation, dz/dw and dz/da from z = W a + b) and evaluated at the example's numbers. The
product is a per-example gradient; :mod:`derive.verify` compares it with the NumPy reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Callable

import mpmath
import numpy as np
import sympy as sp

from . import tree
from .derivation import A, Z, Derivation, activation_rule
from .notation import NIELSEN, Notation, for_problem
from .registry import ACTIVATIONS, saturated_rows
from .spec import Problem



@dataclass(frozen=True)
class Factor:
    """One local derivative: its Leibniz symbol, its derived formula, the formula with the
    numbers (trees, printed by :mod:`derive.printing`), its value."""

    partial: tree.Node  # e.g. dL/da^(2)_1
    formula: tree.Node  # the derived expression in the network's symbols
    substituted: tree.Node  # the expression with the numbers
    value: float


@dataclass(frozen=True)
class ChainRule:
    """dL/dw for one weight of one example as a product of local derivatives."""

    layer: int
    row: int  # 1-based neuron of ``layer``
    col: int  # 1-based neuron of layer - 1
    example: int  # 0-based index into the problem's data
    factors: tuple[Factor, ...]
    notation: Notation = NIELSEN

    @property
    def symbol(self) -> tree.Name:
        loss = _name(lambda form: getattr(self.notation.loss, form))
        return _partial(loss, _name(self.notation.w, self.layer, self.row, self.col), self.notation)

    @property
    def value(self) -> float:
        return float(np.prod([f.value for f in self.factors]))


def chain_rules(problem: Problem, derivation: Derivation, z: list, a: list, delta: list, example: int) -> tuple[ChainRule, ...]:
    """The chain rule for w^(L)_11 and, with a hidden layer, for w^(L-1)_11.

    ``z[l-1]``, ``a[l-1]``, ``delta[l-1]`` are layer l's values for the example (1-D arrays);
    the weights are the problem's own (the first step starts from them).
    """
    chain = _Chain(problem, derivation, z, a, delta, example)
    L = problem.network.depth
    rules = [ChainRule(L, 1, 1, example, (*chain.output_factors(), chain.dz_dw(L)), chain.N)]
    if L > 1:
        upstream = chain.upstream_factors()
        rules.append(ChainRule(L - 1, 1, 1, example, (*upstream, chain.da_dz(L - 1, 1), chain.dz_dw(L - 1)), chain.N))
    return tuple(rules)


def _name(block, *args) -> tree.Name:
    """A symbol spelled by one of the notation's building blocks, in LaTeX and in text (spelled
    once: every variant of an exam spells the same symbols with the same bound notation)."""
    notation = getattr(block, "__self__", None)
    if not isinstance(notation, Notation):  # not a notation's building block: spelled each time
        return tree.Name(block(*args, form="latex"), block(*args, form="text"))
    return notation.spelled(("chain", block.__name__, args),
                            lambda: tree.Name(block(*args, form="latex"), block(*args, form="text")))


_W, _A_PREV, _B = sp.symbols("w a_prev b")


@lru_cache(maxsize=None)
def _linear_derivative(by: sp.Symbol) -> sp.Expr:
    """d/d``by`` of z = w a_prev + b (a_prev by w, w by a_prev), derived once for every variant."""
    return sp.diff(_W * _A_PREV + _B, by)


def _partial(top: tree.Name, bottom: tree.Name, N: Notation = NIELSEN) -> tree.Name:
    return tree.Name(N.d_dx(top.latex, bottom.latex), N.d_dx(top.text, bottom.text, form="text"))


class _Chain:
    """Builds the factors from the derivation's expressions and one example's numbers."""

    def __init__(self, problem, derivation, z, a, delta, example) -> None:
        self.problem, self.derivation, self.N = problem, derivation, for_problem(problem)
        self.loss = _name(lambda form: getattr(self.N.loss, form))
        self.z, self.a, self.delta = z, a, delta
        self.x = np.array(problem.inputs[example], dtype=float)
        self.y = np.array(problem.targets[example], dtype=float)
        self.d = problem.answers.decimals

    def partial(self, top: tree.Name, bottom: tree.Name) -> tree.Name:
        return _partial(top, bottom, self.N)

    def n(self, value: float) -> tree.Num:
        return tree.Num(float(value), self.d)

    def shown(self, expr: sp.Expr, values: dict) -> tree.Formula:
        """``expr`` with the numbers ``values`` in place of its symbols."""
        return tree.formula(expr, {s: self.n(v) for s, v in values.items()})

    def activation_value(self, layer: int, j: int) -> float:
        return float(self.x[j - 1]) if layer == 0 else float(self.a[layer - 1][j - 1])

    def factor(self, partial: tree.Name, expr: sp.Expr, names: dict, values: dict) -> Factor:
        return Factor(partial, tree.formula(expr, names), self.shown(expr, values), _evaluate(expr, values))

    def output_factors(self) -> tuple[Factor, ...]:
        """dL/da^(L)_1 and da^(L)_1/dz^(L)_1, or dL/dz^(L)_1 for a softmax output."""
        L = self.problem.network.depth
        out = self.derivation.output
        names = {**{s: _name(self.N.node, L, k + 1) for k, s in enumerate(out.a)},
                 **{s: _name(self.N.y, k + 1) for k, s in enumerate(out.y)},
                 **{s: _name(self.N.z, L, k + 1) for k, s in enumerate(out.z)}}
        values = {**dict(zip(out.a, self.a[L - 1])), **dict(zip(out.y, self.y)), **dict(zip(out.z, self.z[L - 1]))}
        loss = self.loss
        delta = self.factor(self.partial(loss, _name(self.N.z, L, 1)), out.delta[0], names, values)
        if not ACTIVATIONS[self.problem.network.activations[-1]].elementwise:
            # Softmax couples the outputs: dL/dz_1 = sum_k dL/da_k da_k/dz_1 is one factor, shown
            # in the form SymPy simplified it to (a_1 - y_1 for cross-entropy).
            return (delta,)
        dL_da = out.dL_da[0]
        value = _evaluate(dL_da, values)
        if self.saturated(L):
            # a has rounded to 0 or 1: evaluate with a = f(z) at 30 digits instead.
            activation = ACTIVATIONS[self.problem.network.activations[-1]]
            in_z = dict(zip(out.a, activation.sympy(out.z)))
            value = _evaluate(dL_da.xreplace(in_z), values, digits=30)
        if not np.isfinite(value):
            return (delta,)  # dL/da = 1/a beyond float64 (a < 1e-308): only dL/dz = a - y is a number
        factor = Factor(self.partial(loss, _name(self.N.node, L, 1)), tree.formula(dL_da, names), self.shown(dL_da, values), value)
        return (factor, self.da_dz(L, 1))

    def saturated(self, layer: int) -> bool:
        """Whether the example's layer has an a within 1e-3 of 0 or 1 (or below 0), where a(1 - a)
        or 1/(1 - a) in float64 has lost digits. The net is wider than sigmoid needs (a negative
        tanh, an inactive ReLU): the 30-digit value in z is only ever more accurate."""
        return bool(saturated_rows(np.array([self.a[layer - 1]]))[0])

    def da_dz(self, layer: int, j: int) -> Factor:
        expr = activation_rule(self.problem.network.activations[layer - 1]).derivative
        a, z = _name(self.N.node, layer, j), _name(self.N.z, layer, j)
        values = {A: float(self.a[layer - 1][j - 1]), Z: float(self.z[layer - 1][j - 1])}
        value = _evaluate(expr, values)
        if self.saturated(layer):
            rule = activation_rule(self.problem.network.activations[layer - 1])
            value = _evaluate(rule.derivative_z, values, digits=30)  # a(1 - a) = 0 once a rounds to 1
        shown = self.n(value) if isinstance(expr, sp.Piecewise) else self.shown(expr, values)
        return Factor(self.partial(a, z), tree.formula(expr, {A: a, Z: z}), shown, value)

    def dz_dw(self, layer: int) -> Factor:
        """dz_1/dw_11 = a^(l-1)_1, read off SymPy's derivative of z = W a + b."""
        a_prev, expr = _A_PREV, _linear_derivative(_W)
        value = self.activation_value(layer - 1, 1)
        partial = self.partial(_name(self.N.z, layer, 1), _name(self.N.w, layer, 1, 1))
        return Factor(partial, tree.formula(expr, {a_prev: _name(self.N.node, layer - 1, 1)}),
                      self.shown(expr, {a_prev: value}), value)

    def upstream_factors(self) -> tuple[Factor, ...]:
        """dL/da^(L-1)_1: three factors for one elementwise output neuron, else the delta sum."""
        net = self.problem.network
        L = net.depth
        W = np.array(self.problem.weights[L - 1], dtype=float)
        w, dz_da = _W, _linear_derivative(_A_PREV)  # = w
        if net.layers[-1] == 1 and ACTIVATIONS[net.activations[-1]].elementwise:
            link = self.factor(self.partial(_name(self.N.z, L, 1), _name(self.N.node, L - 1, 1)), dz_da,
                               {w: _name(self.N.w, L, 1, 1)}, {w: float(W[0, 0])})
            return (*self.output_factors(), link)
        deltas, k = self.delta[L - 1], self.N.neuron_index
        terms = [tree.Times((_name(self.N.d, L, i + 1), _name(self.N.w, L, i + 1, 1)), "space") for i in range(W.shape[0])]
        numbers = [tree.Times((self.n(deltas[i]), self.n(W[i, 0]))) for i in range(W.shape[0])]
        value = float(sum(deltas[i] * W[i, 0] for i in range(W.shape[0])))
        z_k = _name(self.N.z, L, k)
        partial = tree.SumOver(k, tree.Times((self.partial(self.loss, z_k), self.partial(z_k, _name(self.N.node, L - 1, 1))),
                                             "space"))
        return (Factor(partial, tree.Plus(tuple(terms)), tree.Paren(tree.Plus(tuple(numbers))), value),)


def _evaluate(expr: sp.Expr, values: dict, digits: int | None = None) -> float:
    """``expr`` at ``values``: in float64 arithmetic, or at ``digits`` significant digits; a value
    beyond float64 (or 1/0) comes out as inf or nan. In float64 it runs a function compiled once
    (:func:`_float_function`), which does SymPy's Float operations in SymPy's order."""
    if digits is None:
        function = _float_function(expr, tuple(values))
        if function is not None:
            try:
                return function(tuple(float(v) for v in values.values()))
            except ZeroDivisionError:
                pass  # SymPy says what dividing by 0 gives
    else:
        try:
            with mpmath.workdps(digits):
                return float(_mpmath_function(expr, tuple(values))(*(mpmath.mpf(float(v)) for v in values.values())))
        except (TypeError, ZeroDivisionError, ValueError):
            pass  # SymPy says what it gives
    exact = expr.xreplace({s: sp.Float(v, digits or 15) for s, v in values.items()})
    if digits is not None:
        exact = exact.evalf(digits)
    try:
        return float(exact)
    except TypeError:  # zoo, nan + I*...: a 1/0 in float64
        return float("nan")


@lru_cache(maxsize=256)
def _mpmath_function(expr: sp.Expr, symbols: tuple) -> Callable:
    """``expr`` compiled once to mpmath (evaluated at the working precision of the call)."""
    return sp.lambdify(symbols, expr, "mpmath")


@lru_cache(maxsize=256)
def _float_function(expr: sp.Expr, symbols: tuple) -> Callable | None:
    """``expr`` compiled once (every variant evaluates it) to float operations in the order
    SymPy's automatic evaluation does them: an Add sums its arguments in order from 0, a Mul
    multiplies them from 1, an integer power is rounded once from the exact value. None when
    the expression holds anything else (then SymPy evaluates it)."""
    try:
        return _compile(expr, {s: i for i, s in enumerate(symbols)})
    except _Unsupported:
        return None


class _Unsupported(Exception):
    pass


def _compile(expr, index: dict) -> Callable:
    if expr in index:
        i = index[expr]
        return lambda v: v[i]
    if expr.is_Number:
        constant = float(expr)
        return lambda v: constant
    parts = [_compile(arg, index) for arg in expr.args] if (expr.is_Add or expr.is_Mul) else None
    if expr.is_Add:
        return lambda v: _fold(parts, v, 0.0, float.__add__)
    if expr.is_Mul:
        return lambda v: _fold(parts, v, 1.0, float.__mul__)
    if expr.is_Pow and expr.exp.is_Integer:
        base, exponent = _compile(expr.base, index), int(expr.exp)
        return lambda v: float(Fraction(base(v)) ** exponent)
    if isinstance(expr, sp.Piecewise):
        branches = [(_compile(e, index), None if c is sp.true else _condition(c, index)) for e, c in expr.args]
        return lambda v: next(e(v) for e, c in branches if c is None or c(v))
    raise _Unsupported


def _condition(condition, index: dict) -> Callable:
    compare = {sp.StrictGreaterThan: float.__gt__, sp.GreaterThan: float.__ge__,
               sp.StrictLessThan: float.__lt__, sp.LessThan: float.__le__}.get(type(condition))
    if compare is None:
        raise _Unsupported
    lhs, rhs = _compile(condition.lhs, index), _compile(condition.rhs, index)
    return lambda v: compare(lhs(v), rhs(v))


def _fold(parts, v, start: float, operation) -> float:
    result = start
    for part in parts:
        result = operation(result, part(v))
    return result
