"""The derived general formulas, as finished text and LaTeX (from a :class:`Derivation`).

Every formula shown here is printed from an expression SymPy derived; only the surrounding
notation (delta, W, the layer superscripts) is fixed text.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .derivation import A, ETA, Z, Derivation
from .printing import latex, text
from .registry import ACTIVATIONS, LOSSES


@dataclass(frozen=True)
class Formula:
    """One displayed formula: what it is, in plain text and in LaTeX."""

    title: str
    text: str
    latex: str


def formulas(derivation: Derivation) -> tuple[Formula, ...]:
    """The formulas a student needs for this network, in the order they are used."""
    net = derivation.network
    L = net.depth
    out = derivation.output
    found: list[Formula] = []
    loss = LOSSES[net.loss]
    found.append(Formula(f"Loss ({loss.description})", f"L = {text(out.loss_expr)}", f"L = {loss.latex}"))
    seen = set()
    for l, (name, rule) in enumerate(zip(net.activations, derivation.activations), start=1):
        activation = ACTIVATIONS[name]
        if name in seen or not activation.elementwise or not activation.differentiable:
            continue
        seen.add(name)
        names = {A: "a", Z: "z"}
        derived_z = latex(rule.derivative_z, names)
        tex = rf"{activation.latex}'(z) = {derived_z}"
        plain = f"{name}'(z) = {text(rule.derivative_z)}"
        if rule.derivative_a is not None and rule.derivative_a != rule.derivative_z:
            tex += rf" = {latex(rule.derivative_a, names)} \quad (a = {activation.latex}(z))"
            plain += f" = {text(rule.derivative_a)}   (a = {name}(z))"
        found.append(Formula(f"Derivative of {name} (SymPy)", plain, tex))
    names = {**{s: f"a_{{{i + 1}}}" for i, s in enumerate(out.a)}, **{s: f"y_{{{i + 1}}}" for i, s in enumerate(out.y)},
             **{s: f"z_{{{i + 1}}}" for i, s in enumerate(out.z)}}
    assumption_tex = (r"\quad (" + ", ".join(out.assumptions) + ")") if out.assumptions else ""
    found.append(Formula(
        "Output-layer delta (delta rule)",
        f"delta({L}) = dL/da({L}) (.) f'(z({L}));  delta({L})_1 = {text(out.delta_rule[0])}",
        rf"\delta^{{({L})}} = \frac{{\partial L}}{{\partial a^{{({L})}}}} \odot f'(z^{{({L})}}),\quad "
        rf"\delta^{{({L})}}_1 = {latex(out.delta_rule[0], names)}",
    ))
    found.append(Formula(
        f"Output-layer delta, simplified by SymPy ({out.activation} + {out.loss})",
        f"delta({L})_1 = {text(out.delta[0])}" + (f"   assuming {', '.join(out.assumptions)}" if out.assumptions else ""),
        rf"\delta^{{({L})}}_1 = {latex(out.delta[0], names)}{assumption_tex}",
    ))
    if L > 1:
        found.append(Formula(
            "Hidden-layer delta",
            "delta(l) = (W(l+1))^T delta(l+1) (.) f'(z(l))",
            r"\delta^{(l)} = \bigl(W^{(l+1)}\bigr)^T \delta^{(l+1)} \odot f'\bigl(z^{(l)}\bigr)",
        ))
    found.append(Formula(
        "Gradients of one example",
        "dL/dW(l) = delta(l) (a(l-1))^T,   dL/db(l) = delta(l)",
        r"\frac{\partial L}{\partial W^{(l)}} = \delta^{(l)} \bigl(a^{(l-1)}\bigr)^T,\quad "
        r"\frac{\partial L}{\partial b^{(l)}} = \delta^{(l)}",
    ))
    reg = derivation.regularisation.subs(sp.Symbol("w"), sp.Symbol("W"))
    reg_tex = latex(reg, {sp.Symbol("W"): "W^{(l)}"})
    found.append(Formula(
        "Batch of m examples, L2 on weights only",
        f"J = (1/m) sum_i L[i] + lambda/(2m) sum W^2;  dJ/dW = (1/m) sum_i delta[i] a[i]^T + {text(reg)}",
        r"J = \frac{1}{m}\sum_i L^{[i]} + \frac{\lambda}{2m}\sum W^2,\quad "
        r"\frac{\partial J}{\partial W^{(l)}} = \frac{1}{m}\sum_i \delta^{(l)[i]} \bigl(a^{(l-1)[i]}\bigr)^T + "
        + reg_tex,
    ))
    found.append(Formula(
        "Gradient-descent update",
        "W <- W - eta dJ/dW,   b <- b - eta dJ/db",
        rf"W^{{(l)}} \leftarrow W^{{(l)}} - {latex(ETA)} \frac{{\partial J}}{{\partial W^{{(l)}}}},\quad "
        rf"b^{{(l)}} \leftarrow b^{{(l)}} - {latex(ETA)} \frac{{\partial J}}{{\partial b^{{(l)}}}}",
    ))
    return tuple(found)
