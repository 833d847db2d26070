"""Inline math in a problem file's prose (``$\\frac{1}{2}(y-a)^2$``) through a safe subset.

A ``$...$`` span is printed as math only when every piece of it is on the whitelist: letters,
digits, spaces, a few operators and brackets, and the commands in :data:`COMMANDS` (Greek
letters, fractions, roots, operators, accents), each command that takes arguments followed by
them in braces, braces balanced, no double sub- or superscript. Anything else (``\\input``,
``\\write18``, ``\\def``, ``\\catcode``, ``#``, ``%``, ``&``, an unbalanced brace) leaves the
whole span, dollars included, to be printed literally by the usual escaping, so a problem file
can neither run nor break TeX. Pure functions; imports nothing from derive.

>>> segments("loss $\\\\frac{1}{2}(y-a)^2$ here")
[('text', 'loss '), ('math', '\\\\frac{1}{2}(y-a)^2'), ('text', ' here')]
>>> segments("$\\\\input{/etc/passwd}$")
[('text', '$\\\\input{/etc/passwd}$')]
"""

from __future__ import annotations

import functools
import re

#: Commands allowed in inline math, with the number of brace arguments each requires.
COMMANDS: dict[str, int] = {
    **dict.fromkeys((
        "alpha beta gamma Gamma delta Delta epsilon varepsilon zeta eta theta Theta vartheta iota kappa "
        "lambda Lambda mu nu xi Xi pi Pi rho varrho sigma Sigma tau upsilon phi varphi Phi chi psi Psi omega "
        "Omega ell partial nabla infty sum prod int cdot cdots ldots dots times div pm mp odot otimes circ "
        "le leq ge geq ne neq approx equiv sim propto to rightarrow leftarrow Rightarrow mapsto in notin "
        "top prime log ln exp sin cos tan tanh sinh cosh max min arg argmin argmax lim sup inf det "
        "quad qquad langle rangle lvert rvert lVert rVert mid colon"
    ).split(), 0),
    **dict.fromkeys("sqrt mathbf mathrm mathit mathcal boldsymbol hat bar tilde vec dot ddot overline "
                    "underline operatorname".split(), 1),
    **dict.fromkeys("frac dfrac tfrac binom".split(), 2),
}
_SYMBOLS = set(",;:! {}|")  # \, \; \: \! \  \{ \} \|: spacing and literal braces and bars
_CHARACTERS = re.compile(r"[A-Za-z0-9 +\-*/=<>()\[\].,;:!'|^_{}]")
_SPAN = re.compile(r"(?<!\$)\$([^$]+)\$(?!\$)")  # never $$ (display math)
_TOKEN = re.compile(r"\\([A-Za-z]+|.)|(.)", re.DOTALL)


def segments(text: str) -> list[tuple[str, str]]:
    """``text`` cut into ("text", prose) and ("math", allowed math without its dollars) pieces;
    a span that is not safe stays in the prose around it, dollars and all."""
    pieces: list[tuple[str, str]] = []
    plain, last = [], 0
    for span in _SPAN.finditer(text):
        if not is_safe(span.group(1)):
            continue
        plain.append(text[last:span.start()])
        if "".join(plain):
            pieces.append(("text", "".join(plain)))
        pieces.append(("math", span.group(1)))
        plain, last = [], span.end()
    if text[last:]:
        pieces.append(("text", text[last:]))
    return pieces


@functools.lru_cache(maxsize=1024)  # an exam's variants share their instructions
def is_safe(math: str) -> bool:
    """Whether ``math`` (between the dollars) uses only the whitelist, correctly."""
    tokens = [(m.group(1), m.group(2)) for m in _TOKEN.finditer(math)]
    scripts = ""  # the scripts (^ _) the current atom has
    argument = False  # the next token is a script's argument, not a new atom
    groups: list[tuple[bool, str]] = []  # per open brace: a script's argument?, the scripts outside
    for i, (command, char) in enumerate(tokens):
        if command is not None:
            takes = COMMANDS.get(command, 0)
            if command.isalpha() and (command not in COMMANDS or not _has_arguments(tokens, i + 1, takes)
                                      or argument and takes):
                return False
            if not command.isalpha() and command not in _SYMBOLS:
                return False
            scripts, argument = (scripts if argument else ""), False
        elif not _CHARACTERS.fullmatch(char):
            return False
        elif char in "^_":
            following = tokens[i + 1] if i + 1 < len(tokens) else (None, None)
            if char in scripts or argument or following == (None, None) or following[1] in ("^", "_", "}", " ", "'"):
                return False
            scripts, argument = scripts + char, True
        elif char == "'":
            if "^" in scripts or argument:  # a prime after a superscript is a double superscript
                return False
        elif char == "{":
            groups.append((argument, scripts))
            scripts, argument = "", False
        elif char == "}":
            if not groups:
                return False
            was_argument, outside = groups.pop()
            scripts = outside if was_argument else ""
        elif char != " ":
            scripts, argument = (scripts if argument else ""), False
    return not groups and not argument


def _has_arguments(tokens: list[tuple[str | None, str | None]], start: int, count: int) -> bool:
    """Whether ``count`` brace groups follow from ``start`` (spaces allowed between)."""
    depth, found = 0, 0
    for command, char in tokens[start:]:
        if found == count and depth == 0:
            return True
        if depth == 0 and char == " ":
            continue
        if depth == 0 and char != "{":
            return False
        if char == "{" and command is None:
            depth += 1
        elif char == "}" and command is None:
            depth -= 1
            found += depth == 0
    return found == count and depth == 0
