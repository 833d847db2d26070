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
from pylatex import NoEscape, Tabular
from pylatex.utils import escape_latex

from .answer_key import epoch_losses
from .formulas import formulas
from .printing import latex, number, pmatrix
from .registry import ACTIVATIONS, LOSSES
from .rounding import phrase
from .sections import BY_KEY, asked_sections
from .spec import SECTION_TITLES
from .verify import VerifiedSolution, require_verified
from .worked import SECTION_KINDS

Compared = tuple[tuple[str, VerifiedSolution], ...]

def _templates_folder() -> Path:
    """templates/ of the source checkout, or the copy an installed wheel carries in the package."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "templates"
    return checkout if (checkout / "preamble.tex.j2").is_file() else here / "templates"


TEMPLATES = _templates_folder()
MAX_STEPS_WORKED = 3  # more steps than this: step 1 is worked in full, the rest are tabulated

def escape(text: str) -> str:
    """Prose from a problem file as literal LaTeX text (pylatex's escaping, plus ``_ < > |`` as
    text commands, which print as themselves in any font encoding)."""
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
    return _render("final-answers.tex.j2", dict(_common(verified), steps=_worked_steps(verified)))


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


def _worked_steps(verified: VerifiedSolution) -> list[dict]:
    solution = verified.solution
    steps = solution.steps if len(solution.steps) <= MAX_STEPS_WORKED else solution.steps[:1]
    return [_worked_step(solution.problem, step, len(solution.steps) > 1) for step in steps]


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
        epochs=[(e["epoch"], number(e["mean_loss"], d, False)) for e in epoch_losses(verified)]
        if problem.training.epochs else [],
        epoch_plot=" ".join(f"({e['epoch'] * training.steps_per_epoch(problem.examples)},{e['mean_loss']!r})"
                            for e in epoch_losses(verified))
        if problem.training.epochs else "",
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
        "data": _data_table(problem),
        "parameters": _parameter_matrices(problem),
        "settings": _settings(problem),
        "decimals": problem.answers.decimals,
    }


def _activation_formula(name: str, layer: int) -> str:
    """a^(l) = f(z^(l)), with f written out from the registry's SymPy form when elementwise."""
    activation = ACTIVATIONS[name]
    head = rf"a^{{({layer})}} = {activation.latex}(z^{{({layer})}})"
    if not activation.elementwise:
        return head
    z = sp.Symbol("z")
    form = activation.sympy([z])[0]
    if isinstance(form, sp.Function) and not isinstance(form, sp.Piecewise):  # tanh(z): nothing to add
        return head
    return head + r",\quad " + rf"{activation.latex}(z) = {latex(form)}"


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


def _parameter_matrices(problem) -> list[str]:
    """W^(l) and b^(l) as matrices, so no number depends on reading the drawing's labels."""
    d = problem.answers.decimals
    shown = []
    for l, (W, b) in enumerate(zip(problem.weights, problem.biases), start=1):
        tex = rf"W^{{({l})}} = {pmatrix(W, d)}"
        if problem.network.bias:
            tex += rf",\quad b^{{({l})}} = {pmatrix([[v] for v in b], d)}"
        shown.append(tex)
    return shown


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
        "table": _side_by_side(problem.answers.decimals, columns, problem.network.bias),
    }


def _option_of(problem) -> str:
    net = problem.network
    return net.loss if problem.compare.what == "loss" else net.activations[0]


def _side_by_side(d: int, columns: list[tuple[str, VerifiedSolution]], bias: bool) -> str:
    """Rows: output activations, J, every delta, gradient and updated parameter of step 1, J'."""
    steps = [other.solution.steps[0] for _, other in columns]
    first = steps[0]
    L = len(first.layers)
    rows: list[tuple[str, list[float]]] = []
    several = len(first.batch) > 1

    def ex(r: int) -> str:
        return f"^{{[{first.batch[r] + 1}]}}" if several else ""

    for r in range(len(first.batch)):
        for j in range(first.layers[-1].a.shape[1]):
            rows.append((f"a^{{({L})}}_{{{j + 1}}}{ex(r)}", [s.layers[-1].a[r, j] for s in steps]))
    rows.append(("J", [s.loss for s in steps]))
    if first.layers[0].delta is not None:
        for l in range(L, 0, -1):
            for r in range(len(first.batch)):
                for j in range(first.layers[l - 1].delta.shape[1]):
                    rows.append((rf"\delta^{{({l})}}_{{{j + 1}}}{ex(r)}", [s.layers[l - 1].delta[r, j] for s in steps]))
        for kind, symbol in (("grad", r"\partial J/\partial {}"), ("new", "{{{}}}'")):
            for l in range(1, L + 1):
                layer = first.layers[l - 1]
                for j in range(layer.W.shape[0]):
                    for k in range(layer.W.shape[1]):
                        name = symbol.format(f"w^{{({l})}}_{{{j + 1}{k + 1}}}")
                        pick = (lambda s: s.layers[l - 1].grad_W[j, k]) if kind == "grad" else (lambda s: s.layers[l - 1].W[j, k])
                        rows.append((name, [pick(s) for s in steps]))
                    if bias:
                        name = symbol.format(f"b^{{({l})}}_{{{j + 1}}}")
                        pick = (lambda s: s.layers[l - 1].grad_b[j]) if kind == "grad" else (lambda s: s.layers[l - 1].b[j])
                        rows.append((name, [pick(s) for s in steps]))
        rows.append(("J'", [s.loss_after for s in steps]))
    header = ["quantity"] + [rf"\texttt{{{escape(option)}}}" for option, _ in columns]
    body = [[f"${name}$"] + [f"${number(v, d, False)}$" for v in values] for name, values in rows]
    return _tabular("l" + "r" * len(columns), header, body)


# ----------------------------------------------------------------------------------------------
# The chain rule, term by term


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _chain_intro(problem, rules) -> str:
    if not rules:
        return ""
    example = rules[0].example + 1
    several = problem.examples > 1
    whose = f"the loss $L$ of example {example} (the first of step 1)" if several else "the loss $L$"
    batch = (" The gradient of the batch objective averages this over the batch's examples"
             if several and (problem.training.batch_size or problem.examples) > 1 else "")
    if problem.training.l2:
        batch += (" and adds" if batch else " The gradient of the objective adds") + r" the L2 term $\lambda w/m$"
    batch += "." if batch else ""
    return (f"The derivative of {whose} with respect to one output-layer weight"
            + (" and one hidden-layer weight" if len(rules) > 1 else "")
            + ", as the product of the local derivatives SymPy derived, each evaluated at the numbers." + batch)


def _chain(problem, rule) -> dict:
    d = problem.answers.decimals
    partials = r" \cdot ".join(f.partial for f in rule.factors)
    numbers = r" \cdot ".join(number(f.value, d) for f in rule.factors)
    return {
        "product": f"{rule.symbol} = {partials}",
        "factors": [{"partial": f.partial, "formula": f.formula, "substituted": f.substituted,
                     "value": number(f.value, d, False)} for f in rule.factors],
        "result": rf"{rule.symbol} = {numbers} = \mathbf{{{number(rule.value, d, False)}}}",
    }


# ----------------------------------------------------------------------------------------------
# The worked solution of one step


def _worked_step(problem, step, several: bool) -> dict:
    d = problem.answers.decimals
    sections = []
    for section, kinds in SECTION_KINDS.items():
        quantities = [q for q in step.worked if q.kind in kinds]
        if quantities:
            sections.append({"title": SECTION_TITLES[section], "groups": _by_example(quantities, d, len(step.batch) > 1)})
    batch = ", ".join(str(i + 1) for i in step.batch)
    return {
        "heading": f"Step {step.index + 1} (example{'s' if len(step.batch) > 1 else ''} {batch})" if several else "",
        "sections": sections,
        "notes": list(step.notes),
        "tables": _summary_tables(problem, step),
        "loss": number(step.loss, d, False),
        "loss_after": None if step.loss_after is None else number(step.loss_after, d, False),
    }


def _by_example(quantities, d: int, several: bool) -> list[dict]:
    """The lines of one section, grouped by example (as a student works one example at a time);
    quantities of the whole batch (the objective, gradients) come last, without a heading."""
    groups: dict = {}
    for q in quantities:
        groups.setdefault(q.example if several else None, []).append(
            {"symbol": q.symbol, "formula": q.formula, "substituted": q.substituted, "value": number(q.value, d, False)})
    order = sorted(groups, key=lambda e: (e is None, e or 0))
    return [{"heading": "" if e is None else f"Example {e + 1}", "lines": groups[e]} for e in order]


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
