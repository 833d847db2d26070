"""Which TeX engine a document needs: pdflatex for Latin text, XeLaTeX for any other script.

pdflatex (T1 fonts, Latin Modern) sets Latin-1 and Latin Extended-A (every letter of English,
Slovak, Finnish and French) and the typographic punctuation; a Cyrillic, Greek, Vietnamese,
Arabic or CJK character needs XeLaTeX with the Noto fonts (``templates/unicode-fonts.tex.j2``).
pdflatex stays the engine for Latin text because it is about twice as fast and gives the shipped
outputs. Stage 0 data and pure functions: it imports nothing from derive.

>>> needs_unicode_engine("Ján Kováč, Jyväskylä, Élodie")
False
>>> needs_unicode_engine("Иван Петров"), needs_unicode_engine("王小明")
(True, True)
"""

from __future__ import annotations

import re

#: The first line of a document that XeLaTeX must compile (the TeXShop/TeXstudio convention).
UNICODE_MARK = "% !TEX program = xelatex"

# Beyond Latin Extended-A (U+0000-U+017F), the characters T1 + utf8 input set: dashes, quotes,
# the ellipsis, the euro sign and a few others derive or a problem file may write.
_PDFLATEX_EXTRA = "\u02c6\u02dc\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
_OTHER_SCRIPT = re.compile(f"[^\u0000-\u017f{_PDFLATEX_EXTRA}]")  # a regular expression: megabytes of an exam in milliseconds


def needs_unicode_engine(text: str) -> bool:
    """Whether ``text`` holds a character pdflatex cannot set."""
    return not text.isascii() and _OTHER_SCRIPT.search(text) is not None  # isascii: a fast no for most text


def is_unicode_document(tex: str) -> bool:
    """Whether a LaTeX source asks for XeLaTeX (it was rendered with the Unicode fonts)."""
    return UNICODE_MARK in tex
