"""The small expression tree a worked line is built from, printed by :mod:`derive.printing`.

A worked line (symbol, formula, formula with the numbers, result) is built once from these nodes
and printed twice, by the LaTeX printer and by the text printer, each dispatching on the node's
type as SymPy's printers do: nothing is ever converted from one format to the other. Symbols
carry their spellings from :mod:`derive.notation`; a :class:`Formula` leaf holds an expression
SymPy derived, printed by SymPy's own printers with a map of symbol names.

>>> from derive.printing import latex, text
>>> line = Plus((Times((Num(0.5, 4), Num(-0.25, 4))), Num(0.1, 4)))
>>> latex(line), text(line)
('0.5 \\\\cdot (-0.25) + 0.1', '0.5 * (-0.25) + 0.1')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


@dataclass(frozen=True)
class Name:
    """A symbol, spelled as the notation writes it in LaTeX and in text."""

    latex: str
    text: str


@dataclass(frozen=True)
class Num:
    """A number as a sheet shows it: rounded to ``decimals``; negative ones bracketed if asked."""

    value: float
    decimals: int
    bracket: bool = True


@dataclass(frozen=True)
class Words:
    """Prose standing in for a computation (``\\text{...}`` in LaTeX)."""

    words: str


@dataclass(frozen=True)
class Plus:
    """A sum of terms, ``a + b + c``."""

    terms: tuple["Node", ...]


@dataclass(frozen=True)
class Minus:
    """A difference, ``a - b``."""

    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Times:
    """A product. ``joint`` says how LaTeX writes it: ``dot`` (``a \\cdot b``), ``space``
    (``w x``) or ``none`` (``\\frac{1}{m}\\sum``); text always writes ``a * b``."""

    factors: tuple["Node", ...]
    joint: str = "dot"


@dataclass(frozen=True)
class Over:
    """A quotient: ``\\frac{a}{b}`` and ``a/b``, or with ``inline`` ``a / b`` in both."""

    numerator: "Node"
    denominator: "Node"
    inline: bool = False


@dataclass(frozen=True)
class Paren:
    """Brackets around a part; ``big`` ones are ``\\left( ... \\right)`` in LaTeX."""

    body: "Node"
    big: bool = False


@dataclass(frozen=True)
class Apply:
    """A function applied to arguments, ``f(x)``: the function's LaTeX and text names."""

    latex: str
    text: str
    arguments: tuple["Node", ...]


@dataclass(frozen=True)
class Exp:
    """The exponential, ``e^{x}`` in LaTeX and ``exp(x)`` in text."""

    argument: "Node"


@dataclass(frozen=True)
class SumOver:
    """``\\sum_i body``: a sum written with its running index (none: ``\\sum W^2``)."""

    index: str
    body: "Node"


@dataclass(frozen=True)
class Power:
    """``base^exponent`` with a short exponent (``W^2``)."""

    base: "Node"
    exponent: int


@dataclass(frozen=True)
class Formula:
    """An expression SymPy derived, printed by SymPy's printers with its symbols written as the
    nodes ``names`` (symbols or numbers) print.

    ``style`` picks the text printer: ``sympy`` (``a*(1 - a)``, ``x**2``) or ``hand`` as a
    student writes it (``a * (1 - a)``, ``x^2``)."""

    expr: Any
    names: tuple[tuple[Any, "Node"], ...] = field(default=())
    style: str = "sympy"


def slot_tag(i: int) -> float:
    """A :class:`Num` value standing for the i-th number of a step, not a number itself: the lines
    of every variant of an exam are built once with these (derive.worked.slotted_lines) and
    printed once, each variant filling in its numbers. Far below any number a step holds."""
    return _TAG * (i + 1)


def slot_of(value: float) -> int | None:
    """The slot a :func:`slot_tag` value stands for, or None for a real number (1/m, 2)."""
    return round(value / _TAG) - 1 if 0 < value < _TAG * 1e12 else None


_TAG = 1e-300


Node = Union[Name, Num, Words, Plus, Minus, Times, Over, Paren, Apply, Exp, SumOver, Power, Formula]


def formula(expr, names: dict | None = None, style: str = "sympy") -> Formula:
    """A :class:`Formula` leaf from a map of SymPy symbols to nodes."""
    return Formula(expr, tuple((names or {}).items()), style)
