"""Terminal rendering: a readable worked solution (a thin driver over a verified solution).

The section headings, notes and verification line are in the problem's language (derive.i18n);
the rest of the terminal text is English."""

from __future__ import annotations

from .formulas import Formula
from .i18n import gettext_for
from .printing import number, text
from .sections import TITLES as SECTION_TITLES
from .sentences import verification_sentence
from .verify import VerifiedSolution, require_verified
from .worked import Quantity


def worked_solution(verified: VerifiedSolution, max_steps_shown: int = 3) -> str:
    """The worked solution as plain text: every step's lines, a loss table, the verification."""
    verified = require_verified(verified)
    solution = verified.solution
    problem = solution.problem
    _ = gettext_for(problem.language)
    out = [problem.title, "=" * len(problem.title), _describe(problem), ""]
    shown = solution.steps if len(solution.steps) <= max_steps_shown else solution.steps[:1]
    for step in shown:
        if len(solution.steps) > 1:
            out += [f"Step {step.index + 1} (examples {', '.join(str(i + 1) for i in step.batch)})", ""]
        worked = step.worked
        for section, title in SECTION_TITLES.items():
            lines = [_line(q, problem.answers.decimals) for q in worked if q.section == section]
            if lines:
                out += [f"  {_(title)}"] + [f"    {line}" for line in lines] + [""]
        out += [f"  {_('Note:')} {note}" for note in step.notes]
    if len(shown) < len(solution.steps):
        out += [f"(steps 2 to {len(solution.steps)} are worked the same way; see --json for every number)", ""]
    d = problem.answers.decimals
    if len(solution.steps) > 1:
        out += ["Loss per step", "  step   loss before   loss after"]
        out += [f"  {s.index + 1:>4}   {number(s.loss, d, False):>11}   {number(s.loss_after, d, False):>10}" for s in solution.steps]
        out.append("")
    if problem.training.epochs:
        out += ["Mean loss per epoch"] + [f"  epoch {e.epoch}: {number(e.mean_loss, d, False)}" for e in solution.epochs]
        out.append("")
    out.append(verification_sentence(verified))
    return "\n".join(out)


def _line(q: Quantity, decimals: int) -> str:
    """One worked line in plain text: symbol = formula with the numbers = result."""
    return f"{text(q.symbol)} = {text(q.substituted)} = {number(q.value, decimals, False)}"


def _describe(problem) -> str:
    net, training = problem.network, problem.training
    batch = "full batch" if training.batch_size is None else f"batch size {training.batch_size}"
    parts = [
        f"network {'-'.join(map(str, net.layers))}, activations {', '.join(net.activations)}, loss {net.loss}",
        f"learning rate {training.learning_rate:g}, {training.steps} step(s), {batch}"
        + (f", L2 lambda = {training.l2:g}" if training.l2 else ""),
        f"answers to {problem.answers.decimals} decimals (full precision kept internally)",
    ]
    return "\n".join(parts)


def formula_listing(found: tuple[Formula, ...], proofs) -> str:
    """The derived formulas, text and LaTeX, then what SymPy proved."""
    out = []
    for f in found:
        out += [f.title, f"  {f.text}", f"  LaTeX: {f.latex}", ""]
    out.append("Proved by SymPy for this network:")
    for p in proofs:
        out.append(f"  [{'ok' if p.holds else 'FAILED'}] {p.method} ({p.instances} identities)")
    return "\n".join(out)
