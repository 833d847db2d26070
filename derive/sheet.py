"""Stage 4, LaTeX rendering: a student worksheet and an answer key from a verified solution.

A pure core (no files, no processes): :func:`worksheet_tex` and :func:`answers_tex` turn a
:class:`~derive.verify.VerifiedSolution` into LaTeX source. Python prepares finished LaTeX
(math, numbers, escaped prose); the Jinja2 templates under ``templates/`` hold the layout.
Compiling to PDF is :mod:`derive.pdf`'s job.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import sympy as sp

from . import tree
from .diagram import LABEL_HEIGHT, NEURON_SIZE, Box, Edge, label_width, place_labels
from .formulas import formulas
from .i18n import gettext_for, translations
from .latex_tables import data_table, escape, side_by_side, summary_tables
from .notation import NIELSEN, Notation, for_problem
from .printing import Templates, latex, number, pmatrix, templates
from .registry import ACTIVATIONS, LOSSES
from .sections import BY_KEY, asked_sections
from .sections import TITLES as SECTION_TITLES
from .sentences import rounding_phrase, verification_sentence
from .templating import render
from .verify import VerifiedSolution, require_verified
from .worked import slotted_lines
from .worked_lines import function_name

Compared = tuple[tuple[str, VerifiedSolution], ...]

MAX_STEPS_WORKED = 3  # more steps than this: step 1 is worked in full, the rest are tabulated


def worksheet_tex(verified: VerifiedSolution) -> str:
    """The students' worksheet: the network, the given numbers and the questions."""
    return _render("worksheet.tex.j2", _worksheet_context(verified), verified)


def worksheet_body(verified: VerifiedSolution) -> str:
    """The worksheet without preamble: to be placed in a larger document (an exam)."""
    return _render("worksheet-body.tex.j2", _worksheet_context(verified), verified)


def derivation_body(verified: VerifiedSolution) -> str:
    """The general formulas and the proofs: the same for every problem on one network."""
    return _render("derivation.tex.j2", _derivation_context(verified), verified)


def worked_body(verified: VerifiedSolution, with_tables: bool = True) -> str:
    """The worked solution of the (first few) steps, optionally with their summary tables."""
    return _render("worked.tex.j2", dict(_common(verified), steps=_worked_steps(verified, tables=with_tables),
                                               with_tables=with_tables), verified)


def final_answers_body(verified: VerifiedSolution) -> str:
    """One compact block of final answers: the given numbers and each worked step's tables."""
    verified = require_verified(verified)
    return _render("final-answers.tex.j2", dict(_common(verified), steps=_worked_steps(verified, lines=False)), verified)


def _render(template: str, context: dict, verified: VerifiedSolution) -> str:
    return render(template, context, verified.problem.language)


def _worksheet_context(verified: VerifiedSolution) -> dict:
    verified = require_verified(verified)
    return dict(_common(verified), questions=_questions(verified))


def _derivation_context(verified: VerifiedSolution) -> dict:
    derivation = require_verified(verified).solution.derivation
    _ = gettext_for(verified.problem.language)
    notation = for_problem(verified.problem)
    return {
        "formulas": [{"title": f.title, "latex": f.latex} for f in formulas(derivation, notation)]
        + _profile_rules(notation, derivation.network.loss),
        "proofs": [{"claim": p.claim_in(notation), "method": p.method_latex,
                    "identities": _plural(p.instances, _("identity"), _("identities")), "holds": p.holds}
                   for p in derivation.proofs],
    }


def _profile_rules(notation: Notation, loss: str) -> list[dict]:
    """The notation profile's own statement of the rules, as the course writes them."""
    lines = [*notation.rules, *(rule for name, rule in notation.loss_rules if name == loss),
             *(notation.row_rules if notation.row else ())]
    return [{"title": f"In the course's notation ({notation.name})", "latex": line} for line in lines]


def _worked_steps(verified: VerifiedSolution, lines: bool = True, tables: bool = True) -> list[dict]:
    """The steps worked on the sheet (``lines``: with their worked lines; ``tables``: with their
    summary tables)."""
    solution = verified.solution
    steps = solution.steps if len(solution.steps) <= MAX_STEPS_WORKED else solution.steps[:1]
    return [_worked_step(solution.problem, step, len(solution.steps) > 1, lines, tables) for step in steps]


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
        verification=verification_sentence(verified),
        comparison=_comparison(verified, compared) if compared else None,
        comparison_verification=[f"{option}: {verification_sentence(other)}" for option, other in compared
                                 if other.problem.network != problem.network],
    )
    return _render("answers.tex.j2", context, verified)


# ----------------------------------------------------------------------------------------------
# Shared by both documents


def _common(verified: VerifiedSolution) -> dict:
    return _common_of(verified.problem)


@functools.lru_cache(maxsize=2)  # an exam lays out a variant's sheet, answers and worked solution in turn
def _common_of(problem) -> dict:
    net, notation = problem.network, for_problem(problem)
    loss = LOSSES[net.loss]
    _ = gettext_for(problem.language)
    return {
        "title": problem.title,
        "instructions": problem.instructions,
        "network": _network_drawing(problem),
        "architecture": "--".join(map(str, net.layers)),
        "loss_name": _(loss.description),
        "loss_latex": loss.latex,
        "activations": [(l, _activation_formula(a, l, notation), _(ACTIVATIONS[a].description))
                        for l, a in enumerate(net.activations, 1)],
        "data": data_table(problem),
        "parameters": parameter_matrices(problem),
        "settings": _settings(problem),
        "decimals": problem.answers.decimals,
    }


@functools.lru_cache(maxsize=256)
def _activation_formula(name: str, layer: int, N: Notation = NIELSEN) -> str:
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
    """Coordinates and finished labels for the TikZ picture (the template only places them);
    every weight's label at a place :func:`derive.diagram.place_labels` found free."""
    net, N = problem.network, for_problem(problem)
    d = problem.answers.decimals
    _ = gettext_for(problem.language)
    tallest = max(net.layers)
    layers, centres, obstacles = [], {}, []
    for l, size in enumerate(net.layers):
        nodes = []
        for j in range(size):
            x, y = 4.6 * l, 1.9 * ((tallest - 1) / 2 - j)
            centres[l, j] = (x, y)
            obstacles.append(Box(x, y, NEURON_SIZE, NEURON_SIZE))
            bias = ""
            if l > 0 and net.bias:
                value = number(problem.biases[l - 1][j], d, False)
                bias = f"{N.all_biases.latex} = {value}"
                obstacles.append(Box(x, y - NEURON_SIZE / 2 - LABEL_HEIGHT / 2, 0.4 + label_width(value), LABEL_HEIGHT))
            nodes.append(_Neuron(f"n{l}-{j}", f"{y:.2f}", N.node(l, j + 1), bias))
        activation = _("input") if l == 0 else rf"${ACTIVATIONS[net.activations[l - 1]].latex}$"
        layers.append(_Layer(f"{4.6 * l:.1f}", nodes, activation, f"{1.9 * (tallest - 1) / 2 + 0.9:.2f}"))
    edges, lines = [], []
    for l, W in enumerate(problem.weights, start=1):
        previous = net.layers[l - 1]
        for j, row in enumerate(W):
            for k, w in enumerate(row):
                # A plain layout puts every label of the edges leaving neuron k at one fraction of
                # the edge, a different one for each k; place_labels starts from there.
                preferred = 0.2 + 0.45 * (k / (previous - 1) if previous > 1 else 0)
                edges.append(Edge(centres[l - 1, k], centres[l, j], number(w, d, False), preferred))
                lines.append((f"n{l - 1}-{k}", f"n{l}-{j}", number(w, d, False)))
    labelled = [_Link(*line, f"{box.x:.2f}", f"{box.y:.2f}") for line, box in zip(lines, place_labels(edges, obstacles))]
    return {"layers": layers, "edges": labelled}


# The drawing's parts as the template reads them: attributes, which Jinja reads at once (on a dict
# it first tries getattr and fails), and a drawing is set once per variant of an exam.


class _Neuron(NamedTuple):
    id: str
    y: str
    label: str
    bias: str


class _Layer(NamedTuple):
    x: str
    nodes: list
    caption: str
    top: str


class _Link(NamedTuple):
    """An edge and where its weight's label goes."""

    source: str
    target: str
    label: str
    x: str
    y: str


def parameter_matrices(problem) -> list[str]:
    """W^(l) and b^(l) as matrices, so no number depends on reading the drawing's labels."""
    d, N = problem.answers.decimals, for_problem(problem)
    shown = []
    for l, (W, b) in enumerate(zip(problem.weights, problem.biases), start=1):
        W = list(zip(*W)) if N.row else W  # as the file gives it: (inputs, neurons) in row layout
        tex = f"{N.W(l)} = {pmatrix(W, d)}"
        if problem.network.bias:
            tex += rf",\quad {N.b_vector(l)} = {pmatrix([list(b)] if N.row else [[v] for v in b], d)}"
        shown.append(tex)
    return shown


def _settings(problem) -> list[tuple[str, str]]:
    training = problem.training
    d = problem.answers.decimals
    _ = gettext_for(problem.language)
    batch = (_("full batch (the mean over all examples)") if training.batch_size is None
             else _("batches of {size}, in file order").format(size=training.batch_size))
    if training.epochs:
        length = _("{epochs} epochs ({steps} steps)").format(epochs=training.epochs, steps=training.steps)
    else:
        length = (_("forward pass only") if training.steps == 0
                  else (_("{steps} step") if training.steps == 1 else _("{steps} steps")).format(steps=training.steps))
    rows = [
        (_("learning rate"), rf"$\eta = {number(training.learning_rate, d, False)}$"),
        (_("training"), escape(f"{length}, {batch}")),
    ]
    if training.l2:
        rows.append((_("L2 regularisation"), rf"$\lambda = {number(training.l2, d, False)}$ " + _("(weights only)")))
    if not problem.network.bias:
        rows.append((_("biases"), _("none (fixed at 0)")))
    elif not problem.updates_biases:
        rows.append((_("biases"), _("held fixed (only the weights are updated)")))
    rows.append((_("rounding"), _("give answers {rule}; keep full precision in between").format(
        rule=escape(rounding_phrase(problem.answers, _)))))
    return rows



def _questions(verified: VerifiedSolution) -> list[str]:
    problem = verified.problem
    training = problem.training
    batch = problem.examples if training.batch_size is None else training.batch_size
    many = batch > 1
    _ = gettext_for(problem.language)
    fill = {
        "ex": _(" for every example of the batch") if many else "",
        "loss_ex": _(" of every example and the objective $J$ of the batch") if many or training.l2 else "",
        "L": problem.network.depth,
        "objective": _("batch objective $J$") if many or training.l2 else _("loss"),
        "bias": _(" and bias") if problem.updates_biases else "",
        # the same words as the object of "give every new weight" (another case in sk, fi, ru)
        "new_bias": translations(problem.language).pgettext("the object of 'give every new weight'", " and bias")
        if problem.updates_biases else "",
        "eta": number(training.learning_rate, problem.answers.decimals, False),
        "data": _("batch") if many else _("example"),
    }
    asked = asked_sections(problem.answers.asked, training.steps, exercises=True)
    questions = [_(BY_KEY[q].question).format(**fill) for q in asked]
    if problem.compare is not None:
        options = [escape(o) for o in problem.compare.options]
        repeat = (_("Repeat the computation with the hidden activation replaced by each of {options} and {last}, and "
                    "compare the results in a table: which changes, and why?")
                  if problem.compare.what == "hidden_activation" else
                  _("Repeat the computation with the loss replaced by each of {options} and {last}, and compare the "
                    "results in a table: which changes, and why?"))
        questions.append(repeat.format(options=", ".join(options[:-1]), last=options[-1]))
    if training.steps > 1:
        questions.append((_("Repeat for all {steps} steps (batches in file order, wrapping around) and tabulate the "
                            "loss before each update and the mean loss per epoch.") if training.epochs else
                          _("Repeat for all {steps} steps (batches in file order, wrapping around) and tabulate the "
                            "loss before each update.")).format(steps=training.steps))
    return questions


# ----------------------------------------------------------------------------------------------
# Comparing hidden activations or losses


def _comparison(verified: VerifiedSolution, compared: Compared) -> dict:
    """Worked steps of every option other than the file's own, then one side-by-side table."""
    problem = verified.problem
    _ = gettext_for(problem.language)
    hidden = problem.compare.what == "hidden_activation"
    own = _option_of(problem)
    columns = ([] if own in dict(compared) else [(own, verified)]) + list(compared)
    alternatives = []
    for option, other in compared:
        if option == own:
            continue
        solution = other.solution
        alternatives.append({
            "heading": escape((_("With hidden activation {option}") if hidden else _("With loss {option}")).format(option=option)),
            "steps": [_worked_step(other.problem, step, len(solution.steps) > 1) for step in solution.steps[:1]],
        })
    names = ", ".join(escape(option) for option, _other in columns)
    listed = ", ".join(option for option, _other in columns)
    title = _("Comparison of the hidden activations: {options}") if hidden else _("Comparison of the losses: {options}")
    intro = (_("The same network, numbers and step with the hidden activation replaced by each of {n} options; the "
               "worked solution above is the one with {own}.") if hidden else
             _("The same network, numbers and step with the loss replaced by each of {n} options; the worked "
               "solution above is the one with {own}."))
    return {
        "title": escape(title.format(options=listed)),
        "intro": escape(intro.format(n=len(columns), own=own)) if len(columns) > 1 else names,
        "alternatives": alternatives,
        "table": side_by_side(problem.answers.decimals, columns, problem.updates_biases, _, for_problem(problem)),
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
    _ = gettext_for(problem.language)
    N = for_problem(problem)
    several = problem.examples > 1
    weights = (_("one output-layer weight and one hidden-layer weight") if len(rules) > 1
               else _("one output-layer weight"))
    sentence = (_("The derivative of the loss ${loss}$ of example {example} (the first of step 1) with respect to "
                  "{weights}, as the product of the local derivatives SymPy derived, each evaluated at the numbers.")
                if several else
                _("The derivative of the loss ${loss}$ with respect to {weights}, as the product of the local "
                  "derivatives SymPy derived, each evaluated at the numbers."))
    averaged = several and (problem.training.batch_size or problem.examples) > 1
    l2 = rf"${N.lam()} w/{N.m()}$"
    if averaged and problem.training.l2:
        batch = _(" The gradient of the batch objective averages this over the batch's examples and adds the L2 term {l2}.")
    elif averaged:
        batch = _(" The gradient of the batch objective averages this over the batch's examples.")
    elif problem.training.l2:
        batch = _(" The gradient of the objective adds the L2 term {l2}.")
    else:
        batch = ""
    return (sentence.format(loss=N.loss.latex, example=rules[0].example + 1, weights=weights)
            + batch.format(l2=l2))


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


def _worked_step(problem, step, several: bool, lines: bool = True, tables: bool = True) -> dict:
    d = problem.answers.decimals
    _ = gettext_for(problem.language)
    sections = []
    worked = _printed_lines(step, d) if lines else ()
    for section, title in SECTION_TITLES.items():
        quantities = [line for line in worked if line[0].section == section]
        if quantities:
            sections.append(_Section(_(title), _by_example(quantities, len(step.batch) > 1, _)))
    batch = ", ".join(str(i + 1) for i in step.batch)
    heading = _("Step {step} (examples {batch})") if len(step.batch) > 1 else _("Step {step} (example {batch})")
    return {
        "heading": heading.format(step=step.index + 1, batch=batch) if several else "",
        "sections": sections,
        "notes": list(step.notes),
        "tables": summary_tables(problem, step) if tables else [],
        "loss": number(step.loss, d, False),
        "loss_after": None if step.loss_after is None else number(step.loss_after, d, False),
    }


def _printed_lines(step, decimals: int) -> list[tuple]:
    """Each worked line of ``step`` as (its quantity, then in LaTeX its symbol, the general formula,
    the formula with the numbers, the value). The lines of a step's shape are built and printed
    once (an exam's variants share them); each step fills in its own numbers."""
    slotted, numbers = slotted_lines(step)
    general, open_lines = _line_templates(slotted, decimals)
    return [(q, symbol, formula, substituted, value) for q, (symbol, formula), (substituted, value)
            in zip(slotted.quantities, general, open_lines.fill(numbers))]


@functools.lru_cache(maxsize=64)
def _line_templates(slotted, decimals: int) -> tuple[list[tuple[str, str]], Templates]:
    """The symbols and general formulas of a step's shape, printed, and its lines' templates."""
    general = [(latex(q.symbol), latex(q.formula)) for q in slotted.quantities]
    return general, templates([(q.substituted, q.value) for q in slotted.quantities], decimals)


class _Line(NamedTuple):
    """A worked line as the template sets it. Lines, groups and sections are named tuples, not
    dicts: Jinja reads an attribute at once, while on a dict it first tries getattr and fails,
    and an exam sets a million lines."""

    symbol: str
    formula: str
    substituted: str
    value: str


class _Group(NamedTuple):
    heading: str  # "Example 2", or empty for the batch's quantities
    lines: list[_Line]


class _Section(NamedTuple):
    title: str
    groups: list[_Group]


def _by_example(lines, several: bool, _=str) -> list[_Group]:
    """The lines of one section, grouped by example (as a student works one example at a time);
    quantities of the whole batch (the objective, gradients) come last, without a heading."""
    groups: dict = {}
    for q, symbol, formula, substituted, value in lines:
        groups.setdefault(q.example if several else None, []).append(_Line(symbol, formula, substituted, value))
    order = sorted(groups, key=lambda e: (e is None, e or 0))
    return [_Group("" if e is None else _("Example {n}").format(n=e + 1), groups[e]) for e in order]
