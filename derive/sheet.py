"""Stage 4, LaTeX rendering: a student worksheet and an answer key from a verified solution.

A pure core (no files, no processes): :func:`worksheet_tex` and :func:`answers_tex` turn a
:class:`~derive.verify.VerifiedSolution` into LaTeX source. Python prepares finished LaTeX
(math, numbers, escaped prose); the Jinja2 templates under ``templates/`` hold the layout.
Compiling to PDF is :mod:`derive.pdf`'s job.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2
from pylatex import NoEscape, Tabular
from pylatex.utils import escape_latex

from .answer_key import epoch_losses
from .formulas import formulas
from .printing import number, pmatrix
from .registry import ACTIVATIONS, LOSSES
from .verify import VerifiedSolution, require_verified

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MAX_STEPS_WORKED = 3  # more steps than this: step 1 is worked in full, the rest are tabulated

#: Which worked quantities answer which question, in the order a student computes them.
QUESTIONS = {
    "forward": (("z", "a"), "Forward pass", "Compute the forward pass: every pre-activation $z$ and activation $a$ of every layer{ex}."),
    "loss": (("loss_example", "loss"), "Loss", "Compute the loss{loss_ex}."),
    "output_delta": (("output_delta",), "Output-layer deltas", r"Compute the output-layer delta $\delta^{{({L})}}${ex}."),
    "hidden_delta": (("hidden_delta",), "Hidden-layer deltas", r"Compute the hidden-layer deltas, layer by layer backwards{ex}."),
    "gradients": (("grad_W", "grad_b"), "Gradients", r"Compute the gradient of the {objective} with respect to every weight{bias}."),
    "updates": (("W", "b"), "Updated weights and biases", r"Apply one gradient-descent update with learning rate $\eta = {eta}$: give every new weight{bias}."),
    "loss_after": (("loss_after",), "Loss after the update", "Compute the loss again with the updated parameters (same {data})."),
}


def escape(text: str) -> str:
    """Prose from a problem file as literal LaTeX text (pylatex's escaping, plus the characters
    the default OT1 font lacks, so ``_ < > |`` print as themselves)."""
    escaped = escape_latex(str(text)).replace(r"\_", r"\textunderscore{}")
    for char, command in (("<", r"\textless{}"), (">", r"\textgreater{}"), ("|", r"\textbar{}")):
        escaped = escaped.replace(char, command)
    return escaped


@functools.cache
def environment() -> jinja2.Environment:
    """Jinja2 with LaTeX-friendly delimiters; every undefined name is an error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        block_start_string="<%", block_end_string="%>",
        variable_start_string="<<", variable_end_string=">>",
        comment_start_string="<#", comment_end_string="#>",
        line_statement_prefix=None, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
    )
    env.filters["e"] = env.filters["escape_tex"] = escape
    return env


def worksheet_tex(verified: VerifiedSolution) -> str:
    """The students' worksheet: the network, the given numbers and the questions."""
    return _render("worksheet.tex.j2", _worksheet_context(verified))


def worksheet_body(verified: VerifiedSolution) -> str:
    """The worksheet without preamble: to be placed in a larger document (an exam)."""
    return _render("worksheet-body.tex.j2", _worksheet_context(verified))


def derivation_body(verified: VerifiedSolution) -> str:
    """The general formulas and the proofs: the same for every problem on one network."""
    return _render("derivation.tex.j2", _derivation_context(verified))


def worked_body(verified: VerifiedSolution, with_tables: bool = True) -> str:
    """The worked solution of the (first few) steps, optionally with their summary tables."""
    return _render("worked.tex.j2", dict(_common(verified), steps=_worked_steps(verified), with_tables=with_tables))


def final_answers_body(verified: VerifiedSolution) -> str:
    """One compact block of final answers: the given numbers and each worked step's tables."""
    verified = require_verified(verified)
    problem = verified.problem
    d = problem.answers.decimals
    parameters = []
    for l, (W, b) in enumerate(zip(problem.weights, problem.biases), start=1):
        parameters.append(rf"W^{{({l})}} = {pmatrix(W, d)}" + (rf",\ b^{{({l})}} = {pmatrix([[v] for v in b], d)}"
                                                                 if problem.network.bias else ""))
    return _render("final-answers.tex.j2", dict(_common(verified), parameters=parameters, steps=_worked_steps(verified)))


def _render(template: str, context: dict) -> str:
    return environment().get_template(template).render(**context)


def _worksheet_context(verified: VerifiedSolution) -> dict:
    verified = require_verified(verified)
    return dict(_common(verified), questions=_questions(verified))


def _derivation_context(verified: VerifiedSolution) -> dict:
    derivation = require_verified(verified).solution.derivation
    return {
        "formulas": [{"title": f.title, "latex": f.latex} for f in formulas(derivation)],
        "proofs": [{"claim": p.claim, "method": p.method, "instances": p.instances, "holds": p.holds}
                   for p in derivation.proofs],
    }


def _worked_steps(verified: VerifiedSolution) -> list[dict]:
    solution = verified.solution
    steps = solution.steps if len(solution.steps) <= MAX_STEPS_WORKED else solution.steps[:1]
    return [_worked_step(solution.problem, step, len(solution.steps) > 1) for step in steps]


def answers_tex(verified: VerifiedSolution) -> str:
    """The answer key: derivation, worked solution, summary tables, losses, verification."""
    verified = require_verified(verified)
    solution = verified.solution
    problem = solution.problem
    d = problem.answers.decimals
    training = problem.training
    steps = _worked_steps(verified)
    context = dict(
        _common(verified),
        **_derivation_context(verified),
        steps=steps,
        with_tables=True,
        steps_not_worked=len(solution.steps) - len(steps),
        loss_table=[(s.index + 1, ", ".join(str(i + 1) for i in s.batch), number(s.loss, d, False),
                     "" if s.loss_after is None else number(s.loss_after, d, False)) for s in solution.steps]
        if len(solution.steps) > 1 else [],
        loss_plot=" ".join(f"({s.index + 1},{s.loss!r})" for s in solution.steps) if len(solution.steps) > 1 else "",
        epochs=[(e["epoch"], number(e["mean_loss"], d, False)) for e in epoch_losses(verified)]
        if problem.training.epochs else [],
        epoch_plot=" ".join(f"({e['epoch'] * training.steps_per_epoch(problem.examples)},{e['mean_loss']!r})"
                            for e in epoch_losses(verified))
        if problem.training.epochs else "",
        loss_before=number(solution.steps[0].loss, d, False),
        loss_after=None if solution.steps[-1].loss_after is None else number(solution.steps[-1].loss_after, d, False),
        verification=verified.report.summary(),
    )
    return _render("answers.tex.j2", context)


# ----------------------------------------------------------------------------------------------
# Shared by both documents


def _common(verified: VerifiedSolution) -> dict:
    problem = verified.problem
    net = problem.network
    loss = LOSSES[net.loss]
    return {
        "title": problem.title,
        "instructions": problem.instructions,
        "network": _network_drawing(problem),
        "architecture": "--".join(map(str, net.layers)),
        "loss_name": loss.description,
        "loss_latex": loss.latex,
        "activations": [(l, ACTIVATIONS[a].latex, ACTIVATIONS[a].description) for l, a in enumerate(net.activations, 1)],
        "data": _data_table(problem),
        "settings": _settings(problem),
        "decimals": problem.answers.decimals,
    }


def _network_drawing(problem) -> dict:
    """Coordinates and finished labels for the TikZ picture (the template only places them)."""
    net = problem.network
    d = problem.answers.decimals
    tallest = max(net.layers)
    layers = []
    for l, size in enumerate(net.layers):
        nodes = []
        for j in range(size):
            y = (tallest - 1) / 2 - j
            name = f"x_{{{j + 1}}}" if l == 0 else f"a^{{({l})}}_{{{j + 1}}}"
            bias = rf"b = {number(problem.biases[l - 1][j], d, False)}" if l > 0 and net.bias else ""
            nodes.append({"id": f"n{l}-{j}", "y": f"{1.9 * y:.2f}", "label": name, "bias": bias})
        activation = "input" if l == 0 else rf"${ACTIVATIONS[net.activations[l - 1]].latex}$"
        layers.append({"x": f"{4.6 * l:.1f}", "nodes": nodes, "caption": activation,
                       "top": f"{1.9 * (tallest - 1) / 2 + 0.9:.2f}"})
    edges = []
    for l, W in enumerate(problem.weights, start=1):
        previous = net.layers[l - 1]
        for j, row in enumerate(W):
            for k, w in enumerate(row):
                # Every label of edges leaving neuron k sits at the same fraction of the edge
                # (where those edges fan out), a different fraction for each k.
                pos = 0.2 + 0.45 * (k / (previous - 1) if previous > 1 else 0)
                edges.append({"source": f"n{l - 1}-{k}", "target": f"n{l}-{j}", "pos": f"{pos:.2f}",
                              "label": number(w, d, False)})
    return {"layers": layers, "edges": edges}


def _data_table(problem) -> str:
    net = problem.network
    d = problem.answers.decimals
    header = ["example"] + [f"$x_{{{k + 1}}}$" for k in range(net.layers[0])] + [f"$y_{{{k + 1}}}$" for k in range(net.layers[-1])]
    rows = [[str(i + 1)] + [f"${number(v, d, False)}$" for v in (*x, *y)]
            for i, (x, y) in enumerate(zip(problem.inputs, problem.targets))]
    return _tabular(_columns(1, net.layers[0], net.layers[-1]), header, rows)


def _settings(problem) -> list[tuple[str, str]]:
    training = problem.training
    d = problem.answers.decimals
    batch = "full batch (the mean over all examples)" if training.batch_size is None else f"batches of {training.batch_size}, in file order"
    if training.epochs:
        length = f"{training.epochs} epochs ({training.steps} steps)"
    else:
        length = "forward pass only" if training.steps == 0 else f"{training.steps} step{'s' if training.steps != 1 else ''}"
    rows = [
        ("learning rate", rf"$\eta = {number(training.learning_rate, d, False)}$"),
        ("training", escape(f"{length}, {batch}")),
    ]
    if training.l2:
        rows.append(("L2 regularisation", rf"$\lambda = {number(training.l2, d, False)}$ (weights only)"))
    if not problem.network.bias:
        rows.append(("biases", "none (fixed at 0)"))
    rows.append(("rounding", f"give answers to {d} decimals; keep full precision in between"))
    return rows


def _questions(verified: VerifiedSolution) -> list[str]:
    problem = verified.problem
    training = problem.training
    batch = problem.examples if training.batch_size is None else training.batch_size
    many = batch > 1
    fill = {
        "ex": " for every example of the batch" if many else "",
        "loss_ex": " of every example and the objective $J$ of the batch" if many or training.l2 else "",
        "L": problem.network.depth,
        "objective": "batch objective $J$" if many or training.l2 else "loss",
        "bias": " and bias" if problem.network.bias else "",
        "eta": number(training.learning_rate, problem.answers.decimals, False),
        "data": "batch" if many else "example",
    }
    asked = [q for q in problem.answers.asked if training.steps > 0 or q in ("forward", "loss")]
    questions = [QUESTIONS[q][2].format(**fill) for q in asked]
    if training.steps > 1:
        questions.append(f"Repeat for all {training.steps} steps (batches in file order, wrapping around) and "
                         "tabulate the loss before each update" + (" and the mean loss per epoch." if training.epochs else "."))
    return questions


# ----------------------------------------------------------------------------------------------
# The worked solution of one step


def _worked_step(problem, step, several: bool) -> dict:
    d = problem.answers.decimals
    sections = []
    for kinds, title, _ in QUESTIONS.values():
        lines = [{"symbol": q.symbol, "formula": q.formula, "substituted": q.substituted,
                  "value": number(q.value, d, False)} for q in step.worked if q.kind in kinds]
        if lines:
            sections.append({"title": title, "lines": lines})
    batch = ", ".join(str(i + 1) for i in step.batch)
    return {
        "heading": f"Step {step.index + 1} (example{'s' if len(step.batch) > 1 else ''} {batch})" if several else "",
        "sections": sections,
        "notes": list(step.notes),
        "tables": _summary_tables(problem, step),
        "loss": number(step.loss, d, False),
        "loss_after": None if step.loss_after is None else number(step.loss_after, d, False),
    }


def _summary_tables(problem, step) -> list[dict]:
    """Per layer: z, a, delta per example; then gradients and updated parameters per neuron."""
    d = problem.answers.decimals
    bias = problem.network.bias
    n = lambda v: f"${number(v, d, False)}$"  # noqa: E731
    tables = []
    for layer in step.layers:
        l, size = layer.layer, layer.z.shape[1]
        header = ["ex."] + [f"$z^{{({l})}}_{{{j + 1}}}$" for j in range(size)] + [f"$a^{{({l})}}_{{{j + 1}}}$" for j in range(size)]
        if layer.delta is not None:
            header += [rf"$\delta^{{({l})}}_{{{j + 1}}}$" for j in range(size)]
        rows = []
        for r, example in enumerate(step.batch):
            cells = [n(v) for v in layer.z[r]] + [n(v) for v in layer.a[r]]
            if layer.delta is not None:
                cells += [n(v) for v in layer.delta[r]]
            rows.append([str(example + 1)] + cells)
        groups = 3 if layer.delta is not None else 2
        tables.append({"caption": f"Layer {l}: forward pass" + (" and deltas" if layer.delta is not None else ""),
                       "tabular": _tabular(_columns(1, *[size] * groups), header, rows)})
        if layer.grad_W is None:
            continue
        inputs = layer.grad_W.shape[1]
        header = ["$j$"] + [rf"$\partial w_{{j{k + 1}}}$" for k in range(inputs)] + ([r"$\partial b_j$"] if bias else [])
        header += [f"$w'_{{j{k + 1}}}$" for k in range(inputs)] + (["$b'_j$"] if bias else [])
        rows = []
        for j in range(layer.grad_W.shape[0]):
            cells = [n(v) for v in layer.grad_W[j]] + ([n(layer.grad_b[j])] if bias else [])
            cells += [n(v) for v in layer.W[j]] + ([n(layer.b[j])] if bias else [])
            rows.append([str(j + 1)] + cells)
        width = inputs + (1 if bias else 0)
        tables.append({"caption": rf"Layer {l}: gradients $\partial J/\partial w^{{({l})}}_{{jk}}$ and updated parameters",
                       "tabular": _tabular(_columns(1, width, width), header, rows)})
    return tables


def _columns(*groups: int) -> str:
    """Right-aligned columns, with a wider gap between groups (booktabs style: no vertical rules)."""
    return r"@{\hspace{1.2em}}".join("r" * g for g in groups)


def _tabular(spec: str, header: list[str], rows: list[list[str]]) -> str:
    """A booktabs tabular of finished LaTeX cells, built with pylatex."""
    table = Tabular(spec, booktabs=True)
    table.add_row([NoEscape(h) for h in header])
    table.add_hline()
    for row in rows:
        table.add_row([NoEscape(c) for c in row])
    return table.dumps()
