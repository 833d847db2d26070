"""Stage 4, LaTeX rendering: the tables of a sheet (given data, per-layer summaries, comparison).

Finished booktabs tabulars (built with pylatex) from a problem's numbers and a step's values;
every symbol in a head or a row is spelled by :mod:`derive.notation`. Used by
:mod:`derive.sheet`, which places them in its templates.
"""

from __future__ import annotations

import functools
import re
from typing import Callable

from pylatex import NoEscape, Tabular
from pylatex.utils import escape_latex

from .i18n import gettext_for
from .notation import NIELSEN, Notation, QuantityName, for_problem
from .printing import fillable, marker, number

N = NIELSEN  # the default notation (a comparison's table, a caller without a problem)


# A run of right-to-left letters (Hebrew, Arabic), with the spaces between its words.
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]+(?: +[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]+)*")


@functools.lru_cache(maxsize=4096)  # the words of an exam's title and instructions, in every variant
def escape(text: str) -> str:
    """Prose from a problem file as literal LaTeX text (pylatex's escaping, plus ``_ < > |`` as
    text commands, which print as themselves in any font encoding). A run of Arabic or Hebrew
    words is set right to left (XeTeX's \\beginR ... \\endR), so that a name reads in its order."""
    escaped = escape_latex(str(text)).replace(r"\_", r"\textunderscore{}")
    for char, command in (("<", r"\textless{}"), (">", r"\textgreater{}"), ("|", r"\textbar{}")):
        escaped = escaped.replace(char, command)
    return _RIGHT_TO_LEFT.sub(lambda run: rf"\beginR {run.group(0)}\endR{{}}", escaped)


def columns(*groups: int) -> str:
    """Right-aligned columns, with a wider gap between groups (booktabs style: no vertical rules)."""
    return r"@{\hspace{1.2em}}".join("r" * g for g in groups)


def tabular(spec: str, header: list[str], rows: list[list[str]]) -> str:
    """A booktabs tabular of finished LaTeX cells, built with pylatex."""
    return _tabular_of_shape(spec, tuple(header), tuple(map(len, rows))).format([cell for row in rows for cell in row])


@functools.lru_cache(maxsize=256)  # an exam's variants share their tables' shapes
def _tabular_of_shape(spec: str, header: tuple[str, ...], widths: tuple[int, ...]) -> str:
    """The tabular pylatex builds for this header and these row widths, each body cell an open
    place (a cell is set as it is given, so filling the places is building it with the cells)."""
    table = Tabular(spec, booktabs=True)
    table.add_row([NoEscape(h) for h in header])
    table.add_hline()
    place = 0
    for width in widths:
        table.add_row([NoEscape(marker(place + i)) for i in range(width)])
        place += width
    return fillable(table.dumps())


def _math(tex: str) -> str:
    return f"${tex}$"


def data_table(problem) -> str:
    """The examples: inputs x and targets y, one row each."""
    net, N = problem.network, for_problem(problem)
    d = problem.answers.decimals
    header = ([gettext_for(problem.language)("example")] + [_math(N.node(0, k + 1)) for k in range(net.layers[0])]
              + [_math(N.y(k + 1)) for k in range(net.layers[-1])])
    rows = [[str(i + 1)] + [_math(number(v, d, False)) for v in (*x, *y)]
            for i, (x, y) in enumerate(zip(problem.inputs, problem.targets))]
    return tabular(columns(1, net.layers[0], net.layers[-1]), header, rows)


def summary_tables(problem, step) -> list[dict]:
    """Per layer: z, a, delta per example; then gradients and updated parameters per neuron."""
    tables, notation = [], for_problem(problem)
    _ = gettext_for(problem.language)
    for layer in step.layers:
        tables.append(_values_table(problem.answers.decimals, step, layer, notation, _))
        if layer.grad_W is not None:
            tables.append(_parameters_table(problem.answers.decimals, layer, problem.updates_biases, notation, _))
    return tables


def _values_table(d: int, step, layer, N: Notation, _: Callable[[str], str]) -> dict:
    l, size = layer.layer, layer.z.shape[1]
    blocks = [(N.z, layer.z), (N.a, layer.a)] + ([(N.d, layer.delta)] if layer.delta is not None else [])
    header = [_("ex.")] + [_math(spell(l, j + 1)) for spell, _values in blocks for j in range(size)]
    rows = [[str(example + 1)] + [_math(number(v, d, False)) for _spell, values in blocks for v in values[r]]
            for r, example in enumerate(step.batch)]
    caption = _("Layer {l}: forward pass and deltas") if layer.delta is not None else _("Layer {l}: forward pass")
    return {"caption": caption.format(l=l),
            "tabular": tabular(columns(1, *[size] * len(blocks)), header, rows)}


def _parameters_table(d: int, layer, bias: bool, N: Notation, _: Callable[[str], str]) -> dict:
    l, inputs = layer.layer, layer.grad_W.shape[1]
    header = ["$j$"]
    for matrix, vector in (("dW", "db"), ("W", "b")):
        header += [_math(N.column(matrix, k + 1)) for k in range(inputs)] + ([_math(N.column(vector))] if bias else [])
    rows = []
    for j in range(layer.grad_W.shape[0]):
        cells = [*layer.grad_W[j], *([layer.grad_b[j]] if bias else []), *layer.W[j], *([layer.b[j]] if bias else [])]
        rows.append([str(j + 1)] + [_math(number(v, d, False)) for v in cells])
    width = inputs + (1 if bias else 0)
    gradient = N.inline_gradient.format(p=N.w(l, "j", "k"))
    return {"caption": _("Layer {l}: gradients ${gradient}$ and updated parameters").format(l=l, gradient=gradient),
            "tabular": tabular(columns(1, width, width), header, rows)}


def side_by_side(d: int, options: list[tuple[str, object]], bias: bool, _: Callable[[str], str] = str,
                 notation: Notation = NIELSEN) -> str:
    """Rows: output activations, J, every delta, gradient and updated parameter of step 1, J'.

    ``options`` pairs each option's name with its verified solution."""
    steps = [other.solution.steps[0] for _option, other in options]
    rows = _comparison_rows(steps[0], bias)
    header = [_("quantity")] + [rf"\texttt{{{escape(option)}}}" for option, _other in options]
    body = [[_math(_row_name(name, steps[0], notation))] + [_math(number(pick(s), d, False)) for s in steps]
            for name, pick in rows]
    return tabular("l" + "r" * len(options), header, body)


def _row_name(name: QuantityName, first, notation: Notation) -> str:
    several = len(first.batch) > 1 and name.example is not None
    return notation.latex(name, first.batch[name.example] + 1 if several else None, inline=True)


def _comparison_rows(first, bias: bool) -> list[tuple[QuantityName, object]]:
    """Each compared quantity and how to read it off a step."""
    L, batch = len(first.layers), range(len(first.batch))
    rows = [(QuantityName("a", L, (j,), r), lambda s, r=r, j=j: s.layers[-1].a[r, j])
            for r in batch for j in range(first.layers[-1].a.shape[1])]
    rows.append((QuantityName("J"), lambda s: s.loss))
    if first.layers[0].delta is None:
        return rows
    rows += [(QuantityName("delta", l, (j,), r), lambda s, l=l, r=r, j=j: s.layers[l - 1].delta[r, j])
             for l in range(L, 0, -1) for r in batch for j in range(first.layers[l - 1].delta.shape[1])]
    for weight, bias_kind, attribute in (("dW", "db", "grad_"), ("W", "b", "")):
        for l in range(1, L + 1):
            for j in range(first.layers[l - 1].W.shape[0]):
                rows += [(QuantityName(weight, l, (j, k)),
                          lambda s, l=l, j=j, k=k, a=attribute: getattr(s.layers[l - 1], a + "W")[j, k])
                         for k in range(first.layers[l - 1].W.shape[1])]
                if bias:
                    rows.append((QuantityName(bias_kind, l, (j,)),
                                 lambda s, l=l, j=j, a=attribute: getattr(s.layers[l - 1], a + "b")[j]))
    rows.append((QuantityName("L_after"), lambda s: s.loss_after))
    return rows
