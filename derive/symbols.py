"""Symbols: the SymPy symbols of a network and the whole per-example loss written in them.

Symbol names stay plain ASCII (``w_2_1_3``); the printers take their LaTeX spellings as a
``symbol_names`` map (see :mod:`derive.printing`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .registry import ACTIVATIONS, LOSSES
from .spec import Network


@dataclass(frozen=True)
class SymbolicNetwork:
    """A network's parameters, input and target as symbols, and its forward pass in them."""

    weights: tuple[sp.Matrix, ...]
    biases: tuple[sp.Matrix, ...]
    x: tuple[sp.Symbol, ...]
    y: tuple[sp.Symbol, ...]
    z: tuple[tuple[sp.Expr, ...], ...]
    a: tuple[tuple[sp.Expr, ...], ...]
    loss: sp.Expr

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        found = []
        for W, b in zip(self.weights, self.biases):
            found += [s for s in W if isinstance(s, sp.Symbol)]
            found += [s for s in b if isinstance(s, sp.Symbol)]
        return tuple(found)


def weight_symbol(layer: int, row: int, col: int) -> sp.Symbol:
    """w^(layer)_{row col}, 1-based."""
    return sp.Symbol(f"w_{layer}_{row}_{col}")


def bias_symbol(layer: int, row: int) -> sp.Symbol:
    return sp.Symbol(f"b_{layer}_{row}")


def build_symbolic_network(network: Network) -> SymbolicNetwork:
    """Write the forward pass and per-example loss of ``network`` in symbols (not expanded)."""
    sizes = network.layers
    x = sp.symbols(f"x_1:{sizes[0] + 1}")
    y = sp.symbols(f"y_1:{sizes[-1] + 1}")
    weights, biases, zs, activations = [], [], [], [tuple(x)]
    for l in range(1, len(sizes)):
        W = sp.Matrix(sizes[l], sizes[l - 1], lambda j, k: weight_symbol(l, j + 1, k + 1))
        b = sp.Matrix([bias_symbol(l, j + 1) if network.bias else 0 for j in range(sizes[l])])
        z = W * sp.Matrix(activations[-1]) + b
        zs.append(tuple(z))
        activations.append(tuple(ACTIVATIONS[network.activations[l - 1]].sympy(list(z))))
        weights.append(W)
        biases.append(b)
    loss = LOSSES[network.loss].sympy(activations[-1], y)
    return SymbolicNetwork(tuple(weights), tuple(biases), x, y, tuple(zs), tuple(activations[1:]), loss)
