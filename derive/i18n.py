"""Sheets in the course's language: gettext catalogues read with Babel.

Every sentence derive writes on a worksheet, answer key, exam or quiz is an English message
(marked ``_("...")`` in Python, ``<< _("...") >>`` in the templates) looked up in the catalogue
of the problem's ``language:`` (``derive/locale/<lang>/LC_MESSAGES/derive.po``, compiled in
memory with Babel when first used). A message a catalogue lacks prints in English and is listed
by ``python -m derive.i18n check``. ``python -m derive.i18n extract`` adds every new message to
the catalogues (untranslated) and drops those no longer used.

>>> gettext_for("fr")("Questions")
'Questions'
>>> gettext_for("sk")("Questions"), uses_decimal_comma("sk"), uses_decimal_comma("en")
('Otázky', True, False)
"""

from __future__ import annotations

import difflib
import functools
import gettext
import io
import sys
from pathlib import Path
from typing import Callable

# Babel is imported where a catalogue is read, so that loading a problem file stays quick.

#: The languages derive writes sheets in: English (the messages themselves) and four catalogues.
LANGUAGES: tuple[str, ...] = ("en", "sk", "fi", "fr", "ru")
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "derive"

# The template delimiters (derive.sheet.environment), for Babel's Jinja2 extractor.
_JINJA_OPTIONS = {"block_start_string": "<%", "block_end_string": "%>", "variable_start_string": "<<",
                  "variable_end_string": ">>", "comment_start_string": "<#", "comment_end_string": "#>",
                  "trim_blocks": "true", "lstrip_blocks": "true", "extensions": "jinja2.ext.i18n"}


def N_(message: str) -> str:
    """Marks a message for the catalogues where it is defined (as data); translated where used."""
    return message


def language_problem(code: str) -> str | None:
    """What is wrong with a language code (with a did-you-mean), or None when derive has it."""
    if code in LANGUAGES:
        return None
    close = difflib.get_close_matches(code, LANGUAGES, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(LANGUAGES)})"
    return f"unknown language {code!r}{hint}"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (English: the messages as they are)."""
    if language == DEFAULT_LANGUAGE or not catalogue_path(language).is_file():
        return gettext.NullTranslations()  # a missing catalogue: English, listed by the check
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # fuzzy and empty entries are left out: they print in English
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def gettext_for(language: str) -> Callable[[str], str]:
    """The ``_`` function of ``language``."""
    return translations(language).gettext


def uses_decimal_comma(language: str) -> bool:
    """Whether numbers on this language's sheets take a decimal comma (from the CLDR via Babel)."""
    from babel import Locale

    return Locale.parse(language).number_symbols["latn"]["decimal"] == ","


# ----------------------------------------------------------------------------------------------
# Keeping the catalogues complete


Message = tuple[str | None, str]  # (context, message): a context tells two uses of one English text apart


def messages() -> list[Message]:
    """Every message marked in derive's Python modules and templates, and the registry's
    descriptions of the activations and losses, in first-seen order."""
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parent
    found: dict[Message, None] = {}
    sources = [(root, [("**.py", "python")], {}),
               (root.parent / "templates", [("**.j2", "jinja2")], {"**.j2": _JINJA_OPTIONS})]
    for folder, method_map, options in sources:
        if not folder.is_dir():
            continue
        for _, _, message, _, context in extract_from_dir(str(folder), method_map, options,
                                                         keywords={"_": None, "N_": None, "pgettext": ((1, "c"), 2)}):
            found.setdefault((context, message))
    from .registry import ACTIVATIONS, LOSSES  # their descriptions print on the sheets

    for entry in (*ACTIVATIONS.values(), *LOSSES.values()):
        found.setdefault((None, entry.description))
    return list(found)


def untranslated(language: str, wanted: list[Message] | None = None) -> list[Message]:
    """The messages ``language``'s catalogue does not translate (they would print in English)."""
    if language == DEFAULT_LANGUAGE:
        return []
    from babel.messages.pofile import read_po

    wanted = messages() if wanted is None else wanted
    if not catalogue_path(language).is_file():
        return list(wanted)
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    missing = []
    for context, message in wanted:
        entry = catalog.get(message, context=context)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append((context, message))
    return missing


def extract() -> None:
    """Add every new message to each catalogue (untranslated), drop unused ones, keep the rest."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    wanted = messages()
    for language in LANGUAGES[1:]:
        path = catalogue_path(language)
        old = read_po(path.open("rb"), locale=language, domain=DOMAIN) if path.is_file() else Catalog(locale=language)
        new = Catalog(locale=language, domain=DOMAIN, project="derive", version="0.1", charset="utf-8",
                      creation_date=old.creation_date, revision_date=old.revision_date,
                      last_translator="derive", language_team=language, copyright_holder="derive")
        for context, message in wanted:
            entry = old.get(message, context=context)
            new.add(message, entry.string if entry else "", flags=entry.flags if entry else (), context=context)
        new.fuzzy = False
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as po:
            write_po(po, new, width=100, omit_header=False, no_location=True, sort_output=False)


def main(argv: list[str]) -> int:
    """``python -m derive.i18n check``: list untranslated messages per language (exit 1 if any);
    ``python -m derive.i18n extract``: update the catalogues from the sources."""
    if argv[:1] == ["extract"]:
        extract()
        return 0
    if argv[:1] != ["check"]:
        print("usage: python -m derive.i18n check|extract", file=sys.stderr)
        return 2
    wanted = messages()
    missing = {language: untranslated(language, wanted) for language in LANGUAGES[1:]}
    for language, listed in missing.items():
        print(f"{language}: {len(wanted) - len(listed)}/{len(wanted)} messages translated")
        for context, message in listed:
            print(f"  untranslated: {message!r}" + (f" (context {context!r})" if context else ""))
    return 1 if any(missing.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
