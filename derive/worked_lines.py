"""Stage 2, the worked lines of one step: symbol, formula, formula with the numbers, result.

Each line is built once as a small tree (:mod:`derive.tree`) whose symbols are spelled by the
notation (:mod:`derive.notation`) and whose derived parts are the derivation's own SymPy
expressions; the LaTeX and text printers (:mod:`derive.printing`) print it for the sheet and
for the terminal. A line knows which quantity it is (a :class:`~derive.notation.QuantityName`)
and which section of a sheet it answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import tree
from .derivation import A, Z, Derivation
from .notation import NIELSEN, Notation, QuantityName
from .printing import text
from .registry import ACTIVATIONS, LOSSES, Activation


@dataclass(frozen=True)
class Quantity:
    """One worked quantity: which it is, the sheet section it answers, its symbol, the general
    formula, the formula with the numbers (trees, printed by :mod:`derive.printing`) and its
    value at full precision."""

    name: QuantityName
    section: str  # a spec.QUANTITIES entry
    symbol: tree.Name
    formula: tree.Node
    substituted: tree.Node
    value: float
    example: int | None = None  # 0-based example of the data, for per-example quantities


def function_name(activation: Activation) -> tuple[str, str]:
    """An activation's LaTeX and text names, as its registry entry spells them."""
    return activation.latex, activation.text


class LineBuilder:
    """Builds the :class:`Quantity` lines of one step (``batch``: its examples' indices)."""

    def __init__(self, derivation: Derivation, decimals: int, batch: tuple[int, ...],
                 notation: Notation = NIELSEN) -> None:
        self.derivation, self.decimals, self.batch, self.notation = derivation, decimals, batch, notation

    # ---- building blocks

    def n(self, value: float, bracket: bool = True) -> tree.Num:
        return tree.Num(float(value), self.decimals, bracket)

    def name(self, block: str, *args) -> tree.Name:
        """A symbol spelled by the notation's building block ``block`` (``z``, ``w``, ``d``...)."""
        return self.notation.spelled((block, args), lambda: _name(getattr(self.notation, block), *args))

    def quantity(self, name: QuantityName, section: str, formula: tree.Node, substituted: tree.Node,
                 value: float) -> Quantity:
        several = len(self.batch) > 1 and name.example is not None
        shown = self.batch[name.example] + 1 if several else None
        symbol = _symbol(self.notation, name, shown)
        example = None if name.example is None else self.batch[name.example]
        return Quantity(name, section, symbol, formula, substituted, float(value), example)

    def mean(self, body: tree.Node, m: int) -> tree.Node:
        """(1/m)(body): a batch mean as the sheet writes it."""
        return tree.Times((tree.Over(self.n(1), self.n(m)), tree.Paren(body)), "none")

    # ---- the forward pass

    def forward_layer(self, l: int, activation_name: str, W, b, A_prev, Zl, Al) -> list[Quantity]:
        lines = []
        activation = ACTIVATIONS[activation_name]
        for r in range(Zl.shape[0]):
            lines += [self.pre_activation(l, r, j, W, b, A_prev, Zl) for j in range(Zl.shape[1])]
            for j in range(Zl.shape[1]):
                if activation.elementwise:
                    formula, substituted = self.elementwise(activation, l, j, Zl[r, j])
                else:
                    formula, substituted = self.coupled(activation, l, j, Zl[r])
                lines.append(self.quantity(QuantityName("a", l, (j,), r), "forward", formula, substituted, Al[r, j]))
        return lines

    def pre_activation(self, l: int, r: int, j: int, W, b, A_prev, Zl) -> Quantity:
        inputs = range(W.shape[1])
        terms = [tree.Times((self.name("w", l, j + 1, k + 1), self.name("node", l - 1, k + 1)), "space") for k in inputs]
        numbers = [tree.Times((self.n(W[j, k]), self.n(A_prev[r, k]))) for k in inputs]
        formula = tree.Plus((*terms, self.name("b", l, j + 1)))
        substituted = tree.Plus((*numbers, self.n(b[j])))
        return self.quantity(QuantityName("z", l, (j,), r), "forward", formula, substituted, Zl[r, j])

    def elementwise(self, activation: Activation, l: int, j: int, z: float) -> tuple[tree.Node, tree.Node]:
        tex, plain = function_name(activation)
        return (tree.Apply(tex, plain, (self.name("z", l, j + 1),)),
                tree.Apply(tex, plain, (self.n(z, bracket=False),)))

    def coupled(self, activation: Activation, l: int, j: int, z_row) -> tuple[tree.Node, tree.Node]:
        """An activation of the whole layer (softmax): its SymPy form, the layer's sum written
        as a sum over k in the formula and term by term with the numbers."""
        zs = sp.symbols(f"z_1:{len(z_row) + 1}")
        form = activation.sympy(zs)[j]
        names = {s: self.name("z", l, k + 1) for k, s in enumerate(zs)}
        summed = self.name("z_summed", l)
        numbers = {s: self.n(v, bracket=False) for s, v in zip(zs, z_row)}
        return from_sympy(form, names, zs, (self.notation.neuron_index, summed)), from_sympy(form, numbers, zs)

    # ---- the loss

    def losses(self, loss_name: str, per_example, penalty: float, l2: float, cost: float, A_out, Y) -> list[Quantity]:
        loss = LOSSES[loss_name]
        rule_a = sp.symbols(f"a_1:{A_out.shape[1] + 1}")
        rule_y = sp.symbols(f"y_1:{A_out.shape[1] + 1}")
        expr = loss.sympy(rule_a, rule_y)
        general = tree.Name(loss.latex, text(expr))  # the registry's written form
        lines = []
        for r in range(A_out.shape[0]):
            numbers = {**dict(zip(rule_a, A_out[r])), **dict(zip(rule_y, Y[r]))}
            substituted = tree.formula(expr, {s: self.n(v) for s, v in numbers.items()})
            lines.append(self.quantity(QuantityName("L", 0, (), r), "loss", general, substituted, per_example[r]))
        m = len(per_example)
        if m > 1 or l2 > 0:
            lines.append(self.cost(per_example, penalty, l2, cost))
        return lines

    def cost(self, per_example, penalty: float, l2: float, cost: float) -> Quantity:
        substituted: tree.Node = self.mean(tree.Plus(tuple(self.n(v) for v in per_example)), len(per_example))
        if l2 > 0:
            substituted = tree.Plus((substituted, self.n(penalty)))
        return self.quantity(QuantityName("J"), "loss", cost_formula(l2 > 0, self.notation), substituted, cost)

    # ---- the deltas

    def output_delta(self, L: int, delta, A_out, Y, Z_out) -> list[Quantity]:
        rule = self.derivation.output
        outputs = range(delta.shape[1])
        spelled = {**{rule.a[k]: self.name("a", L, k + 1) for k in outputs},
                   **{rule.y[k]: self.name("y", k + 1) for k in outputs},
                   **{rule.z[k]: self.name("z", L, k + 1) for k in outputs}}
        lines = []
        for r in range(delta.shape[0]):
            values = {**dict(zip(rule.a, A_out[r])), **dict(zip(rule.y, Y[r])), **dict(zip(rule.z, Z_out[r]))}
            numbers = {s: self.n(v) for s, v in values.items()}
            for j in outputs:
                formula = tree.formula(rule.delta[j], spelled)
                substituted = tree.formula(rule.delta[j], numbers)
                lines.append(self.quantity(QuantityName("delta", L, (j,), r), "output_delta", formula, substituted,
                                           delta[r, j]))
        return lines

    def hidden_delta(self, l: int, W_next, delta_next, fprime, delta, A_l, Z_l) -> list[Quantity]:
        derivative = self.derivation.activations[l - 1].derivative
        lines = []
        for r in range(delta.shape[0]):
            for j in range(delta.shape[1]):
                following = range(W_next.shape[0])
                terms = [tree.Times((self.name("w", l + 1, k + 1, j + 1), self.name("d", l + 1, k + 1)), "space")
                         for k in following]
                numbers = [tree.Times((self.n(W_next[k, j]), self.n(delta_next[r, k]))) for k in following]
                names = {A: self.name("a", l, j + 1), Z: self.name("z", l, j + 1)}
                general = _wrapped(derivative, names)
                if isinstance(derivative, sp.Piecewise):  # ReLU-like: show the branch taken
                    shown: tree.Node = self.n(fprime[r, j])
                else:
                    shown = _wrapped(derivative, {A: self.n(A_l[r, j]), Z: self.n(Z_l[r, j])}, numeric=True)
                formula = tree.Times((tree.Paren(tree.Plus(tuple(terms))), general))
                substituted = tree.Times((tree.Paren(tree.Plus(tuple(numbers))), shown))
                lines.append(self.quantity(QuantityName("delta", l, (j,), r), "hidden_delta", formula, substituted,
                                           delta[r, j]))
        return lines

    # ---- gradients and the update

    def gradients(self, l: int, W, delta, a_prev, grad_W, grad_b, l2: float, bias: bool) -> list[Quantity]:
        lines = []
        m = delta.shape[0]
        for j in range(W.shape[0]):
            for k in range(W.shape[1]):
                lines.append(self.weight_gradient(l, j, k, W, delta, a_prev, grad_W, l2))
            if bias:
                values = tuple(self.n(delta[r, j]) for r in range(m))
                formula: tree.Node = self.name("d", l, j + 1)
                substituted: tree.Node = values[0]
                if m > 1:
                    formula = mean_formula(self.name("d_of_example", l, j + 1), self.notation)
                    substituted = self.mean(tree.Plus(values), m)
                lines.append(self.quantity(QuantityName("db", l, (j,)), "gradients", formula, substituted, grad_b[j]))
        return lines

    def weight_gradient(self, l: int, j: int, k: int, W, delta, a_prev, grad_W, l2: float) -> Quantity:
        m = delta.shape[0]
        pairs = tree.Plus(tuple(tree.Times((self.n(delta[r, j]), self.n(a_prev[r, k]))) for r in range(m)))
        formula: tree.Node = tree.Times((self.name("d", l, j + 1), self.name("node", l - 1, k + 1)), "space")
        substituted: tree.Node = pairs
        if m > 1:
            each = tree.Times((self.name("d_of_example", l, j + 1), self.name("node_of_example", l - 1, k + 1)), "space")
            formula, substituted = mean_formula(each, self.notation), self.mean(pairs, m)
        if l2 > 0:
            formula = tree.Plus((formula, tree.Times((tree.Over(self.name("lam"), self.name("m")),
                                                      self.name("w", l, j + 1, k + 1)), "space")))
            substituted = tree.Plus((substituted, tree.Times((tree.Over(self.n(l2), self.n(m)), self.n(W[j, k])))))
        return self.quantity(QuantityName("dW", l, (j, k)), "gradients", formula, substituted, grad_W[j, k])

    def updates(self, l: int, W, b, grad_W, grad_b, new_W, new_b, eta: float, bias: bool) -> list[Quantity]:
        lines = []
        for j in range(W.shape[0]):
            for k in range(W.shape[1]):
                lines.append(self.update(QuantityName("W", l, (j, k)), self.name("w", l, j + 1, k + 1),
                                         W[j, k], eta, grad_W[j, k], new_W[j, k]))
            if bias:
                lines.append(self.update(QuantityName("b", l, (j,)), self.name("b", l, j + 1), b[j], eta, grad_b[j], new_b[j]))
        return lines

    def update(self, name: QuantityName, parameter: tree.Name, old: float, eta: float, gradient: float,
               new: float) -> Quantity:
        grad = QuantityName("dW" if name.kind == "W" else "db", name.layer, name.index)
        dJ = _symbol(self.notation, grad, None)
        formula = tree.Minus(parameter, tree.Times((self.name("eta"), dJ), "space"))
        substituted = tree.Minus(self.n(old), tree.Times((self.n(eta), self.n(gradient))))
        return self.quantity(name, "updates", formula, substituted, new)

    def loss_after(self, value: float) -> Quantity:
        spelling = self.notation.cost_after_formula
        return self.quantity(QuantityName("L_after"), "loss_after", tree.Name(spelling.latex, spelling.text),
                             tree.Words("forward pass with the updated weights"), value)


def _name(spell, *args) -> tree.Name:
    """A symbol in both spellings."""
    return tree.Name(spell(*args, form="latex"), spell(*args, form="text"))


def _symbol(notation: Notation, name: QuantityName, example: int | None) -> tree.Name:
    return notation.spelled(("symbol", name, example),
                            lambda: tree.Name(notation.latex(name, example), notation.text(name, example)))


def mean_formula(body: tree.Node, notation: Notation = NIELSEN) -> tree.Node:
    """(1/m) sum_i body: the general form of a batch mean."""
    over_m = tree.Over(tree.Name("1", "1"), _name(notation.m))
    return tree.Times((over_m, tree.SumOver(notation.example_index, body)), "none")


def cost_formula(l2: bool, notation: Notation = NIELSEN) -> tree.Node:
    """J = (1/m) sum_i L[i] (+ lambda/(2m) sum W^2): the batch cost in general."""
    formula: tree.Node = mean_formula(_name(notation.loss_of_example), notation)
    if not l2:
        return formula
    two_m = tree.Times((tree.Name("2", "2"), _name(notation.m)), "none")
    weights = tree.SumOver("", tree.Power(tree.Name(notation.all_weights.latex, notation.all_weights.text), 2))
    return tree.Plus((formula, tree.Times((tree.Over(_name(notation.lam), two_m), weights), "none")))


def _wrapped(expr: sp.Expr, names: dict, numeric: bool = False) -> tree.Node:
    """A derived factor, in brackets unless it is one number (or, with numbers, one symbol)."""
    leaf = tree.formula(expr, names, "hand")
    if expr.is_Number or (numeric and expr.is_Symbol):
        return leaf
    return tree.Paren(leaf, big=True)


def from_sympy(expr: sp.Expr, names: dict, layer: tuple, summed: tuple | None = None) -> tree.Node:
    """A tree for an activation's SymPy form: quotients, sums, exponentials and the layer's
    symbols (``names``). With ``summed`` (running index, its symbol), a sum over the whole layer
    ``layer`` is written as one sum over that index."""
    def walk(e: sp.Expr, top: bool = False) -> tree.Node:
        if e in names:
            return names[e]
        if isinstance(e, sp.exp):
            return tree.Exp(walk(e.args[0]))
        if e.is_Add:
            terms = sorted(e.args, key=lambda t: min((layer.index(s) for s in t.free_symbols & set(layer)), default=-1))
            if summed is not None and _over_layer(terms, layer):
                return tree.SumOver(summed[0], from_sympy(terms[0], {layer[0]: summed[1]}, layer))
            return tree.Plus(tuple(walk(t) for t in terms)) if top else tree.Paren(tree.Plus(tuple(walk(t) for t in terms)))
        if e.is_Mul:
            top_part, bottom_part = sp.fraction(e)
            if bottom_part != 1:
                return tree.Over(walk(top_part), walk(bottom_part), inline=True)
        raise ValueError(f"cannot write {e} as a worked line")

    return walk(expr, top=True)


def _over_layer(terms, layer) -> bool:
    """Whether ``terms`` are one expression of each of the layer's symbols in turn."""
    return len(terms) == len(layer) > 1 and all(
        t.free_symbols == {s} and t.xreplace({s: layer[0]}) == terms[0] for t, s in zip(terms, layer))
