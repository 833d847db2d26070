"""The network drawn as SVG for the web page: every neuron, every weight on its edge, every bias.

Pure: numbers in, markup out (each text escaped). The layout follows the worksheet's TikZ
picture: layers as columns, and the labels of the edges leaving one neuron at one fraction of
the edge, a different fraction for each neuron, so that no two labels sit on each other.
"""

from __future__ import annotations

from html import escape

from ..printing import number
from ..registry import ACTIVATIONS
from ..spec import Problem

COLUMN = 230  # px between layers
ROW = 100  # px between neurons of a layer
RADIUS = 24
MARGIN = 60
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


def network_svg(problem: Problem) -> str:
    """An ``<svg>`` element of ``problem``'s network at its natural size (the page scrolls it)."""
    net, d = problem.network, problem.answers.decimals
    tallest = max(net.layers)
    width = 2 * MARGIN + COLUMN * net.depth
    height = 2 * MARGIN + ROW * (tallest - 1) + 20

    def at(layer: int, j: int) -> tuple[float, float]:
        return MARGIN + COLUMN * layer, MARGIN + 20 + ROW * ((tallest - 1) / 2 - (net.layers[layer] - 1) / 2 + j)

    edges, labels, nodes = [], [], []
    for l, W in enumerate(problem.weights, start=1):
        previous = net.layers[l - 1]
        for j, row in enumerate(W):
            for k, w in enumerate(row):
                (x0, y0), (x1, y1) = at(l - 1, k), at(l, j)
                edges.append(f'<line x1="{x0:g}" y1="{y0:g}" x2="{x1:g}" y2="{y1:g}"/>')
                pos = 0.2 + 0.45 * (k / (previous - 1) if previous > 1 else 0)
                x, y = x0 + pos * (x1 - x0), y0 + pos * (y1 - y0)
                labels.append(_text(x, y + 4, number(w, d, False), "w", f"w{l}_{j + 1}{k + 1}"))
    for l, size in enumerate(net.layers):
        x, _ = at(l, 0)
        caption = "input" if l == 0 else ACTIVATIONS[net.activations[l - 1]].name
        nodes.append(_text(x, 24, caption, "caption"))
        for j in range(size):
            x, y = at(l, j)
            name = f"x{j + 1}".translate(_SUB) if l == 0 else "a" + f"({l})".translate(_SUP) + f"{j + 1}".translate(_SUB)
            nodes.append(f'<circle cx="{x:g}" cy="{y:g}" r="{RADIUS}"/>')
            nodes.append(_text(x, y + 5, name, "node"))
            if l > 0 and net.bias:
                nodes.append(_text(x, y + RADIUS + 16, f"b = {number(problem.biases[l - 1][j], d, False)}", "b"))
    title = f"The {'–'.join(map(str, net.layers))} network with its weights and biases"
    return (f'<svg class="net" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="net-title">'
            f'<title id="net-title">{escape(title)}</title>'
            f'<g class="edges">{"".join(edges)}</g><g class="nodes">{"".join(nodes)}</g>'
            f'<g class="labels">{"".join(labels)}</g></svg>')


def _text(x: float, y: float, content: str, kind: str, data: str = "") -> str:
    name = f' data-name="{escape(data)}"' if data else ""
    return f'<text class="{kind}" x="{x:g}" y="{y:g}"{name}>{escape(content)}</text>'
