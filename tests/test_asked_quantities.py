"""One list of asked quantities (defect 4 of issue 9): for every shipped problem the answers
template, the marking, the Moodle quiz and key.json list the same quantities in the same order,
and every quiz value is the key's. Before, batch problems' quizzes and keys gave J but not the
examples' losses L[i] (115 fields against 118 quantities for relu-2-3-3-1-batch).
"""

from __future__ import annotations

import pytest
import yaml

from derive.answer_key import answer_key
from derive.loader import load_problem
from derive.marking import mark
from derive.moodle import quiz_xml
from derive.notation import QuantityName as NotationName
from derive.pipeline import solve
from derive.quantities import QuantityName, StudentAnswers, answers_template, asked_quantities
from golden_outputs import PROBLEMS, ROOT
from moodle_grading import quiz_fields


def from_key(key: dict, q: QuantityName) -> float:
    """The value of ``q`` read from key.json (its documented fields)."""
    step = key["steps"][0]
    if q.kind in ("L", "J", "L_after"):
        return {"L": lambda: step["losses"][q.example], "J": lambda: step["loss"],
                "L_after": lambda: step["loss_after"]}[q.kind]()
    layer = step["layers"][q.layer - 1]
    field = {"dW": "grad_W", "db": "grad_b"}.get(q.kind, q.kind)
    value = layer[field]
    position = (q.example, *q.index) if q.kind in ("z", "a", "delta") else q.index
    for i in position:
        value = value[i]
    return value


def test_quantity_name_lives_in_notation():
    assert QuantityName is NotationName


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_template_marking_quiz_and_key_list_the_same_quantities(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    problem = load_problem(path.relative_to(ROOT).as_posix())
    verified = solve(problem)
    asked = asked_quantities(problem)
    labels = [q.label for q in asked]
    assert len(set(labels)) == len(labels)
    assert list(yaml.safe_load(answers_template(problem))) == labels
    assert [m.label for m in mark(verified, StudentAnswers("empty", ())).marks] == labels
    key = answer_key(verified)
    from_the_key = [from_key(key, q.name) for q in asked]
    fields = quiz_fields(quiz_xml([(1, verified)], "derive/test"))[0]
    assert len(fields) == len(asked)
    assert [answers[1].value for answers in fields] == from_the_key  # the exact value, after the shown one
    batch = key["steps"][0]["batch"]
    assert len(key["steps"][0]["losses"]) == len(batch)
    if len(batch) > 1:
        assert "L[1]" in labels and "J" in labels
        assert sum(key["steps"][0]["losses"]) / len(batch) == pytest.approx(key["steps"][0]["data_loss"], rel=1e-12)
