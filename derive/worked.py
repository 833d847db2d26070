"""Stage 2, numeric substitution: the problem's numbers put into every derived formula.

Numbers are computed by evaluating the SymPy expressions of the derivation (compiled once with
``lambdify``) in float64 and kept at full precision; rounding happens only in the strings that
show a formula with its numbers. Each quantity is recorded as a :class:`Quantity`: the formula,
the formula with numbers substituted, and the result, in the order a student computes them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from .chain import ChainRule, chain_rules
from . import numeric
from .derivation import A, Z, Derivation
from .numeric import stable_form
from .printing import latex, number, text
from .registry import ACTIVATIONS, LOSSES
from .spec import Network, Problem


#: Which kinds of worked quantity answer each section of a sheet (spec.QUANTITIES), in order.
SECTION_KINDS: dict[str, tuple[str, ...]] = {
    "forward": ("z", "a"),
    "loss": ("loss_example", "loss"),
    "output_delta": ("output_delta",),
    "hidden_delta": ("hidden_delta",),
    "gradients": ("grad_W", "grad_b"),
    "updates": ("W", "b"),
    "loss_after": ("loss_after",),
}


@dataclass(frozen=True)
class Quantity:
    """One worked quantity: symbol, general formula, formula with numbers, result."""

    kind: str  # z, a, loss, output_delta, hidden_delta, grad_W, grad_b, W, b, loss_after
    layer: int | None
    symbol: str  # LaTeX
    formula: str  # LaTeX, general
    substituted: str  # LaTeX with the numbers
    text: str  # the whole line in plain text, for the terminal
    value: float
    example: int | None = None  # 0-based example of the data, for per-example quantities


@dataclass(frozen=True)
class LayerValues:
    """One non-input layer in one step. Rows of z, a, delta are the batch's examples."""

    layer: int
    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray | None
    grad_W: np.ndarray | None
    grad_b: np.ndarray | None
    W: np.ndarray  # after the update
    b: np.ndarray  # after the update


@dataclass(frozen=True)
class Step:
    """One SGD step: the batch, the loss before and after, every layer, every worked line."""

    index: int
    batch: tuple[int, ...]
    loss: float  # objective J before the update (data loss + L2 term)
    data_loss: float
    loss_after: float | None
    layers: tuple[LayerValues, ...]
    worked: tuple[Quantity, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Solution:
    """The worked solution of a problem: not yet verified."""

    problem: Problem
    derivation: Derivation
    steps: tuple[Step, ...]
    chain_rules: tuple[ChainRule, ...] = ()  # the first example of the first step, term by term


def substitute(problem: Problem, derivation: Derivation) -> Solution:
    """Work every step of ``problem`` with the formulas of ``derivation``."""
    rules = _NumericRules.compile(problem, derivation)
    weights = [np.array(W, dtype=float) for W in problem.weights]
    biases = [np.array(b, dtype=float) for b in problem.biases]
    X, Y = np.array(problem.inputs, dtype=float), np.array(problem.targets, dtype=float)
    training = problem.training
    if training.steps == 0:
        batches: tuple[tuple[int, ...], ...] = (tuple(range(problem.examples)),)
    else:
        batches = training.batch_indices(problem.examples)
    steps = []
    for index, batch in enumerate(batches):
        step = _work_step(problem, rules, index, batch, weights, biases, X[list(batch)], Y[list(batch)])
        steps.append(step)
        weights = [layer.W for layer in step.layers]
        biases = [layer.b for layer in step.layers]
    return Solution(problem, derivation, tuple(steps), _first_chain_rules(problem, derivation, steps[0]))


def _first_chain_rules(problem: Problem, derivation: Derivation, step: "Step") -> tuple[ChainRule, ...]:
    if step.layers[0].delta is None:
        return ()  # forward pass only: nothing to differentiate
    layers = step.layers
    return chain_rules(problem, derivation, [l.z[0] for l in layers], [l.a[0] for l in layers],
                       [l.delta[0] for l in layers], step.batch[0])


@dataclass(frozen=True)
class _NumericRules:
    """The derivation's expressions compiled to NumPy functions (the substitution itself)."""

    forward: tuple[Callable, ...]  # per layer: Z (m, n) -> A (m, n)
    derivative: tuple[Callable, ...]  # per layer: (Z, A) -> f'(z) elementwise
    output_delta: Callable  # (A, Y, Z) -> delta (m, n)
    loss: Callable  # (A, Y, Z) -> per-example loss (m,)
    derivation: Derivation

    @staticmethod
    def compile(problem: Problem, derivation: Derivation) -> "_NumericRules":
        """Compiled once per (network, derivation): the variants of an exam share them."""
        return _compile_rules(problem.network, derivation)


@functools.lru_cache(maxsize=16)
def _compile_rules(network: Network, derivation: Derivation) -> _NumericRules:
    """The derivation's expressions as NumPy functions (cached: lambdify is slow)."""
    forward, derivative = [], []
    for name, size, rule in zip(network.activations, network.layers[1:], derivation.activations):
        z = sp.symbols(f"z_1:{size + 1}")
        forms = ACTIVATIONS[name].sympy(z)
        forward.append(numeric.finite_or_stable(_columns(z, forms), _columns(z, [stable_form(f) for f in forms])))
        if ACTIVATIONS[name].elementwise and ACTIVATIONS[name].differentiable:
            fprime = numeric.lambdify((Z, A), rule.derivative)
            derivative.append(lambda Zv, Av, f=fprime: np.broadcast_to(f(Zv, Av), Zv.shape).astype(float))
        else:
            derivative.append(None)
    out = derivation.output
    delta = _columns((*out.a, *out.y, *out.z), out.delta)
    return _NumericRules(tuple(forward), tuple(derivative), delta, numeric.compile_loss(network, out), derivation)


def _columns(symbols, exprs) -> Callable:
    """Compile expressions of per-neuron symbols into a function of (m, n) matrices."""
    compiled = numeric.lambdify(symbols, list(exprs))

    def apply(*matrices: np.ndarray) -> np.ndarray:
        columns = [col for matrix in matrices for col in matrix.T]
        rows = matrices[0].shape[0]
        return np.column_stack([np.broadcast_to(c, (rows,)).astype(float) for c in compiled(*columns)])

    return apply


# ----------------------------------------------------------------------------------------------
# One step


def _work_step(problem, rules, index, batch, weights, biases, X, Y) -> Step:
    network, training = problem.network, problem.training
    m = len(batch)
    lines: list[Quantity] = []
    notes: list[str] = []
    show = _Show(rules.derivation, problem.answers.decimals, batch)
    # Forward pass.
    activations, pre_activations = [X], []
    for l, (W, b) in enumerate(zip(weights, biases), start=1):
        Zl = activations[-1] @ W.T + b
        Al = rules.forward[l - 1](Zl)
        pre_activations.append(Zl)
        activations.append(Al)
        lines += show.forward_layer(l, network.activations[l - 1], W, b, activations[-2], Zl, Al)
        notes += _kink_notes(l, network.activations[l - 1], Zl, batch)
    per_example = rules.loss(activations[-1], Y, pre_activations[-1])
    data_loss = float(per_example.mean())
    penalty = training.l2 / (2 * m) * sum(float((W**2).sum()) for W in weights)
    loss = data_loss + penalty
    lines += show.loss(network.loss, per_example, data_loss, penalty, training.l2, m, loss, activations[-1], Y)
    if training.steps == 0:
        layers = tuple(
            LayerValues(l + 1, pre_activations[l], activations[l + 1], None, None, None, weights[l], biases[l])
            for l in range(network.depth)
        )
        return Step(index, batch, loss, data_loss, None, layers, tuple(lines), tuple(notes))
    # Backward pass: output delta from the derived rule, then the hidden-layer rule.
    deltas = [None] * network.depth
    deltas[-1] = rules.output_delta(activations[-1], Y, pre_activations[-1])
    lines += show.output_delta(problem, deltas[-1], activations[-1], Y, pre_activations[-1])
    for l in range(network.depth - 1, 0, -1):
        fprime = rules.derivative[l - 1](pre_activations[l - 1], activations[l])
        deltas[l - 1] = (deltas[l] @ weights[l]) * fprime
        lines += show.hidden_delta(problem, l, weights[l], deltas[l], fprime, deltas[l - 1],
                                   activations[l], pre_activations[l - 1])
    # Gradients (batch mean, plus the L2 term on weights only) and the update.
    layers = []
    for l in range(1, network.depth + 1):
        W, b, delta, a_prev = weights[l - 1], biases[l - 1], deltas[l - 1], activations[l - 1]
        grad_W = delta.T @ a_prev / m + training.l2 / m * W
        grad_b = delta.mean(axis=0) if network.bias else np.zeros_like(b)
        new_W = W - training.learning_rate * grad_W
        new_b = b - training.learning_rate * grad_b
        lines += show.gradients(l, W, delta, a_prev, grad_W, grad_b, training, network.bias)
        lines += show.updates(l, W, b, grad_W, grad_b, new_W, new_b, training.learning_rate, network.bias)
        layers.append([l, pre_activations[l - 1], activations[l], delta, grad_W, grad_b, new_W, new_b])
    new_weights = [layer[6] for layer in layers]
    new_biases = [layer[7] for layer in layers]
    after_out = X
    for l, (W, b) in enumerate(zip(new_weights, new_biases), start=1):
        after_z = after_out @ W.T + b
        after_out = rules.forward[l - 1](after_z)
    loss_after = float(rules.loss(after_out, Y, after_z).mean()) + training.l2 / (2 * m) * sum(
        float((W**2).sum()) for W in new_weights
    )
    lines.append(show.loss_after(loss_after))
    frozen = tuple(LayerValues(*(_readonly(v) for v in layer)) for layer in layers)
    return Step(index, batch, loss, data_loss, loss_after, frozen, tuple(lines), tuple(notes))


def _readonly(value):
    if isinstance(value, np.ndarray):
        value = value.copy()
        value.setflags(write=False)
    return value


def _kink_notes(layer: int, activation_name: str, Zl: np.ndarray, batch) -> list[str]:
    activation = ACTIVATIONS[activation_name]
    if activation.kink is None:
        return []
    notes = []
    for row, col in zip(*np.nonzero(Zl == activation.kink)):
        notes.append(
            f"z^({layer})_{col + 1} = {activation.kink:g} exactly for example {batch[row] + 1}: "
            f"{activation.kink_convention}."
        )
    return notes


# ----------------------------------------------------------------------------------------------
# The worked lines: formula, formula with numbers, result.


class _Show:
    """Builds the :class:`Quantity` lines of one step (names, formulas, substituted numbers)."""

    def __init__(self, derivation: Derivation, decimals: int, batch: tuple[int, ...]) -> None:
        self.derivation = derivation
        self.decimals = decimals
        self.batch = batch

    def n(self, value: float) -> str:
        return number(value, self.decimals)

    def _ex(self, row: int) -> str:
        """Superscript naming the example, only when the batch has several."""
        return "" if len(self.batch) == 1 else f"[{self.batch[row] + 1}]"

    def q(self, kind, layer, symbol, formula, substituted, value, plain_symbol=None, plain_sub=None,
          row: int | None = None) -> Quantity:
        plain_symbol = plain_symbol or _plain(symbol)
        plain_sub = plain_sub or _plain(substituted)
        line = f"{plain_symbol} = {plain_sub} = {number(value, self.decimals, False)}"
        example = None if row is None else self.batch[row]
        return Quantity(kind, layer, symbol, formula, substituted, line, float(value), example)

    def forward_layer(self, l, activation_name, W, b, A_prev, Zl, Al) -> list[Quantity]:
        lines = []
        prev = "x" if l == 1 else f"a^{{({l - 1})}}"
        fname = ACTIVATIONS[activation_name].latex
        for r in range(Zl.shape[0]):
            ex = self._ex(r)
            for j in range(Zl.shape[1]):
                terms = [f"w^{{({l})}}_{{{j + 1}{k + 1}}} {prev}_{{{k + 1}}}" for k in range(W.shape[1])]
                numbers = [f"{self.n(W[j, k])} \\cdot {self.n(A_prev[r, k])}" for k in range(W.shape[1])]
                formula = " + ".join(terms) + f" + b^{{({l})}}_{{{j + 1}}}"
                substituted = " + ".join(numbers) + f" + {self.n(b[j])}"
                lines.append(self.q("z", l, f"z^{{({l})}}_{{{j + 1}}}{ex}", formula, substituted, Zl[r, j], row=r))
            for j in range(Zl.shape[1]):
                if activation_name == "softmax":
                    formula = rf"e^{{z^{{({l})}}_{{{j + 1}}}}} / \sum_k e^{{z^{{({l})}}_k}}"
                    power = lambda k: f"e^{{{number(Zl[r, k], self.decimals, False)}}}"  # noqa: E731
                    total = " + ".join(power(k) for k in range(Zl.shape[1]))
                    substituted = rf"{power(j)} / ({total})"
                else:
                    formula = rf"{fname}(z^{{({l})}}_{{{j + 1}}})"
                    substituted = rf"{fname}({number(Zl[r, j], self.decimals, False)})"
                lines.append(self.q("a", l, f"a^{{({l})}}_{{{j + 1}}}{ex}", formula, substituted, Al[r, j], row=r))
        return lines

    def loss(self, loss_name, per_example, data_loss, penalty, l2, m, loss, A_out, Y) -> list[Quantity]:
        out = LOSSES[loss_name]
        lines = []
        rule_a = sp.symbols(f"a_1:{A_out.shape[1] + 1}")
        rule_y = sp.symbols(f"y_1:{A_out.shape[1] + 1}")
        expr = out.sympy(rule_a, rule_y)
        for r in range(A_out.shape[0]):
            names = {**{s: self.n(v) for s, v in zip(rule_a, A_out[r])}, **{s: self.n(v) for s, v in zip(rule_y, Y[r])}}
            lines.append(
                Quantity("loss_example", None, f"L{self._ex(r)}", out.latex, latex(expr, names),
                         f"L{self._ex(r)} = {text(expr, names)} = {number(per_example[r], self.decimals, False)}",
                         float(per_example[r]), self.batch[r])
            )
        if m > 1 or l2 > 0:
            parts = [self.n(v) for v in per_example]
            formula = r"\frac{1}{m}\sum_i L^{[i]}" + (r" + \frac{\lambda}{2m}\sum W^2" if l2 > 0 else "")
            substituted = rf"\frac{{1}}{{{m}}}({' + '.join(parts)})" + (
                rf" + {self.n(penalty)}" if l2 > 0 else ""
            )
            lines.append(self.q("loss", None, "J", formula, substituted, loss))
        return lines

    def output_delta(self, problem, delta, A_out, Y, Z_out) -> list[Quantity]:
        L = problem.network.depth
        rule = self.derivation.output
        lines = []
        for r in range(delta.shape[0]):
            names = {}
            for j in range(delta.shape[1]):
                names[rule.a[j]] = self.n(A_out[r, j])
                names[rule.y[j]] = self.n(Y[r, j])
                names[rule.z[j]] = self.n(Z_out[r, j])
            for j in range(delta.shape[1]):
                symbol_names = {
                    **{rule.a[k]: f"a^{{({L})}}_{{{k + 1}}}" for k in range(delta.shape[1])},
                    **{rule.y[k]: f"y_{{{k + 1}}}" for k in range(delta.shape[1])},
                    **{rule.z[k]: f"z^{{({L})}}_{{{k + 1}}}" for k in range(delta.shape[1])},
                }
                formula = latex(rule.delta[j], symbol_names)
                symbol = rf"\delta^{{({L})}}_{{{j + 1}}}{self._ex(r)}"
                lines.append(
                    Quantity("output_delta", L, symbol, formula, latex(rule.delta[j], names),
                             f"{_plain(symbol)} = {text(rule.delta[j], names)} = {number(delta[r, j], self.decimals, False)}",
                             float(delta[r, j]), self.batch[r])
                )
        return lines

    def hidden_delta(self, problem, l, W_next, delta_next, fprime, delta, A_l, Z_l) -> list[Quantity]:
        rule = self.derivation.activations[l - 1]
        lines = []
        for r in range(delta.shape[0]):
            ex = self._ex(r)
            for j in range(delta.shape[1]):
                terms = [f"w^{{({l + 1})}}_{{{k + 1}{j + 1}}} \\delta^{{({l + 1})}}_{{{k + 1}}}" for k in range(W_next.shape[0])]
                numbers = [f"{self.n(W_next[k, j])} \\cdot {self.n(delta_next[r, k])}" for k in range(W_next.shape[0])]
                names = {A: f"a^{{({l})}}_{{{j + 1}}}", Z: f"z^{{({l})}}_{{{j + 1}}}"}
                values = {A: self.n(A_l[r, j]), Z: self.n(Z_l[r, j])}
                derivative = rule.derivative
                formula = f"({' + '.join(terms)}) \\cdot {_wrap(latex(derivative, names))}"
                substituted = f"({' + '.join(numbers)}) \\cdot {_wrap(latex(derivative, values))}"
                if isinstance(derivative, sp.Piecewise):  # ReLU-like: show the branch taken
                    substituted = f"({' + '.join(numbers)}) \\cdot {self.n(fprime[r, j])}"
                lines.append(self.q("hidden_delta", l, rf"\delta^{{({l})}}_{{{j + 1}}}{ex}", formula, substituted, delta[r, j],
                                    row=r))
        return lines

    def gradients(self, l, W, delta, a_prev, grad_W, grad_b, training, bias) -> list[Quantity]:
        lines = []
        m = delta.shape[0]
        prev = "x" if l == 1 else f"a^{{({l - 1})}}"
        for j in range(W.shape[0]):
            for k in range(W.shape[1]):
                pairs = [f"{self.n(delta[r, j])} \\cdot {self.n(a_prev[r, k])}" for r in range(m)]
                formula = rf"\delta^{{({l})}}_{{{j + 1}}} {prev}_{{{k + 1}}}"
                substituted = " + ".join(pairs)
                if m > 1:
                    prev_i = "x^{[i]}" if l == 1 else f"a^{{({l - 1})[i]}}"
                    formula = rf"\frac{{1}}{{m}}\sum_i \delta^{{({l})[i]}}_{{{j + 1}}} {prev_i}_{{{k + 1}}}"
                    substituted = rf"\frac{{1}}{{{m}}}({substituted})"
                if training.l2 > 0:
                    formula += rf" + \frac{{\lambda}}{{m}} w^{{({l})}}_{{{j + 1}{k + 1}}}"
                    substituted += rf" + \frac{{{self.n(training.l2)}}}{{{m}}} \cdot {self.n(W[j, k])}"
                symbol = rf"\frac{{\partial J}}{{\partial w^{{({l})}}_{{{j + 1}{k + 1}}}}}"
                lines.append(self.q("grad_W", l, symbol, formula, substituted, grad_W[j, k],
                                    plain_symbol=f"dJ/dw({l})_{j + 1}{k + 1}"))
            if bias:
                values = [self.n(delta[r, j]) for r in range(m)]
                formula = rf"\delta^{{({l})}}_{{{j + 1}}}"
                substituted = values[0]
                if m > 1:
                    formula = rf"\frac{{1}}{{m}}\sum_i \delta^{{({l})[i]}}_{{{j + 1}}}"
                    substituted = rf"\frac{{1}}{{{m}}}({' + '.join(values)})"
                symbol = rf"\frac{{\partial J}}{{\partial b^{{({l})}}_{{{j + 1}}}}}"
                lines.append(self.q("grad_b", l, symbol, formula, substituted, grad_b[j],
                                    plain_symbol=f"dJ/db({l})_{j + 1}"))
        return lines

    def updates(self, l, W, b, grad_W, grad_b, new_W, new_b, eta, bias) -> list[Quantity]:
        lines = []
        for j in range(W.shape[0]):
            for k in range(W.shape[1]):
                name = f"w^{{({l})}}_{{{j + 1}{k + 1}}}"
                lines.append(self.q(
                    "W", l, "{" + name + "}'", rf"{name} - \eta \frac{{\partial J}}{{\partial {name}}}",
                    rf"{self.n(W[j, k])} - {self.n(eta)} \cdot {self.n(grad_W[j, k])}", new_W[j, k]))
            if bias:
                name = f"b^{{({l})}}_{{{j + 1}}}"
                lines.append(self.q(
                    "b", l, "{" + name + "}'", rf"{name} - \eta \frac{{\partial J}}{{\partial {name}}}",
                    rf"{self.n(b[j])} - {self.n(eta)} \cdot {self.n(grad_b[j])}", new_b[j]))
        return lines

    def loss_after(self, value: float) -> Quantity:
        return self.q("loss_after", None, "J'", r"J(W', b')", r"\text{forward pass with the updated weights}", value,
                      plain_sub="forward pass with the updated weights")


def _wrap(tex: str) -> str:
    return tex if tex.replace(".", "").replace("-", "").isalnum() else f"\\left({tex}\\right)"


_PLAIN = [
    (r"\left(", "("), (r"\right)", ")"), (r"\cdot", "*"), (r"\delta", "delta"),
    *((activation.latex, activation.text) for activation in ACTIVATIONS.values()),
    (r"\sum_i", "sum_i"), (r"\sum_k", "sum_k"), (r"\eta", "eta"),
    (r"\lambda", "lambda"), ("^{(", "("), (")}_{", ")_"),
]
_FRACTION = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_POWER = re.compile(r"e\^\{([^{}]*)\}")


def _plain(tex: str) -> str:
    """A plain-text spelling of derive's own LaTeX snippets, for the terminal."""
    for old, new in _PLAIN:
        tex = tex.replace(old, new)
    tex = _POWER.sub(r"exp(\1)", tex)
    tex = _FRACTION.sub(lambda m: f"{m[1]}/{m[2]}" if m[2].isalnum() else f"{m[1]}/({m[2]})", tex)
    tex = re.sub(r"(/\w+)\(", r"\1 * (", tex)
    tex = tex.replace("{", "").replace("}", "").replace("\\", "")
    return " ".join(tex.split())
