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
import sympy as sp

from . import tree
from .formulas import formulas
from .latex_tables import data_table, escape, side_by_side, summary_tables
from .notation import NIELSEN
from .printing import latex, number, pmatrix
from .registry import ACTIVATIONS, LOSSES
from .rounding import phrase
from .sections import BY_KEY, asked_sections
from .sections import TITLES as SECTION_TITLES
from .verify import VerifiedSolution, require_verified
from .worked_lines import function_name

Compared = tuple[tuple[str, VerifiedSolution], ...]
N = NIELSEN

def _templates_folder() -> Path:
    """templates/ of the source checkout, or the copy an installed wheel carries in the package."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "templates"
    return checkout if (checkout / "preamble.tex.j2").is_file() else here / "templates"


TEMPLATES = _templates_folder()
MAX_STEPS_WORKED = 3  # more steps than this: step 1 is worked in full, the rest are tabulated



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
    return _render("final-answers.tex.j2", dict(_common(verified), steps=_worked_steps(verified, lines=False)))


def _render(template: str, context: dict) -> str:
    return environment().get_template(template).render(**context)


def _worksheet_context(verified: VerifiedSolution) -> dict:
    verified = require_verified(verified)
    return dict(_common(verified), questions=_questions(verified))


def _derivation_context(verified: VerifiedSolution) -> dict:
    derivation = require_verified(verified).solution.derivation
    return {
        "formulas": [{"title": f.title, "latex": f.latex} for f in formulas(derivation)],
        "proofs": [{"claim": p.claim, "method": p.method_latex,
                    "identities": _plural(p.instances, "identity", "identities"), "holds": p.holds}
                   for p in derivation.proofs],
    }


def _worked_steps(verified: VerifiedSolution, lines: bool = True) -> list[dict]:
    """The steps worked on the sheet (``lines``: with their worked lines, not only the tables)."""
    solution = verified.solution
    steps = solution.steps if len(solution.steps) <= MAX_STEPS_WORKED else solution.steps[:1]
    return [_worked_step(solution.problem, step, len(solution.steps) > 1, lines) for step in steps]


def answers_tex(verified: VerifiedSolution, compared: Compared = ()) -> str:
    """The answer key: derivation, worked solution, summary tables, losses, verification.

    ``compared`` holds the verified solutions of the problem's comparison options
    (:func:`derive.pipeline.solve_compared`); the key then works each and ends with a
    side-by-side table.
    """
    verified = require_verified(verified)
    compared = tuple((option, require_verified(other)) for option, other in compared)
    solution = verified.solution
    problem = solution.problem
    d = problem.answers.decimals
    training = problem.training
    steps = _worked_steps(verified)
    context = dict(
        _common(verified),
        **_derivation_context(verified),
        chains=[_chain(problem, rule) for rule in solution.chain_rules],
        chain_intro=_chain_intro(problem, solution.chain_rules),
        steps=steps,
        with_tables=True,
        steps_not_worked=len(solution.steps) - len(steps),
        loss_table=[(s.index + 1, ", ".join(str(i + 1) for i in s.batch), number(s.loss, d, False),
                     "" if s.loss_after is None else number(s.loss_after, d, False)) for s in solution.steps]
        if len(solution.steps) > 1 else [],
        loss_plot=" ".join(f"({s.index + 1},{s.loss!r})" for s in solution.steps) if len(solution.steps) > 1 else "",
        epochs=[(e.epoch, number(e.mean_loss, d, False)) for e in solution.epochs],
        epoch_plot=" ".join(f"({e.epoch * training.steps_per_epoch(problem.examples)},{e.mean_loss!r})"
                            for e in solution.epochs),
        loss_before=number(solution.steps[0].loss, d, False),
        loss_after=None if solution.steps[-1].loss_after is None else number(solution.steps[-1].loss_after, d, False),
        verification=verified.report.summary(),
        comparison=_comparison(verified, compared) if compared else None,
        comparison_verification=[f"{option}: {other.report.summary()}" for option, other in compared
                                 if other.problem.network != problem.network],
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
        "activations": [(l, _activation_formula(a, l), ACTIVATIONS[a].description) for l, a in enumerate(net.activations, 1)],
        "data": data_table(problem),
        "parameters": parameter_matrices(problem),
        "settings": _settings(problem),
        "decimals": problem.answers.decimals,
    }


@functools.lru_cache(maxsize=256)
def _activation_formula(name: str, layer: int) -> str:
    """a^(l) = f(z^(l)), with f written out from the registry's SymPy form when elementwise."""
    activation = ACTIVATIONS[name]
    tex, plain = function_name(activation)
    z_layer = tree.Name(N.vector("z", layer), N.vector("z", layer, "text"))
    head = f"{N.vector('a', layer)} = {latex(tree.Apply(tex, plain, (z_layer,)))}"
    if not activation.elementwise:
        return head
    z = sp.Symbol("z")
    form = activation.sympy([z])[0]
    if isinstance(form, sp.Function) and not isinstance(form, sp.Piecewise):  # tanh(z): nothing to add
        return head
    return head + r",\quad " + f"{latex(tree.Apply(tex, plain, (tree.Name('z', 'z'),)))} = {latex(form)}"


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
            name = N.node(l, j + 1)
            bias = f"{N.all_biases.latex} = {number(problem.biases[l - 1][j], d, False)}" if l > 0 and net.bias else ""
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


def parameter_matrices(problem) -> list[str]:
    """W^(l) and b^(l) as matrices, so no number depends on reading the drawing's labels."""
    d = problem.answers.decimals
    shown = []
    for l, (W, b) in enumerate(zip(problem.weights, problem.biases), start=1):
        tex = f"{N.W(l)} = {pmatrix(W, d)}"
        if problem.network.bias:
            tex += rf",\quad {N.b_vector(l)} = {pmatrix([[v] for v in b], d)}"
        shown.append(tex)
    return shown


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
    rows.append(("rounding", f"give answers {escape(phrase(problem.answers))}; keep full precision in between"))
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
    asked = asked_sections(problem.answers.asked, training.steps, exercises=True)
    questions = [BY_KEY[q].question.format(**fill) for q in asked]
    if problem.compare is not None:
        noun = "hidden activation" if problem.compare.what == "hidden_activation" else "loss"
        options = [escape(o) for o in problem.compare.options]
        questions.append(f"Repeat the computation with the {noun} replaced by each of {', '.join(options[:-1])} and "
                         f"{options[-1]}, and compare the results in a table: which changes, and why?")
    if training.steps > 1:
        questions.append(f"Repeat for all {training.steps} steps (batches in file order, wrapping around) and "
                         "tabulate the loss before each update" + (" and the mean loss per epoch." if training.epochs else "."))
    return questions


# ----------------------------------------------------------------------------------------------
# Comparing hidden activations or losses


def _comparison(verified: VerifiedSolution, compared: Compared) -> dict:
    """Worked steps of every option other than the file's own, then one side-by-side table."""
    problem = verified.problem
    what = problem.compare.what
    noun = "hidden activation" if what == "hidden_activation" else "loss"
    own = _option_of(problem)
    columns = ([] if own in dict(compared) else [(own, verified)]) + list(compared)
    alternatives = []
    for option, other in compared:
        if option == own:
            continue
        solution = other.solution
        alternatives.append({
            "heading": escape(f"With {noun} {option}"),
            "steps": [_worked_step(other.problem, step, len(solution.steps) > 1) for step in solution.steps[:1]],
        })
    names = ", ".join(escape(option) for option, _ in columns)
    return {
        "title": escape(f"Comparison of the {noun}s: {', '.join(option for option, _ in columns)}"),
        "intro": escape(f"The same network, numbers and step with the {noun} replaced by each of {len(columns)} "
                        f"options; the worked solution above is the one with {own}.") if len(columns) > 1 else names,
        "alternatives": alternatives,
        "table": side_by_side(problem.answers.decimals, columns, problem.network.bias),
    }


def _option_of(problem) -> str:
    net = problem.network
    return net.loss if problem.compare.what == "loss" else net.activations[0]


# ----------------------------------------------------------------------------------------------
# The chain rule, term by term


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _chain_intro(problem, rules) -> str:
    if not rules:
        return ""
    example = rules[0].example + 1
    several = problem.examples > 1
    loss = f"the loss ${N.loss.latex}$"
    whose = f"{loss} of example {example} (the first of step 1)" if several else loss
    batch = (" The gradient of the batch objective averages this over the batch's examples"
             if several and (problem.training.batch_size or problem.examples) > 1 else "")
    if problem.training.l2:
        batch += (" and adds" if batch else " The gradient of the objective adds") + f" the L2 term ${N.lam()} w/{N.m()}$"
    batch += "." if batch else ""
    return (f"The derivative of {whose} with respect to one output-layer weight"
            + (" and one hidden-layer weight" if len(rules) > 1 else "")
            + ", as the product of the local derivatives SymPy derived, each evaluated at the numbers." + batch)


def _chain(problem, rule) -> dict:
    d = problem.answers.decimals
    symbol = latex(rule.symbol)
    partials = latex(tree.Times(tuple(f.partial for f in rule.factors)))
    numbers = latex(tree.Times(tuple(tree.Num(f.value, d) for f in rule.factors)))
    return {
        "product": f"{symbol} = {partials}",
        "factors": [{"partial": latex(f.partial), "formula": latex(f.formula), "substituted": latex(f.substituted),
                     "value": number(f.value, d, False)} for f in rule.factors],
        "result": rf"{symbol} = {numbers} = \mathbf{{{number(rule.value, d, False)}}}",
    }


# ----------------------------------------------------------------------------------------------
# The worked solution of one step


def _worked_step(problem, step, several: bool, lines: bool = True) -> dict:
    d = problem.answers.decimals
    sections = []
    worked = step.worked if lines else ()
    for section, title in SECTION_TITLES.items():
        quantities = [q for q in worked if q.section == section]
        if quantities:
            sections.append({"title": title, "groups": _by_example(quantities, d, len(step.batch) > 1)})
    batch = ", ".join(str(i + 1) for i in step.batch)
    return {
        "heading": f"Step {step.index + 1} (example{'s' if len(step.batch) > 1 else ''} {batch})" if several else "",
        "sections": sections,
        "notes": list(step.notes),
        "tables": summary_tables(problem, step),
        "loss": number(step.loss, d, False),
        "loss_after": None if step.loss_after is None else number(step.loss_after, d, False),
    }


@functools.lru_cache(maxsize=8192)
def _general(node) -> str:
    """LaTeX of a symbol or general formula: the same in every variant of an exam, printed once."""
    return latex(node)


def _by_example(quantities, d: int, several: bool) -> list[dict]:
    """The lines of one section, grouped by example (as a student works one example at a time);
    quantities of the whole batch (the objective, gradients) come last, without a heading."""
    groups: dict = {}
    for q in quantities:
        groups.setdefault(q.example if several else None, []).append(
            {"symbol": _general(q.symbol), "formula": _general(q.formula), "substituted": latex(q.substituted),
             "value": number(q.value, d, False)})
    order = sorted(groups, key=lambda e: (e is None, e or 0))
    return [{"heading": "" if e is None else f"Example {e + 1}", "lines": groups[e]} for e in order]
