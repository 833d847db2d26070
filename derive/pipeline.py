"""The pipeline in one call: spec -> derivation -> substitution -> verification."""

from __future__ import annotations

import functools
from typing import Sequence

from .derivation import Derivation, derive
from .spec import Network, Problem
from .verify import VerifiedSolution, verify, verify_many
from .worked import substitute, substitute_many


def solve(problem: Problem) -> VerifiedSolution:
    """Derive, substitute and verify: the only way to a solution a renderer will print."""
    return verify(substitute(problem, derivation(problem.network)))


def solve_many(problems: Sequence[Problem]) -> tuple[VerifiedSolution, ...]:
    """:func:`solve` for problems differing only in their numbers (an exam's variants), their
    numbers computed and verified together; each equals ``solve`` of the problem alone."""
    return verify_many(substitute_many(problems, derivation(problems[0].network)))


@functools.lru_cache(maxsize=16)
def derivation(network: Network) -> Derivation:
    """The network's derivation, derived once: every variant of an exam shares its network."""
    return derive(network)


def solve_compared(problem: Problem, solved: VerifiedSolution | None = None) -> tuple[tuple[str, VerifiedSolution], ...]:
    """Every option of the problem's ``compare`` section, solved and verified (empty without one).

    ``solved``, the problem's own verified solution, stands for the option the file already uses.
    """
    return tuple(
        (option, solved if solved is not None and alternative.network == problem.network else solve(alternative))
        for option, alternative in problem.compared()
    )
