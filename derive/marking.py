"""Stage 4b, marking: a student's answers checked against a verified solution.

:func:`mark` is pure: it takes a :class:`VerifiedSolution` and the parsed
:class:`StudentAnswers` and returns an immutable :class:`Marking`. For each asked quantity of
every step, in the order a student computes them (a later step from the student's own
parameters at the end of the step before):

1. **right** when it is within the sheet's tolerance (:func:`tolerance`) of the verified value,
   or of the value that follows from the student's own (right but rounded) earlier answers;
2. **follow-through** when it follows from the student's own earlier answers and some of them
   were wrong: the slip is counted once, where it was made. No credit when one of those wrong
   earlier values is *degenerate* (0, 1, -1 or a number copied from the sheet): a stock value
   would otherwise buy easy credit downstream;
3. otherwise **wrong**, with the catalogue's mistakes (:mod:`derive.mistakes`) that reproduce
   the value named; when no single one does, the pairs of mistakes that do (at most
   :data:`MAX_PAIRS` tried per value, :data:`MAX_PAIRS_PER_SHEET` per sheet); or a plain
   statement that none does.

Only what a sheet needs is computed: nothing for a right value, the honest recomputations for the
first wrong one, the catalogue's for the first one they do not explain; the catalogue's
recomputations from the start depend on the problem alone and are made once per problem.

The recomputations come from :mod:`derive.recompute`; the verified answer key is the judge of
what is right.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .mistakes import Mistake, mistake_variants
from .quantities import AskedQuantity, QuantityName, StudentAnswers, asked_quantities, expected_values, parents
from .recompute import HONEST, Method, combined, from_the_start, recompute, recompute_many
from .rounding import matches, round_value, tolerance  # noqa: F401 (tolerance: part of marking's API)
from .spec import Answers, Problem
from .verify import VerifiedSolution, require_verified

@dataclass(frozen=True)
class Mark:
    """The marking of one quantity. ``follows_from`` lists the labels of the student's wrong
    earlier values it follows from; ``mistakes`` the ids of catalogue mistakes that explain it."""

    label: str
    section: str
    given: float | None
    expected: float
    status: str
    credit: float
    reason: str
    mistakes: tuple[str, ...] = ()
    follows_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class Marking:
    """A whole answers file marked: one :class:`Mark` per asked quantity, and the score."""

    title: str
    source: str
    answers_source: str
    rule: Answers
    marks: tuple[Mark, ...]
    steps: int = 1  # the problem's number of steps (every one is checked)

    @property
    def score(self) -> float:
        return sum(m.credit for m in self.marks)

    @property
    def total(self) -> int:
        return len(self.marks)

    @property
    def all_correct(self) -> bool:
        return all(m.status == "correct" for m in self.marks)

    def count(self, status: str) -> int:
        return sum(m.status == status for m in self.marks)


def accepted_values(verified: VerifiedSolution) -> dict[QuantityName, tuple[float, ...]]:
    """For each asked quantity of the first step, the values ``derive check`` accepts it around (each with the rule's
    tolerance) from a student who writes every answer rounded as the sheet asks and carries the
    rounded values forward: the exact value first, then what follows from such a student's own
    rounded earlier answers (f' from z or from a; unwritten values exact or rounded). An exam
    that cannot see a student's earlier answers (Moodle) accepts exactly these."""
    return accepted_values_many([verified])[0]


def accepted_values_many(solutions: Sequence[VerifiedSolution], expected: Sequence[dict] | None = None
                         ) -> list[dict[QuantityName, tuple[float, ...]]]:
    """:func:`accepted_values` of each of an exam's variants (solutions of problems differing only
    in their numbers), the recomputations made for all of them at once (``expected``: their
    :func:`~derive.quantities.expected_values`, when the caller has them)."""
    problems = [require_verified(verified).problem for verified in solutions]
    problem = problems[0]
    asked = [item.name for item in asked_quantities(problem, steps=1)]
    expected = expected if expected is not None else [expected_values(verified) for verified in solutions]
    centres = {name: [np.array([values[name] for values in expected])] for name in asked}
    for chain_method in (method for method in HONEST if method.round_unwritten):
        chain = recompute_many(problems, chain_method, {})  # every value rounded before it is used
        student = {name: round_value(problem.answers, chain[name]) for name in asked}
        for method in HONEST:
            run = recompute_many(problems, method, student)
            for name in asked:
                centres[name].append(run[name])
    distinct = {name: _distinct(np.stack(values, axis=-1)) for name, values in centres.items()}
    return [{name: rows[v] for name, rows in distinct.items()} for v in range(len(problems))]


def _distinct(values: np.ndarray) -> list[tuple[float, ...]]:
    """Each row of ``values`` in order without repeats (equal up to float error), finite ones only."""
    kept = np.isfinite(values)
    for j in range(values.shape[1]):
        for k in range(j):
            same = np.abs(values[:, j] - values[:, k]) <= 1e-12 * np.maximum(1.0, np.abs(values[:, k]))
            kept[:, j] &= ~(kept[:, k] & same)
    return [tuple(itertools.compress(row, keeps)) for row, keeps in zip(values.tolist(), kept.tolist())]


def given_numbers(problem: Problem) -> dict[str, float]:
    """Stock values and the numbers printed on the sheet, by what a student would call them."""
    numbers = {"0": 0.0, "1": 1.0, "-1": -1.0, "the learning rate": problem.training.learning_rate}
    for l, (W, b) in enumerate(zip(problem.weights, problem.biases), start=1):
        numbers.update({f"w{l}_{j + 1}{k + 1}": w for j, row in enumerate(W) for k, w in enumerate(row)})
        if problem.network.bias:
            numbers.update({f"b{l}_{j + 1}": v for j, v in enumerate(b)})
    for i, (x, y) in enumerate(zip(problem.inputs, problem.targets), start=1):
        suffix = f"[{i}]" if problem.examples > 1 else ""
        numbers.update({f"x_{k + 1}{suffix}": v for k, v in enumerate(x)})
        numbers.update({f"y_{k + 1}{suffix}": v for k, v in enumerate(y)})
    if problem.training.l2:
        numbers["lambda"] = problem.training.l2
    return numbers


def degenerate(problem: Problem, value: float) -> str | None:
    """Why ``value`` is a stock value (0, 1, -1, or a number copied from the sheet), or None."""
    same = [(what, number) for what, number in given_numbers(problem).items() if matches(problem.answers, value, number)]
    if not same:
        return None
    if same[0][0] in ("0", "1", "-1"):
        return f"a stock value ({same[0][0]})"
    return f"a number copied from the sheet ({', '.join(f'{what} = {number:g}' for what, number in same)})"


def mark(verified: VerifiedSolution, answers: StudentAnswers) -> Marking:
    """Mark ``answers`` against ``verified``: right, follow-through, wrong or unanswered."""
    problem = require_verified(verified).problem
    asked = asked_quantities(problem)
    marker = _Marker(problem, expected_values(verified), answers.as_dict(), asked)
    marks = tuple(marker.mark(item) for item in asked)
    return Marking(problem.title, problem.source, answers.source, problem.answers, marks, problem.training.steps)


#: At most this many pairs of mistakes are tried for one wrong value (only when no single one
#: explains it), and at most ``MAX_PAIRS_PER_SHEET`` for a whole answers file.
MAX_PAIRS = 32
MAX_PAIRS_PER_SHEET = 128


def _onwards_at_full_precision(problem: Problem, chain: dict, given: dict) -> list[dict]:
    """Honest recomputations with a mistake's own ``chain`` at full precision in place of the
    student's written values: what a student who made the mistake and kept full precision writes."""
    unrounded = {name: chain[name] for name in given if name in chain}
    return [recompute(problem, method, unrounded) for method in HONEST if not method.round_unwritten]


@functools.lru_cache(maxsize=256)
def _spread(problem: Problem) -> dict[str, int]:
    """How many of the sheet's values each mistake changes when made from the start (fewest over
    its variants): the more specific mistake ranks first among rivals."""
    honest, spread = from_the_start(problem, Method()), {}
    for mistake, method in mistake_variants(problem):
        whole = from_the_start(problem, method)
        changed = sum(not matches(problem.answers, whole[q], v) for q, v in honest.items())
        spread[mistake.id] = min(spread.get(mistake.id, changed), changed)
    return spread


class _Marker:
    """Marks quantities in order, remembering each one's outcome for those downstream."""

    def __init__(self, problem: Problem, expected: dict, given: dict, asked: tuple[AskedQuantity, ...]) -> None:
        self.problem, self.expected, self.given = problem, expected, given
        self.labels: dict[QuantityName, str] = {q.name: q.label for q in asked}
        self.variants = mistake_variants(problem)
        self.full_chains: dict[int, list[dict]] = {}  # variant -> its onward runs, made when first needed
        self.pair_runs: dict[Method, dict] = {}
        self.pair_budget = MAX_PAIRS_PER_SHEET
        self.right: set[QuantityName] = set()
        self.order: dict[str, tuple[int, int]] | None = None  # computed when first needed
        self.stock: dict[QuantityName, tuple[str, ...]] = {}  # wrong value -> degenerate values it rests on
        self.source_cache: dict[QuantityName, tuple[QuantityName, ...]] = {}

    @functools.cached_property
    def honest(self) -> list[dict]:
        return [recompute(self.problem, method, self.given) for method in HONEST]

    @functools.cached_property
    def mutated(self) -> list[tuple[Mistake, dict, dict]]:
        """Each variant of the catalogue: (mistake, made from the student's values, made from the start)."""
        return [(mistake, recompute(self.problem, method, self.given), from_the_start(self.problem, method))
                for mistake, method in self.variants]

    def matches(self, value: float, target: float) -> bool:
        return matches(self.problem.answers, value, target)

    def mark(self, item: AskedQuantity) -> Mark:
        name = item.name
        expected = self.expected[name]
        value = self.given.get(name)
        base = dict(label=item.label, section=item.section, given=value, expected=expected)
        if value is None:
            return Mark(**base, status="unanswered", credit=0.0, reason="not answered")
        if self.matches(value, expected):
            self.right.add(name)
            return Mark(**base, status="correct", credit=1.0, reason="")
        if any(self.matches(value, run[name]) for run in self.honest) or self.follows_at_full_precision(name, value):
            return self.follow_through(name, value, base)
        self.note_stock(name, value)
        return self.diagnose(name, value, base)

    def follows_at_full_precision(self, name: QuantityName, value: float) -> bool:
        """Whether ``value`` follows honestly from the student's earlier values taken at full
        precision: the chain of a mistake made earlier, which the student's written (rounded)
        earlier answers agree with (only such chains are followed onwards, and only those that
        change one of those earlier values: the others follow on as the honest runs do)."""
        honest = from_the_start(self.problem, Method())
        for i, (_, method) in enumerate(self.variants):
            whole = from_the_start(self.problem, method)
            sources = self.sources(name)
            if all(self.matches(whole[p], honest[p]) for p in sources) or not self.consistent(name, whole):
                continue
            if i not in self.full_chains:
                self.full_chains[i] = _onwards_at_full_precision(self.problem, whole, self.given)
            if any(self.matches(value, run[name]) for run in self.full_chains[i]):
                return True
        return False
    def sources(self, name: QuantityName) -> tuple[QuantityName, ...]:
        """The student's answers that ``name`` is computed from, looking through unanswered ones."""
        if name not in self.source_cache:
            found: dict[QuantityName, None] = {}
            for parent in parents(name, self.problem):
                found.update(dict.fromkeys((parent,) if parent in self.given else self.sources(parent)))
            self.source_cache[name] = tuple(found)
        return self.source_cache[name]

    def wrong_upstream(self, name: QuantityName) -> list[QuantityName]:
        """The student's wrong answers that ``name`` is computed from."""
        return [p for p in self.sources(name) if p not in self.right]

    def note_stock(self, name: QuantityName, value: float) -> None:
        """Remember a wrong value that is a stock number: nothing downstream earns credit from it."""
        reason = degenerate(self.problem, value)
        if reason:
            self.stock[name] = self.stock.get(name, ()) + (f"{self.labels[name]} = {value:g} is {reason}",)

    def follow_through(self, name: QuantityName, value: float, base: dict) -> Mark:
        wrong = self.wrong_upstream(name)
        if not wrong:
            self.right.add(name)
            return Mark(**base, status="correct", credit=1.0, reason="right from your own rounded earlier values")
        labels = tuple(self.labels.get(p, p.kind) for p in wrong)
        stock = tuple(dict.fromkeys(s for p in wrong for s in self.stock.get(p, ())))
        self.stock[name] = stock
        self.note_stock(name, value)
        if stock:
            reason = (f"follows from your earlier value of {', '.join(labels)}, but {'; '.join(stock)}: "
                      "no follow-through credit")
            return Mark(**base, status="wrong", credit=0.0, reason=reason, follows_from=labels)
        return Mark(**base, status="follow_through", credit=1.0,
                    reason=f"follows from your earlier value of {', '.join(labels)}", follows_from=labels)

    def explanations(self, name: QuantityName, value: float) -> dict[str, str]:
        """The catalogue mistakes that give ``value``: made at this quantity from the student's own
        earlier values, or made earlier in steps the student did not write down."""
        honest = self.honest_values(name)
        found: dict[str, str] = {}
        for mistake, local, whole in self.mutated:
            if self.explains(name, value, honest, local, whole):
                found.setdefault(mistake.id, mistake.explanation)
        return found

    def honest_values(self, name: QuantityName) -> list[float]:
        return [run[name] for run in self.honest] + [self.expected[name]]

    def explains(self, name: QuantityName, value: float, honest: list[float], local: dict, whole: dict) -> bool:
        """Whether a mistake's run from the student's values (``local``) or from the start
        (``whole``, when the student's earlier answers agree with it) gives ``value`` where the
        honest ways do not."""
        for candidate, run in ((local[name], None), (whole[name], whole)):
            changes = not any(self.matches(candidate, h) for h in honest)
            if changes and self.matches(value, candidate) and (run is None or self.consistent(name, run)):
                return True
        return False

    def pair_explanations(self, name: QuantityName, value: float) -> dict[tuple[str, str], str]:
        """The pairs of catalogue mistakes that together give ``value``, when no single one does.

        Two mistakes are paired only where each changes this quantity on its own, made from the
        student's values or made from the start, the nearest to the student's value first (at
        most :data:`MAX_PAIRS` pairs tried, :data:`MAX_PAIRS_PER_SHEET` for the sheet)."""
        honest = self.honest_values(name)

        def changes(run: dict) -> bool:
            return not any(self.matches(run[name], h) for h in honest)

        acting = [(abs(min(local[name], whole[name], key=lambda v: abs(v - value)) - value), i,
                   mistake, method, changes(local), changes(whole))
                  for i, ((mistake, method), (_, local, whole)) in enumerate(zip(self.variants, self.mutated))]
        # the mistakes that come nearest the student's value alone are paired first
        acting = sorted(entry for entry in acting if entry[4] or entry[5])
        found: dict[tuple[str, str], str] = {}
        tried = 0
        for i, j in sorted(itertools.combinations(range(len(acting)), 2), key=lambda pair: (sum(pair), pair)):
            (*_, first, one, first_local, first_whole), (*_, second, other, second_local, second_whole) = \
                sorted((acting[i], acting[j]), key=lambda entry: entry[1])  # named in catalogue order
            both = combined(one, other) if first.id != second.id else None
            local, whole = first_local and second_local, first_whole and second_whole
            if both is None or (first.id, second.id) in found or not (local or whole):
                continue
            if tried == MAX_PAIRS or self.pair_budget == 0:
                break
            tried, self.pair_budget = tried + 1, self.pair_budget - 1
            if self.pair_explains(name, value, both, local, whole):
                found[(first.id, second.id)] = f"two mistakes together: {first.explanation}; and {second.explanation}"
        return found

    def pair_explains(self, name: QuantityName, value: float, both: Method, local: bool, whole: bool) -> bool:
        """Whether the two mistakes of ``both`` give ``value``, made from the student's values
        (when ``local``) or from the start (when ``whole``)."""
        honest = self.honest_values(name)
        if whole:
            run = from_the_start(self.problem, both)
            if not any(self.matches(run[name], h) for h in honest) and self.matches(value, run[name]) \
                    and self.consistent(name, run):
                return True
        if local:
            if both not in self.pair_runs:
                self.pair_runs[both] = recompute(self.problem, both, self.given)
            run = self.pair_runs[both]
            return not any(self.matches(run[name], h) for h in honest) and self.matches(value, run[name])
        return False

    def consistent(self, name: QuantityName, run: dict[QuantityName, float]) -> bool:
        """Whether the student's earlier answers agree with ``run`` (a mistake made from the start)."""
        return all(self.matches(self.given[p], run[p]) for p in self.sources(name))

    def ranking(self) -> dict[str, tuple[int, int]]:
        """Rival explanations ordered by how many of the student's wrong values each explains, then
        by how few of the sheet's values the mistake changes (the more specific first)."""
        support: dict[str, int] = {}
        for name, value in self.given.items():
            if name in self.expected and not self.matches(value, self.expected[name]):
                for mistake_id in self.explanations(name, value):
                    support[mistake_id] = support.get(mistake_id, 0) + 1
        spread = _spread(self.problem)
        return {m: (-support.get(m, 0), spread.get(m, 0)) for m in spread}

    def diagnose(self, name: QuantityName, value: float, base: dict) -> Mark:
        found = self.explanations(name, value)
        if found:
            if self.order is None:
                self.order = self.ranking()
            ranked = sorted(found, key=lambda mistake_id: self.order[mistake_id])
            return Mark(**base, status="wrong", credit=0.0, reason="; or ".join(found[m] for m in ranked),
                        mistakes=tuple(ranked))
        pairs = self.pair_explanations(name, value)
        if pairs:
            ids = tuple(dict.fromkeys(mistake_id for pair in pairs for mistake_id in pair))
            return Mark(**base, status="wrong", credit=0.0, reason="; or ".join(pairs.values()), mistakes=ids)
        return Mark(**base, status="wrong", credit=0.0,
                    reason="not explained by any common mistake derive knows, alone or two together; "
                    "compare with the worked solution")
