"""Checks on free text a person writes (titles, instructions, student names): its length and
its characters, so that a bad character is exit code 2 naming the field and where it is, not a
LaTeX failure later."""

from __future__ import annotations

import unicodedata

# Control, format (zero-width space, joiners, direction marks, BOM), surrogate, private-use and
# unassigned characters, and the Unicode line and paragraph separators: invisible on the page,
# and most stop pdflatex.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def text_problem(text: str, limit: int, limit_name: str, multiline: bool = False) -> str | None:
    """What is wrong with ``text`` (too long, or a control or invisible character), or None."""
    if len(text) > limit:
        return f"{len(text):,} characters, more than the limit of {limit:,} (limits.{limit_name})"
    line, column = 1, 0
    for char in text:
        column += 1
        if multiline and char in "\n\t":
            line, column = (line + 1, 0) if char == "\n" else (line, column)
            continue
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            where = f"line {line}, column {column}" if multiline else f"character {column}"
            name = unicodedata.name(char, "a control character").lower()
            return (f"{where} is U+{ord(char):04X} ({name}), an invisible or control character; "
                    "delete it or type it as ordinary text")
    return None
