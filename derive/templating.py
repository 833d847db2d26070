"""The Jinja2 templates under ``templates/``, rendered in a sheet's language and script.

Pure functions (no files written, no processes). :func:`render` fills a template with a
context in the problem's language (``<< _("...") >>`` looks the message up in the catalogue,
:mod:`derive.i18n`), sets the decimal comma where the language uses one (the preamble makes the
period of math mode print as a comma, so every number, matrix and plot label follows) and, when
the finished text holds a script pdflatex cannot set, renders it again with the Unicode fonts
(the document then asks for XeLaTeX, :mod:`derive.scripts_needed`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from .i18n import DEFAULT_LANGUAGE, translations, uses_decimal_comma
from .latex_tables import escape
from .safe_math import segments
from .scripts_needed import needs_unicode_engine


def _templates_folder() -> Path:
    """templates/ of the source checkout, or the copy an installed wheel carries in the package."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "templates"
    return checkout if (checkout / "preamble.tex.j2").is_file() else here / "templates"


TEMPLATES = _templates_folder()


@functools.cache
def environment(language: str = DEFAULT_LANGUAGE) -> jinja2.Environment:
    """Jinja2 with LaTeX-friendly delimiters and ``language``'s messages; every undefined name
    is an error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        block_start_string="<%", block_end_string="%>",
        variable_start_string="<<", variable_end_string=">>",
        comment_start_string="<#", comment_end_string="#>",
        line_statement_prefix=None, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)
    env.filters["e"] = env.filters["escape_tex"] = escape
    env.filters["math_segments"] = segments
    return env


def render(template: str, context: dict, language: str = DEFAULT_LANGUAGE) -> str:
    """``template`` filled with ``context`` in ``language``, with the fonts its text needs."""
    context = dict(context, decimal_comma=uses_decimal_comma(language), unicode_text=False)
    chosen = environment(language).get_template(template)
    tex = chosen.render(**context)
    if needs_unicode_engine(tex):
        tex = chosen.render(**dict(context, unicode_text=True))
    return tex


def render_parts(template: str, context: dict, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """:func:`render` in the pieces Jinja2 writes it in (for a document too large to join)."""
    context = dict(context, decimal_comma=uses_decimal_comma(language), unicode_text=False)
    chosen = environment(language).get_template(template)
    parts = list(chosen.generate(**context))
    if any(needs_unicode_engine(part) for part in parts):
        parts = list(chosen.generate(**dict(context, unicode_text=True)))
    return parts
