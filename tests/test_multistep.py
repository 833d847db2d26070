"""Marking every step of a multi-step sheet, and naming pairs of mistakes (issue 12).

The answers are made by an independent per-example SGD written here in NumPy (three steps of a
2-2-1 sigmoid network, one example per step), every value a student writes rounded to the
sheet's 4 decimals and carried forward, later steps labelled with their prefix (``s2.z1_1``).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import yaml

from derive.answers_loader import parse_answers
from derive.loader import parse_problem
from derive.marking import mark
from derive.pipeline import solve
from derive.quantities import answers_template

DOC = {
    "title": "Three per-example SGD steps",
    "network": {"layers": [2, 2, 1], "activations": ["sigmoid", "sigmoid"], "loss": "half_mse", "bias": True},
    "parameters": {"W1": [[0.2, -0.3], [0.4, 0.1]], "b1": [0.1, -0.2], "W2": [[1.5, 1.5]], "b2": [-2.0]},
    "data": {"inputs": [[1.0, 1.0], [1.0, -0.5]], "targets": [[1.0], [0.0]]},
    "training": {"learning_rate": 1.0, "steps": 3, "batch": 1},
    "answers": {"decimals": 4},
}
TEXT = yaml.safe_dump(DOC, sort_keys=False)
VERIFIED = solve(parse_problem(TEXT, "problem.yaml"))


def sig(z):
    return 1 / (1 + np.exp(-z))


def by_hand(steps: int = 3, rnd=lambda v: round(float(v), 4), slips=None, bias_fixed=False, updated_in_delta=False,
            doc: dict = DOC):
    """Every quantity of every step by label (step 1 bare, step s as ``s<s>.``); ``slips`` (label
    -> value) replaces a value as soon as it is computed, and what follows is computed from it."""
    slips = slips or {}
    W = [np.array(doc["parameters"]["W1"]), np.array(doc["parameters"]["W2"])]
    b = [np.array(doc["parameters"]["b1"]), np.array(doc["parameters"]["b2"])]
    X, Y, eta = np.array(doc["data"]["inputs"]), np.array(doc["data"]["targets"]), doc["training"]["learning_rate"]
    out = {}
    for s in range(steps):
        pre = "" if s == 0 else f"s{s + 1}."

        def put(label, value):
            out[pre + label] = slips.get(pre + label, rnd(value))
            return out[pre + label]

        x, y = X[s % 2], Y[s % 2]
        z1 = np.array([put(f"z1_{j + 1}", W[0][j] @ x + b[0][j]) for j in range(2)])
        a1 = np.array([put(f"a1_{j + 1}", sig(z1[j])) for j in range(2)])
        z2 = put("z2_1", W[1][0] @ a1 + b[1][0])
        a2 = put("a2_1", sig(z2))
        put("L", 0.5 * (y[0] - a2) ** 2)
        d2 = put("delta2_1", (a2 - y[0]) * a2 * (1 - a2))
        gW2 = [put(f"dW2_1{k + 1}", d2 * a1[k]) for k in range(2)]
        W2_new = np.array([[W[1][0][k] - eta * gW2[k] for k in range(2)]])
        back = W2_new if updated_in_delta else W[1]
        d1 = np.array([put(f"delta1_{j + 1}", d2 * back[0][j] * a1[j] * (1 - a1[j])) for j in range(2)])
        new_W, new_b = [], []
        for l, (delta, a_prev) in enumerate(((d1, x), (np.array([d2]), a1)), start=1):
            Wl, bl = np.array(W[l - 1], dtype=float), np.array(b[l - 1], dtype=float)
            for j in range(len(delta)):
                for k in range(len(a_prev)):
                    Wl[j, k] = put(f"new_W{l}_{j + 1}{k + 1}", Wl[j, k] - eta * put(f"dW{l}_{j + 1}{k + 1}", delta[j] * a_prev[k]))
                grad_b = put(f"db{l}_{j + 1}", delta[j])
                bl[j] = put(f"new_b{l}_{j + 1}", bl[j] if bias_fixed else bl[j] - eta * grad_b)
            new_W.append(Wl)
            new_b.append(bl)
        a_after = sig(new_W[1][0] @ sig(new_W[0] @ x + new_b[0]) + new_b[1][0])
        put("L_after", 0.5 * (y[0] - a_after) ** 2)
        W, b = new_W, new_b
    return out


def marks_for(answers: dict, doc: dict = DOC) -> dict:
    text = yaml.safe_dump(doc, sort_keys=False)
    problem = parse_problem(text, "problem.yaml")
    student = parse_answers(yaml.safe_dump({k: float(v) for k, v in answers.items()}), problem, "answers.yaml")
    return {m.label: m for m in mark(VERIFIED if doc is DOC else solve(problem), student).marks}


def test_every_step_is_asked_and_right_answers_in_every_step_pass():
    answers = by_hand()
    marks = marks_for(answers)
    assert set(marks) == set(answers)  # the sheet asks exactly the hand computation's quantities
    assert "s3.new_W1_12" in marks and "s2.L_after" in marks
    assert [label for label, m in marks.items() if m.status != "correct"] == []


def test_a_slip_in_step_1_carried_into_step_2_earns_follow_through():
    right = by_hand(rnd=lambda v: float(v))
    slipped = round(right["new_W2_11"] + 0.2, 4)
    answers = by_hand(slips={"new_W2_11": slipped})  # steps 2 and 3 start from the wrong weight
    assert answers["s2.z2_1"] != round(right["s2.z2_1"], 4)
    marks = marks_for(answers)
    assert marks["new_W2_11"].status == "wrong"
    assert marks["s2.z2_1"].status == "follow_through" and "new_W2_11" in marks["s2.z2_1"].follows_from
    assert marks["s2.new_W2_11"].status == "follow_through"
    assert marks["s3.L_after"].status in ("follow_through", "correct")
    assert [label for label, m in marks.items() if m.status == "wrong"] == ["new_W2_11"]
    assert marks["z1_1"].status == "correct" and marks["s2.z1_1"].status == "correct"  # W1 was not touched


def test_a_pair_of_mistakes_is_named_when_no_single_one_explains_a_value():
    # Biases left unchanged AND hidden deltas from the already-updated W2; the student writes the
    # forward pass, the loss and the loss after the update of step 1, nothing in between.
    pair = by_hand(steps=1, rnd=lambda v: float(v), bias_fixed=True, updated_in_delta=True)
    right = by_hand(steps=1)
    written = ("z1_1", "z1_2", "a1_1", "a1_2", "z2_1", "a2_1", "L")
    answers = {label: right[label] for label in written} | {"L_after": round(pair["L_after"], 4)}
    assert abs(answers["L_after"] - right["L_after"]) > 1e-3
    for alone in (dict(bias_fixed=True), dict(updated_in_delta=True)):  # neither mistake alone gives it
        assert abs(by_hand(steps=1, rnd=lambda v: float(v), **alone)["L_after"] - answers["L_after"]) > 1e-4
    mark_ = marks_for(answers)["L_after"]
    assert mark_.status == "wrong"
    assert set(mark_.mistakes) == {"bias_not_updated", "updated_weights_in_delta"}, mark_
    assert mark_.reason.startswith("two mistakes together")


def test_a_local_pair_sign_flipped_and_learning_rate_forgotten():
    doc = DOC | {"training": DOC["training"] | {"learning_rate": 0.5}}  # eta = 1 would hide the second
    right = by_hand(steps=1, rnd=lambda v: float(v), doc=doc)
    value = round(doc["parameters"]["W2"][0][0] + right["dW2_11"], 4)  # w + dJ/dw
    answers = {k: round(v, 4) for k, v in right.items() if not k.startswith("new_") and k != "L_after"}
    mark_ = marks_for(answers | {"new_W2_11": value}, doc)["new_W2_11"]
    assert mark_.mistakes == ("update_sign_flipped", "learning_rate_forgotten"), mark_


def test_the_template_lists_later_steps_with_their_prefix():
    template = answers_template(parse_problem(TEXT, "problem.yaml"))
    labels = list(yaml.safe_load(template))
    assert sorted(labels) == sorted(by_hand())
    steps = [0 if not label.startswith("s") else int(label[1]) - 1 for label in labels]
    assert steps == sorted(steps) and labels[0] == "z1_1" and labels[-1] == "s3.L_after"
    assert "# Step 2 (example 2): Forward pass" in template


def test_check_exit_codes_over_every_step(tmp_path):
    (tmp_path / "p.yaml").write_text(TEXT, encoding="utf-8")
    def run(answers):
        (tmp_path / "a.yaml").write_text(yaml.safe_dump(answers, sort_keys=False), encoding="utf-8")
        return subprocess.run([sys.executable, "-m", "derive", "check", str(tmp_path / "p.yaml"), str(tmp_path / "a.yaml")],
                              capture_output=True, text=True)
    answers = by_hand()
    assert run(answers).returncode == 0
    assert run(answers | {"s3.L_after": answers["s3.L_after"] + 0.1}).returncode == 1
    unknown = run({"s4.z1_1": 0.1})
    assert unknown.returncode == 2 and "s4.z1_1" in unknown.stderr


def test_the_web_page_shows_and_marks_every_step(tmp_path):
    import re

    from starlette.testclient import TestClient

    from derive.web.app import create_app, load_catalogue

    (tmp_path / "three-steps.yaml").write_text(TEXT, encoding="utf-8")
    client = TestClient(create_app(load_catalogue(tmp_path)), raise_server_exceptions=False)
    page = client.get("/sheet/three-steps").text
    assert [h for h in re.findall(r'<h2 class="step"[^>]*>([^<]+)</h2>', page)] == [
        "Step 1 (example 1)", "Step 2 (example 2)", "Step 3 (example 1)"]
    assert 'name="s3.L_after"' in page
    right = by_hand()
    answers = by_hand(slips={"s2.new_b2_1": round(right["s2.new_b2_1"] + 0.2, 4)})  # carried into step 3
    marked = client.post("/sheet/three-steps", data={k: str(v) for k, v in answers.items()}).text
    statuses = dict((label, status) for status, label in re.findall(r'<div class="q (\w+)" id="row-([^"]+)"', marked))
    assert len(statuses) == len(right)
    assert statuses["s2.new_b2_1"] == "wrong" and statuses["s3.z2_1"] == "follow_through"
    assert statuses["s2.new_W2_11"] == "correct"
