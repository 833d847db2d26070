"""Printing: SymPy expressions and worked lines, in LaTeX and in plain text.

One place decides how a number and a symbol look. ``latex`` and ``text`` are thin wrappers
over SymPy's printers, extended with the nodes of a worked line (:mod:`derive.tree`), each
printed by a ``_print_<Node>`` method as SymPy dispatches on its own types; ``symbol_names``
maps a symbol to what it prints as, which is how a formula becomes "the formula with the
numbers substituted" without SymPy evaluating it.

>>> import sympy as sp
>>> a, y = sp.symbols("a_1 y_1")
>>> text((a - y) * a, {a: number(0.75, 4), y: number(0.01, 4)})
'0.75*(0.75 - 0.01)'
>>> from derive.tree import Apply, Num
>>> latex(Apply(r"\\operatorname{step}", "step", (Num(0.11, 4),))), text(Apply(r"\\operatorname{step}", "step", (Num(0.11, 4),)))
('\\\\operatorname{step}(0.11)', 'step(0.11)')
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.core.function import _coeff_isneg
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from . import tree
from .rounding import shown, shown_each
from .spec import Answers


@functools.lru_cache(maxsize=1 << 16)  # a worked solution prints each of its numbers several times
def number(value: float, decimals: int, bracket_negative: bool = True) -> str:
    """A number as printed on a sheet: rounded to ``decimals``, trailing zeros dropped (as a student
    writes it, :func:`derive.rounding.shown`), negative ones bracketed if asked."""
    return _bracketed(shown(Answers(decimals=decimals), value), bracket_negative)


def numbers(values, decimals: int, bracket_negative: bool = True) -> list[str]:
    """:func:`number` of each of ``values``, rounded together (a variant's hundreds of numbers)."""
    return [_bracketed(text, bracket_negative) for text in shown_each(Answers(decimals=decimals), values)]


def _bracketed(text: str, bracket_negative: bool) -> str:
    return f"({text})" if bracket_negative and text.startswith("-") else text


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


class _TreePrinter:
    """What the LaTeX and the text printer share for the nodes of :mod:`derive.tree`: each
    printer names its own product joints (``_times``) and which spelling of a name it takes
    (``_form``); the nodes they write differently have a method in each printer."""

    _form = "latex"
    _times = {"dot": " * ", "space": " * ", "none": " * "}

    def _print(self, expr, **kwargs) -> str:
        # A worked line's nodes go straight to their method: SymPy's dispatch (a walk up the
        # class's MRO per node) is most of the time an exam of thousands of variants takes.
        method = _NODE_METHODS.get(type(expr))
        return getattr(self, method)(expr) if method is not None else super()._print(expr, **kwargs)

    def _print_Name(self, node: tree.Name) -> str:
        return getattr(node, self._form)

    def _print_Num(self, node: tree.Num) -> str:
        return number(node.value, node.decimals, node.bracket)

    def _print_Plus(self, node: tree.Plus) -> str:
        return " + ".join(self._print(term) for term in node.terms)

    def _print_Minus(self, node: tree.Minus) -> str:
        return f"{self._print(node.left)} - {self._print(node.right)}"

    def _print_Times(self, node: tree.Times) -> str:
        return self._times[node.joint].join(self._print(factor) for factor in node.factors)

    def _print_Apply(self, node: tree.Apply) -> str:
        arguments = ", ".join(self._print(argument) for argument in node.arguments)
        return f"{getattr(node, self._form)}({arguments})"

    def _print_Power(self, node: tree.Power) -> str:
        return f"{self._print(node.base)}^{node.exponent}"

    def _print_Formula(self, node: tree.Formula) -> str:
        names = {symbol: self._print(name) for symbol, name in node.names}
        return self._formula_printer(node.style)({"symbol_names": names}).doprint(node.expr)


class DeriveLatexPrinter(_PositiveFirst, _TreePrinter, LatexPrinter):
    """SymPy's LaTeX printer with products written as a centred dot and no \\left/\\right,
    and the nodes of a worked line (:mod:`derive.tree`)."""

    _default_settings = {**LatexPrinter._default_settings, "mul_symbol": "dot", "order": "none"}
    _times = {"dot": r" \cdot ", "space": " ", "none": ""}

    def _formula_printer(self, style: str):
        return DeriveLatexPrinter

    def _print_Words(self, node: tree.Words) -> str:
        return rf"\text{{{node.words}}}"

    def _print_Over(self, node: tree.Over) -> str:
        top, bottom = self._print(node.numerator), self._print(node.denominator)
        return f"{top} / {bottom}" if node.inline else rf"\frac{{{top}}}{{{bottom}}}"

    def _print_Paren(self, node: tree.Paren) -> str:
        body = self._print(node.body)
        return rf"\left({body}\right)" if node.big else f"({body})"

    def _print_Exp(self, node: tree.Exp) -> str:
        return f"e^{{{self._print(node.argument)}}}"

    def _print_Power(self, node: tree.Power) -> str:
        exponent = str(node.exponent)
        return f"{self._print(node.base)}^" + (exponent if len(exponent) == 1 else f"{{{exponent}}}")

    def _print_SumOver(self, node: tree.SumOver) -> str:
        index = f"_{node.index}" if node.index else ""
        return rf"\sum{index} {self._print(node.body)}"


class DeriveTextPrinter(_PositiveFirst, _TreePrinter, StrPrinter):
    """SymPy's str printer that honours a ``symbol_names`` map, like the LaTeX printer, and
    prints the nodes of a worked line (:mod:`derive.tree`) as plain text."""

    _default_settings = {**StrPrinter._default_settings, "symbol_names": {}, "order": "none"}
    _form = "text"

    def _formula_printer(self, style: str):
        return HandTextPrinter if style == "hand" else DeriveTextPrinter

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self._settings["symbol_names"].get(expr, expr.name)

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        parts = [f"{self._print(v)} if {self._print(c)}" for v, c in expr.args if c is not sp.true]
        parts += [f"{self._print(v)} otherwise" for v, c in expr.args if c is sp.true]
        return "(" + ", ".join(parts) + ")"

    def _print_Words(self, node: tree.Words) -> str:
        return node.words

    def _print_Over(self, node: tree.Over) -> str:
        top, bottom = self._print(node.numerator), self._print(node.denominator)
        if node.inline:
            return f"{top} / {bottom}"
        return f"{top}/{bottom}" if bottom.isalnum() else f"{top}/({bottom})"

    def _print_Paren(self, node: tree.Paren) -> str:
        return f"({self._print(node.body)})"

    def _print_Exp(self, node: tree.Exp) -> str:
        return f"exp({self._print(node.argument)})"

    def _print_SumOver(self, node: tree.SumOver) -> str:
        index = f"_{node.index}" if node.index else ""
        return f"sum{index} {self._print(node.body)}"


class HandTextPrinter(DeriveTextPrinter):
    """Text as a student writes a product by hand: ``a * (1 - a)``, ``1 - a^2``."""

    def _print_Mul(self, expr: sp.Mul) -> str:
        factors = sp.Mul.make_args(expr)
        if any(f.is_Pow and f.exp.is_negative for f in factors) or _coeff_isneg(expr):
            return super()._print_Mul(expr)
        return " * ".join(self.parenthesize(f, PRECEDENCE["Mul"], strict=False) for f in factors)

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if not (expr.exp.is_Integer and expr.exp > 0):
            return super()._print_Pow(expr, rational)
        return f"{self.parenthesize(expr.base, PRECEDENCE['Pow'], strict=False)}^{expr.exp}"


class _SlotLatexPrinter(DeriveLatexPrinter):
    """The LaTeX printer with a marker in place of each slot (see :func:`templates`)."""

    def __init__(self, needed: dict) -> None:
        super().__init__({"symbol_names": {}})
        self.needed = needed  # (slot, decimals, bracket) -> its place in the filled numbers

    def _print_Num(self, node: tree.Num) -> str:
        slot = tree.slot_of(node.value)
        if slot is None:
            return super()._print_Num(node)
        return marker(self.needed.setdefault((slot, node.decimals, node.bracket), len(self.needed)))


@dataclass(frozen=True)
class Templates:
    """Worked lines printed once with their numbers left open: ``fill(numbers)`` gives, for each
    line, its substituted formula and its value as :func:`latex` and :func:`number` print them
    with ``numbers[i]`` in slot i (the lines' ``tree.Num`` leaves hold ``tree.slot_tag(i)``)."""

    needed: tuple[tuple[int, int, bool], ...]  # (slot, decimals, bracket) of each open place
    lines: tuple[tuple[str, str], ...]  # format strings of (substituted, value), "{0[k]}" the k-th place

    def fill(self, values) -> list[tuple[str, str]]:
        values = np.asarray(values)
        written = [""] * len(self.needed)
        for (decimals, bracket), (places, slots) in self._groups.items():
            for place, text in zip(places, numbers(values[slots], decimals, bracket)):
                written[place] = text
        return [(substituted.format(written), value.format(written)) for substituted, value in self.lines]

    @functools.cached_property
    def _groups(self) -> dict:
        """The open places by how they are printed: (decimals, bracket) -> (places, their slots)."""
        groups: dict = {}
        for place, (slot, decimals, bracket) in enumerate(self.needed):
            places, slots = groups.setdefault((decimals, bracket), ([], []))
            places.append(place)
            slots.append(slot)
        return {key: (places, np.array(slots, dtype=int)) for key, (places, slots) in groups.items()}


def templates(lines, decimals: int) -> Templates:
    """:class:`Templates` of ``lines`` (pairs of a substituted tree and a value, numbers as slots);
    the value is printed to ``decimals`` without brackets, as a line's result is."""
    needed: dict = {}
    printer = _SlotLatexPrinter(needed)
    printed = [(printer.doprint(substituted), printer.doprint(tree.Num(value, decimals, False)))
               for substituted, value in lines]
    return Templates(tuple(needed), tuple((fillable(a), fillable(b)) for a, b in printed))


def marker(place: int) -> str:
    """What a printer or a table writes for an open place: filled in later by :func:`fillable`."""
    return f"\x00{place}\x00"


def fillable(marked: str) -> str:
    """Text with :func:`marker` places as a format string: braces doubled, place k as ``{0[k]}``
    (``fillable(text).format(values)`` puts values[k] at place k)."""
    pieces = marked.split("\x00")
    for i in range(0, len(pieces), 2):
        pieces[i] = pieces[i].replace("{", "{{").replace("}", "}}")
    for i in range(1, len(pieces), 2):
        pieces[i] = f"{{0[{pieces[i]}]}}"
    return "".join(pieces)


_NODE_METHODS = {node: f"_print_{node.__name__}" for node in
                 (tree.Name, tree.Num, tree.Words, tree.Plus, tree.Minus, tree.Times, tree.Over, tree.Paren,
                  tree.Apply, tree.Exp, tree.SumOver, tree.Power, tree.Formula)}


def latex(expr, symbol_names: dict | None = None) -> str:
    """LaTeX for a SymPy expression or a worked line's tree (:mod:`derive.tree`), in derive's
    notation."""
    if symbol_names:
        return DeriveLatexPrinter({"symbol_names": symbol_names}).doprint(expr)
    return _plain_printer(DeriveLatexPrinter).doprint(expr)


def text(expr, symbol_names: dict | None = None) -> str:
    """Plain text for a SymPy expression or a worked line's tree (for the terminal), with the
    same symbol names."""
    if symbol_names:
        return DeriveTextPrinter({"symbol_names": symbol_names}).doprint(expr)
    return _plain_printer(DeriveTextPrinter).doprint(expr)


@functools.lru_cache(maxsize=None)
def _plain_printer(kind: type):
    """One printer without symbol names, made once (a printer keeps no state between calls)."""
    return kind({"symbol_names": {}})
