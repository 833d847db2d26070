"""Printing: derive's notation for SymPy expressions, in LaTeX and in plain text.

One place decides how a number and a symbol look. ``latex`` and ``text`` are thin wrappers
over SymPy's printers; ``symbol_names`` maps a symbol to what it prints as, which is how a
formula becomes "the formula with the numbers substituted" without SymPy evaluating it.

>>> import sympy as sp
>>> a, y = sp.symbols("a_1 y_1")
>>> text((a - y) * a, {a: number(0.75, 4), y: number(0.01, 4)})
'0.75*(0.75 - 0.01)'
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import _coeff_isneg
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter


def number(value: float, decimals: int, bracket_negative: bool = True) -> str:
    """A number as printed on a sheet: rounded to ``decimals``, trailing zeros dropped."""
    shown = f"{round(float(value), decimals):.{decimals}f}"
    if "." in shown:
        shown = shown.rstrip("0").rstrip(".")
    if shown in ("-0", ""):
        shown = "0"
    return f"({shown})" if bracket_negative and shown.startswith("-") else shown


def pmatrix(rows, decimals: int) -> str:
    """A matrix of sheet numbers as a LaTeX pmatrix (a column vector is rows of one)."""
    body = r" \\ ".join(" & ".join(number(v, decimals, False) for v in row) for row in rows)
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


class _PositiveFirst:
    """Terms and factors in the order SymPy holds them (order "none": the delta rule keeps
    dL/da before f'), but a sum starts with a positive term where there is one: a - 1, not
    -1 + a, and with numbers in place of the symbols L reads (1 - 0.51)^2/2."""

    def _as_ordered_terms(self, expr, order=None):
        return sorted(super()._as_ordered_terms(expr, order), key=_coeff_isneg)  # stable


class DeriveLatexPrinter(_PositiveFirst, LatexPrinter):
    """SymPy's LaTeX printer with products written as a centred dot and no \\left/\\right."""

    _default_settings = {**LatexPrinter._default_settings, "mul_symbol": "dot", "order": "none"}


class DeriveTextPrinter(_PositiveFirst, StrPrinter):
    """SymPy's str printer that honours a ``symbol_names`` map, like the LaTeX printer."""

    _default_settings = {**StrPrinter._default_settings, "symbol_names": {}, "order": "none"}

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self._settings["symbol_names"].get(expr, expr.name)

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        parts = [f"{self._print(v)} if {self._print(c)}" for v, c in expr.args if c is not sp.true]
        parts += [f"{self._print(v)} otherwise" for v, c in expr.args if c is sp.true]
        return "(" + ", ".join(parts) + ")"


def latex(expr: sp.Expr, symbol_names: dict | None = None) -> str:
    """LaTeX for ``expr`` in derive's notation."""
    return DeriveLatexPrinter({"symbol_names": symbol_names or {}}).doprint(expr)


def text(expr: sp.Expr, symbol_names: dict | None = None) -> str:
    """Plain text for ``expr`` (for the terminal), with the same symbol names."""
    return DeriveTextPrinter({"symbol_names": symbol_names or {}}).doprint(expr)
