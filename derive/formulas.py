"""The derived general formulas, as finished text and LaTeX (from a :class:`Derivation`).

Every formula shown here is printed from an expression SymPy derived; only the surrounding
notation (delta, W, the layer superscripts) is fixed text.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import tree
from .derivation import A, Z, Derivation
from .notation import NIELSEN, Notation
from .printing import latex, text
from .registry import ACTIVATIONS, LOSSES
from .worked_lines import cost_formula, function_name, mean_formula



@dataclass(frozen=True)
class Formula:
    """One displayed formula: what it is, in plain text and in LaTeX."""

    title: str
    text: str
    latex: str


def formulas(derivation: Derivation, notation: Notation = NIELSEN) -> tuple[Formula, ...]:
    """The formulas a student needs for this network, in the order they are used, in ``notation``."""
    out = derivation.output
    loss = LOSSES[derivation.network.loss]
    found = [Formula(f"Loss ({loss.description})", f"L = {text(out.loss_expr)}", f"L = {loss.latex}")]
    found += _activation_derivatives(derivation)
    found += _delta_rules(derivation, notation)
    found += _general_rules(derivation, notation)
    return tuple(found)


def _activation_derivatives(derivation: Derivation) -> list[Formula]:
    """f'(z) of each elementwise activation of the network, and f' in terms of a where SymPy found it."""
    found, seen = [], set()
    for name, rule in zip(derivation.network.activations, derivation.activations):
        activation = ACTIVATIONS[name]
        if name in seen or not activation.elementwise or not activation.differentiable:
            continue
        seen.add(name)
        f_tex, f_text = function_name(activation)
        names = {A: "a", Z: "z"}
        tex = rf"{f_tex}'(z) = {latex(rule.derivative_z, names)}"
        plain = f"{f_text}'(z) = {text(rule.derivative_z)}"
        if rule.derivative_a is not None and rule.derivative_a != rule.derivative_z:
            tex += rf" = {latex(rule.derivative_a, names)} \quad (a = {f_tex}(z))"
            plain += f" = {text(rule.derivative_a)}   (a = {f_text}(z))"
        found.append(Formula(f"Derivative of {name} (SymPy)", plain, tex))
    return found


def _both(spell, *args) -> tuple[str, str]:
    """A notation building block's LaTeX and text spellings."""
    return spell(*args, form="latex"), spell(*args, form="text")


def _delta_rules(derivation: Derivation, N: Notation) -> list[Formula]:
    """The output delta by the delta rule and as SymPy simplified it, and the hidden delta."""
    L, out = derivation.network.depth, derivation.output
    names = {**{s: N.unlayered("a", i + 1) for i, s in enumerate(out.a)}, **{s: N.y(i + 1) for i, s in enumerate(out.y)},
             **{s: N.unlayered("z", i + 1) for i, s in enumerate(out.z)}}
    delta, a, z = _both(N.vector, "delta", L), _both(N.vector, "a", L), _both(N.vector, "z", L)
    first, dL_da = _both(N.d_short, L, 1), (N.d_dx("L", a[0]), N.d_dx("L", a[1], form="text"))
    assumption_tex = (r"\quad (" + ", ".join(out.assumptions) + ")") if out.assumptions else ""
    found = [Formula(
        "Output-layer delta (delta rule)",
        f"{delta[1]} = {dL_da[1]} (.) f'({z[1]});  {first[1]} = {text(out.delta_rule[0])}",
        rf"{delta[0]} = {dL_da[0]} \odot f'({z[0]}),\quad {first[0]} = {latex(out.delta_rule[0], names)}",
    ), Formula(
        f"Output-layer delta, simplified by SymPy ({out.activation} + {out.loss})",
        f"{first[1]} = {text(out.delta[0])}" + (f"   assuming {', '.join(out.assumptions)}" if out.assumptions else ""),
        rf"{first[0]} = {latex(out.delta[0], names)}{assumption_tex}",
    )]
    if L > 1:
        delta, following = _both(N.vector, "delta", "l"), _both(N.vector, "delta", "l+1")
        W, z = _both(N.W, "l+1"), _both(N.vector, "z", "l")
        found.append(Formula(
            "Hidden-layer delta",
            f"{delta[1]} = ({W[1]})^T {following[1]} (.) f'({z[1]})",
            rf"{delta[0]} = \bigl({W[0]}\bigr)^T {following[0]} \odot f'\bigl({z[0]}\bigr)",
        ))
    return found


def _general_rules(derivation: Derivation, N: Notation) -> list[Formula]:
    """The gradients of one example, of a batch with L2, and the update."""
    W, b, delta, a_prev = _both(N.W, "l"), _both(N.b_vector, "l"), _both(N.vector, "delta", "l"), _both(N.vector, "a", "l-1")
    dL_dW, dL_db = [(N.d_dx("L", p[0]), N.d_dx("L", p[1], form="text")) for p in (W, b)]
    dJ_dW, dJ_db = [(N.d_dx("J", p[0]), N.d_dx("J", p[1], form="text")) for p in (W, b)]
    reg = derivation.regularisation.subs(sp.Symbol("w"), sp.Symbol("W"))
    each = tree.Name(rf"{N.example_vector('delta', 'l')} \bigl({N.example_vector('a', 'l-1')}\bigr)^T",
                     f"{N.example_vector('delta', 'l', 'text')} {N.example_vector('a', 'l-1', 'text')}^T")
    eta, all_W, all_b = _both(N.eta), N.all_weights.text, N.all_biases.text
    return [Formula(
        "Gradients of one example",
        f"{dL_dW[1]} = {delta[1]} ({a_prev[1]})^T,   {dL_db[1]} = {delta[1]}",
        rf"{dL_dW[0]} = {delta[0]} \bigl({a_prev[0]}\bigr)^T,\quad {dL_db[0]} = {delta[0]}",
    ), Formula(
        "Batch of m examples, L2 on weights only",
        f"J = (1/m) sum_i L[i] + lambda/(2m) sum W^2;  dJ/dW = (1/m) sum_i {text(each)} + {text(reg)}",
        rf"J = {latex(cost_formula(True))},\quad {dJ_dW[0]} = {latex(mean_formula(each))} + "
        + latex(reg, {sp.Symbol("W"): W[0]}),
    ), Formula(
        "Gradient-descent update",
        f"{all_W} <- {all_W} - {eta[1]} {N.d_dx('J', all_W, 'text')},   "
        f"{all_b} <- {all_b} - {eta[1]} {N.d_dx('J', all_b, 'text')}",
        rf"{W[0]} \leftarrow {W[0]} - {eta[0]} {dJ_dW[0]},\quad {b[0]} \leftarrow {b[0]} - {eta[0]} {dJ_db[0]}",
    )]
