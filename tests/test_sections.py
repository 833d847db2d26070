"""The one table of sections (derive/sections.py): order, titles and the steps-0 rule."""

from __future__ import annotations

import yaml

from derive import pipeline
from derive.loader import parse_problem
from derive.moodle import cloze_fields
from derive.quantities import asked_quantities
from derive.sections import BY_KEY, QUANTITY_SECTIONS, SECTIONS, asked_sections
from derive.sheet import worksheet_tex
from derive.spec import QUANTITIES, SECTION_TITLES
from hand_backprop import problem_dict


def test_sections_in_the_order_a_student_works():
    assert QUANTITY_SECTIONS == ("forward", "loss", "output_delta", "hidden_delta", "gradients", "updates", "loss_after")
    assert QUANTITIES == QUANTITY_SECTIONS and SECTION_TITLES == {s.key: s.title for s in SECTIONS}
    assert BY_KEY["hidden_delta"].title == "Hidden-layer deltas"


def test_a_forward_only_problem_asks_the_forward_pass_and_the_loss():
    every = ("derivation",) + QUANTITY_SECTIONS
    assert asked_sections(every, steps=0, exercises=True) == ("forward", "loss")
    assert asked_sections(every, steps=1, exercises=True) == every
    assert asked_sections(every, steps=3) == QUANTITY_SECTIONS
    assert asked_sections(("updates", "forward"), steps=1) == ("forward", "updates")


def test_every_output_applies_the_steps_0_rule():
    doc = problem_dict("sgd-sigmoid-hidden")
    doc["training"] = {**doc["training"], "steps": 0}
    doc["answers"] = {"decimals": 4, "asked": ["derivation", "forward", "loss", "gradients"]}
    doc.pop("randomisation", None)
    problem = parse_problem(yaml.safe_dump(doc, sort_keys=False), "forward.yaml")
    verified = pipeline.solve(problem)
    assert {q.section for q in asked_quantities(problem)} == {"forward", "loss"}
    assert {f.group for f in cloze_fields(verified)} == {"forward", "loss"}
    tex = worksheet_tex(verified)
    assert "Compute the forward pass" in tex and "Derive the backpropagation" not in tex and "gradient of the" not in tex
