"""The network drawing stays readable: no two labels (weights, biases) overlap, checked on the
words' boxes in the compiled PDF (pdftotext -bbox), at 3-3 and 4-4 hidden layers; and the
placement itself keeps its boxes apart from each other and from the neurons."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from derive.diagram import Box, Edge, place_labels
from derive.loader import load_problem
from derive.pdf import compile_pdf
from derive.pipeline import solve
from derive.sheet import worksheet_tex

ROOT = Path(__file__).resolve().parents[1]
needs_tex = pytest.mark.skipif(not (shutil.which("pdflatex") and shutil.which("pdftotext")),
                               reason="pdflatex and pdftotext are needed")
NUMBER = re.compile(r"^[−-]?\d+(?:[.,]\d+)?$")


def four_four(tmp_path: Path) -> Path:
    """A 2-4-4-1 network whose weights have two decimals and signs (the widest labels)."""
    rng = np.random.default_rng(7)
    def matrix(rows, cols):
        return [[float(v) for v in row] for row in np.round(rng.uniform(-0.95, 0.95, (rows, cols)), 2)]
    text = f"""title: A 2-4-4-1 network
network: {{layers: [2, 4, 4, 1], activations: [tanh, tanh, sigmoid], loss: half_mse, bias: true}}
parameters:
  W1: {matrix(4, 2)}
  b1: {matrix(1, 4)[0]}
  W2: {matrix(4, 4)}
  b2: {matrix(1, 4)[0]}
  W3: {matrix(1, 4)}
  b3: [0.25]
data: {{inputs: [[0.5, -0.25]], targets: [[0.75]]}}
training: {{learning_rate: 0.5, steps: 1, batch: full, l2: 0.0}}
answers: {{decimals: 4}}
"""
    path = tmp_path / "four-four.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def drawing_words(pdf: bytes, tmp_path: Path) -> list[tuple[str, float, float, float, float]]:
    """The number-like words (weights, bias values) of page 1 between the "Network" heading and
    "Architecture", with their boxes (pt)."""
    (tmp_path / "sheet.pdf").write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(tmp_path / "sheet.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    words = [(w, float(x0), float(y0), float(x1), float(y1)) for x0, y0, x1, y1, w in
             re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', html)]
    top = next(y1 for w, _, _, _, y1 in words if w == "Network")
    bottom = next(y0 for w, _, y0, _, _ in words if w == "Architecture")
    return [w for w in words if top < w[2] and w[4] < bottom and NUMBER.match(w[0])]


def overlapping(words) -> list[tuple[str, str]]:
    return [(a[0], b[0]) for a, b in itertools.combinations(words, 2)
            if min(a[3], b[3]) - max(a[1], b[1]) > 0.3 and min(a[4], b[4]) - max(a[2], b[2]) > 0.3]


@needs_tex
@pytest.mark.parametrize("which", ["relu-2-3-3-1-batch", "four-four"])
def test_no_two_labels_of_the_drawing_overlap(which, tmp_path):
    path = four_four(tmp_path) if which == "four-four" else ROOT / f"problems/{which}.yaml"
    problem = load_problem(path)
    pdf = compile_pdf(worksheet_tex(solve(problem)), "worksheet")
    words = drawing_words(pdf, tmp_path)
    weights = sum(len(W) * len(W[0]) for W in problem.weights)
    biases = sum(len(b) for b in problem.biases)
    assert len(words) >= weights + biases - 2  # every label found (a sign may stand apart)
    assert overlapping(words) == []


def test_placed_labels_keep_apart_from_each_other_and_the_neurons():
    neurons = [Box(x, y, 1.1, 1.1) for x in (0, 4.6) for y in (1.9, 0, -1.9)]
    edges = [Edge((0, y0), (4.6, y1), "-0.25", 0.2 + 0.225 * k) for k, y0 in enumerate((1.9, 0, -1.9))
             for y1 in (1.9, 0, -1.9)]
    boxes = place_labels(edges, neurons)
    assert not any(a.overlaps(b, gap=0) for a, b in itertools.combinations(boxes, 2))
    assert not any(a.overlaps(n, gap=0) for a in boxes for n in neurons)
    for edge, box in zip(edges, boxes):  # each label sits on its own edge
        t = (box.x - edge.start[0]) / (edge.end[0] - edge.start[0])
        assert box.y == pytest.approx(edge.start[1] + t * (edge.end[1] - edge.start[1]))


@needs_tex
def test_the_check_sees_overlapping_labels(tmp_path, monkeypatch):
    """The control: every label at the middle of its edge, where the crossing edges meet."""
    import derive.sheet

    monkeypatch.setattr(derive.sheet, "place_labels", lambda edges, obstacles: [e.box_at(0.5) for e in edges])
    derive.sheet._common_of.cache_clear()  # the drawing is made once per problem: make it again, patched
    try:
        pdf = compile_pdf(worksheet_tex(solve(load_problem(ROOT / "problems/relu-2-3-3-1-batch.yaml"))), "worksheet")
    finally:
        derive.sheet._common_of.cache_clear()  # and not keep the patched one for later tests
    assert overlapping(drawing_words(pdf, tmp_path)) != []
