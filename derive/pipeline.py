"""The pipeline in one call: spec -> derivation -> substitution -> verification."""

from __future__ import annotations

from .derivation import derive
from .spec import Problem
from .verify import VerifiedSolution, verify
from .worked import substitute


def solve(problem: Problem) -> VerifiedSolution:
    """Derive, substitute and verify: the only way to a solution a renderer will print."""
    return verify(substitute(problem, derive(problem.network)))
