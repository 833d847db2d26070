"""The sections of a sheet, in one table: what each is called, what the worksheet asks, and
whether a forward-only problem (``steps: 0``) asks it.

Every output that groups quantities by section (worksheet questions, worked solution, terminal,
answers template, marking, Moodle quiz) reads this table, so a section's title or the steps-0
rule has one home. Stage 0 data: it imports nothing from derive.

>>> [s.key for s in SECTIONS][:3]
['forward', 'loss', 'output_delta']
>>> asked_sections(("loss", "forward", "gradients"), steps=0)
('forward', 'loss')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Section:
    """One part of a sheet. ``question`` is the worksheet's question, a format string filled by
    the sheet (``{ex}``, ``{L}``, ...); ``forward_only``: a forward-only problem asks it too."""

    key: str
    title: str
    question: str
    forward_only: bool = False


#: Written exercises a sheet can ask for besides the numbers (never asked by default).
DERIVATION = Section(
    "derivation", "Derivation",
    r"Derive the backpropagation formulas for this network's activations and loss: the "
    r"output-layer delta $\delta^{{({L})}} = \partial L / \partial z^{{({L})}}$, the hidden-layer delta "
    r"$\delta^{{(l)}}$ in terms of $\delta^{{(l+1)}}$, and the gradients $\partial L/\partial W^{{(l)}}$ "
    r"and $\partial L/\partial b^{{(l)}}$. Simplify $\delta^{{({L})}}$ as far as you can.",
)

#: The quantity sections, in the order a student computes them.
SECTIONS: tuple[Section, ...] = (
    Section("forward", "Forward pass",
            "Compute the forward pass: every pre-activation $z$ and activation $a$ of every layer{ex}.", True),
    Section("loss", "Loss", "Compute the loss{loss_ex}.", True),
    Section("output_delta", "Output-layer deltas", r"Compute the output-layer delta $\delta^{{({L})}}${ex}."),
    Section("hidden_delta", "Hidden-layer deltas", r"Compute the hidden-layer deltas, layer by layer backwards{ex}."),
    Section("gradients", "Gradients", r"Compute the gradient of the {objective} with respect to every weight{bias}."),
    Section("updates", "Updated weights and biases",
            r"Apply one gradient-descent update with learning rate $\eta = {eta}$: give every new weight{bias}."),
    Section("loss_after", "Loss after the update", "Compute the loss again with the updated parameters (same {data})."),
)

#: Every section and exercise by key, the exercise first (a worksheet asks it first).
BY_KEY: dict[str, Section] = {s.key: s for s in (DERIVATION, *SECTIONS)}

#: The keys of the quantity sections, in order (what ``answers.asked`` defaults to).
QUANTITY_SECTIONS: tuple[str, ...] = tuple(s.key for s in SECTIONS)

#: The keys of the written exercises.
EXERCISES: tuple[str, ...] = (DERIVATION.key,)

#: The heading of each quantity section.
TITLES: dict[str, str] = {s.key: s.title for s in SECTIONS}


def asked_sections(asked: Iterable[str], steps: int, exercises: bool = False) -> tuple[str, ...]:
    """The sections (with ``exercises``, the exercises too) of ``asked`` a problem of ``steps``
    steps asks, in sheet order: a forward-only problem (``steps: 0``) asks only the forward pass
    and the loss, and no derivation."""
    wanted = set(asked)
    order = (DERIVATION, *SECTIONS) if exercises else SECTIONS
    return tuple(s.key for s in order if s.key in wanted and (steps > 0 or s.forward_only))
