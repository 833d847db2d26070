"""Where the network drawing puts each weight's label: on its edge, clear of every other label,
of the neurons and of the bias labels, and off the other edges where it can be.

Pure geometry on the drawing's coordinates (cm). Labels are set upright (not along the edge), so
a label is an axis-aligned box whose size follows from its text at \\scriptsize. Each label takes
the first free place along its edge, trying places in order of how many other edges they cover,
then of their distance from the place a plain layout would pick (edges leaving one neuron at one
fraction, a different one per neuron, as before).

>>> a, b = Box(0, 0, 1, 0.3), Box(0.9, 0.2, 1, 0.3)
>>> a.overlaps(b), a.overlaps(Box(1.1, 0, 1, 0.3))
(True, False)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Sequence

NEURON_SIZE = 1.1  # minimum size=11mm in templates/network.tex.j2
LABEL_HEIGHT = 0.34  # \scriptsize digits with inner sep
_CHAR_WIDTH = {"-": 0.2, "−": 0.2, ".": 0.07, ",": 0.07}  # cm at \scriptsize; a digit is 0.125
_PLACES = [round(0.16 + 0.02 * i, 2) for i in range(35)]  # fractions of an edge, centre to centre


@dataclass(frozen=True)
class Box:
    """An axis-aligned box by its centre and size (cm)."""

    x: float
    y: float
    width: float
    height: float

    def overlaps(self, other: "Box", gap: float = 0.04) -> bool:
        """Whether the boxes overlap or come closer than ``gap``."""
        return (abs(self.x - other.x) < (self.width + other.width) / 2 + gap
                and abs(self.y - other.y) < (self.height + other.height) / 2 + gap)

    def crosses(self, start: tuple[float, float], end: tuple[float, float]) -> bool:
        """Whether the segment from ``start`` to ``end`` passes through the box (Liang-Barsky)."""
        low, high = 0.0, 1.0
        for origin, delta, centre, half in ((start[0], end[0] - start[0], self.x, self.width / 2),
                                            (start[1], end[1] - start[1], self.y, self.height / 2)):
            if delta == 0:
                if abs(origin - centre) >= half:
                    return False
                continue
            t1, t2 = sorted(((centre - half - origin) / delta, (centre + half - origin) / delta))
            low, high = max(low, t1), min(high, t2)
            if low >= high:
                return False
        return True


@functools.lru_cache(maxsize=4096)
def label_width(text: str) -> float:
    """The width (cm) of a weight label such as ``-0.25`` at \\scriptsize, with its padding."""
    return 0.08 + sum(_CHAR_WIDTH.get(char, 0.125) for char in text)


@dataclass(frozen=True)
class Edge:
    """One edge between two neuron centres, its label's text and its preferred fraction."""

    start: tuple[float, float]
    end: tuple[float, float]
    text: str
    preferred: float

    def box_at(self, t: float) -> Box:
        x = self.start[0] + (self.end[0] - self.start[0]) * t
        y = self.start[1] + (self.end[1] - self.start[1]) * t
        return Box(x, y, label_width(self.text), LABEL_HEIGHT)


def _places_in_order(edge: Edge, others: tuple) -> list[float]:
    """The fractions of ``edge`` to try, fewest other edges under the label first."""
    return _places_for(edge.start, edge.end, label_width(edge.text), edge.preferred, others)


@functools.lru_cache(maxsize=4096)  # the variants of an exam share the geometry and most label widths
def _places_for(start, end, width: float, preferred: float, others: tuple) -> list[float]:
    edge = Edge(start, end, "", preferred)
    boxes = {t: replace(edge.box_at(t), width=width) for t in _PLACES}
    return sorted(_PLACES, key=lambda t: (sum(boxes[t].crosses(*o) for o in others), abs(t - preferred)))


def place_labels(edges: Sequence[Edge], obstacles: Sequence[Box]) -> list[Box]:
    """A box for each edge's label, none overlapping another or an obstacle (the neurons and
    their bias labels). Edges are placed in order; if an edge has no free place (a drawing far
    denser than a sheet's), its label keeps the preferred place."""
    placed: list[Box] = []
    gaps: dict[float, list[Edge]] = {}  # only the edges of the same gap between two layers can pass under a label
    for edge in edges:
        gaps.setdefault(edge.start[0], []).append(edge)
    for edge in edges:
        others = tuple((e.start, e.end) for e in gaps[edge.start[0]] if e is not edge)
        taken = (*placed, *obstacles)
        boxes = (edge.box_at(t) for t in _places_in_order(edge, others))
        placed.append(next((box for box in boxes if not any(box.overlaps(b) for b in taken)),
                           edge.box_at(edge.preferred)))
    return placed
