"""Sheets in the course's language and in any script: the catalogues are complete, every
language compiles with its own words and decimal separator, a roster in six scripts prints.

The expected words are written here by hand (what a Slovak, Finnish, French or Russian sheet
says), never read from the catalogues.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from derive import i18n
from derive.cli import main
from derive.loader import load_problem
from derive.moodle import quiz_xml
from derive.pdf import compile_pdf
from derive.pipeline import solve
from derive.scripts_needed import is_unicode_document, needs_unicode_engine
from derive.sheet import answers_tex, worksheet_tex

ROOT = Path(__file__).resolve().parents[1]
TANH = ROOT / "problems/sgd-tanh-hidden.yaml"  # W1 = [[0.2, -0.1], [0.4, 0.3]], eta = 0.5
SIGMOID = ROOT / "problems/sgd-sigmoid-hidden.yaml"
needs_tex = pytest.mark.skipif(not (shutil.which("pdflatex") and shutil.which("pdftotext")),
                               reason="pdflatex and pdftotext are needed")
needs_xelatex = pytest.mark.skipif(not (shutil.which("xelatex") and shutil.which("pdftotext")),
                                   reason="xelatex (bash scripts/install-tex.sh) and pdftotext are needed")

# A heading, a question's words and a number as each language's sheet prints them.
WORDS = {
    "en": ("Questions", "Compute the forward pass", "0.5"),
    "sk": ("Otázky", "Vypočítajte dopredný prechod", "0,5"),
    "fi": ("Tehtävät", "Laske eteenpäinlevitys", "0,5"),
    "fr": ("Questions", "Calculez la propagation avant", "0,5"),
    "ru": ("Вопросы", "Выполните прямой проход", "0,5"),
}
ANSWER_WORDS = {"en": "Verification", "sk": "Overenie", "fi": "Tarkistus", "fr": "Vérification", "ru": "Проверка"}

NAMES = ("Иван Петров", "Γιώργος Παπαδόπουλος", "Nguyễn Thị Minh Khai", "محمد علي", "王小明", "山田 花子")


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """pdftotext's text, NFKC-normalised (Arabic comes out as presentation forms) and with the
    bidi marks pdftotext adds around right-to-left text removed."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    text = unicodedata.normalize("NFKC", text)
    return re.sub("[\u200e\u200f\u202a-\u202e]", "", re.sub(r"\s+", " ", text))


def in_language(path: Path, language: str):
    return solve(replace(load_problem(path), language=language))


# ----------------------------------------------------------------------------------------------
# The catalogues


def test_every_catalogue_translates_every_message():
    wanted = i18n.messages()
    assert len(wanted) > 100
    assert {language: i18n.untranslated(language, wanted) for language in i18n.LANGUAGES} == {
        language: [] for language in i18n.LANGUAGES}


@pytest.mark.parametrize("language", i18n.LANGUAGES[1:])
def test_translations_keep_the_placeholders_and_math(language):
    gettext = i18n.gettext_for(language)
    for context, message in i18n.messages():
        translated = i18n.translations(language).pgettext(context, message) if context else gettext(message)
        for pattern in (r"\{\w*\}", r"%\(\w+\)s", r"\$[^$]*\$"):
            assert sorted(re.findall(pattern, translated)) == sorted(re.findall(pattern, message)), (message, translated)


def test_a_missing_translation_prints_in_english_and_is_listed(tmp_path, monkeypatch, capsys):
    po = tmp_path / "sk" / "LC_MESSAGES" / "derive.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "Network"\nmsgstr "Sieť"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        assert i18n.gettext_for("sk")("Network") == "Sieť"
        assert i18n.gettext_for("sk")("Questions") == "Questions"
        assert (None, "Questions") in i18n.untranslated("sk")
        assert i18n.main(["check"]) == 1
        assert "untranslated: 'Questions'" in capsys.readouterr().out
    finally:
        i18n.translations.cache_clear()


def test_the_shipped_catalogues_pass_the_check(capsys):
    assert i18n.main(["check"]) == 0
    assert "ru: " in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------
# Choosing the language


def test_language_in_the_problem_file(tmp_path):
    text = TANH.read_text(encoding="utf-8") + "language: fi\n"
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    assert load_problem(tmp_path / "p.yaml").language == "fi"
    tex = worksheet_tex(solve(load_problem(tmp_path / "p.yaml")))
    assert r"\subsection*{Tehtävät}" in tex and r"\DeclareMathSymbol{.}" in tex


def test_an_unknown_language_is_one_line_with_a_suggestion(tmp_path):
    (tmp_path / "p.yaml").write_text(TANH.read_text(encoding="utf-8") + "language: rus\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sheet", str(tmp_path / "p.yaml"), "--tex-only", "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "language" in result.output and "did you mean 'ru'" in result.output
    assert not (tmp_path / "out").exists()


def test_an_unknown_lang_option_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["sheet", str(TANH), "--lang", "sv", "--tex-only", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "unknown language 'sv'" in result.output


def test_lang_option_overrides_the_file(tmp_path):
    result = CliRunner().invoke(main, ["sheet", str(TANH), "--lang", "fr", "--tex-only", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert r"\subsection*{Données et réglages}" in (tmp_path / "worksheet.tex").read_text(encoding="utf-8")


def test_english_sheets_name_no_decimal_comma_and_stay_on_pdflatex():
    tex = worksheet_tex(in_language(TANH, "en"))
    assert r"\DeclareMathSymbol{.}" not in tex and not is_unicode_document(tex)


def test_the_moodle_quiz_keeps_asking_for_a_decimal_point():
    quiz = quiz_xml([(1, in_language(SIGMOID, "ru"))], "derive/test")
    assert "Каждый ответ дайте" in quiz and "0.5, а не 0,5" in quiz
    assert re.search(r"\{1:NUMERICAL:=-?\d+\.\d+", quiz)  # the answers Moodle compares hold points


# ----------------------------------------------------------------------------------------------
# Compiled sheets


@needs_tex
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_language_compiles_with_its_words_and_decimal_separator(language, tmp_path):
    if language == "ru" and not shutil.which("xelatex"):
        pytest.skip("xelatex is needed for Cyrillic")
    verified = in_language(TANH, language)
    heading, question, number = WORDS[language]
    sheet = pdf_text(compile_pdf(worksheet_tex(verified), "worksheet"), tmp_path)
    assert heading in sheet and question in sheet
    row = "0,2 −0,1" if number == "0,5" else "0.2 −0.1"  # the first row of W1, in the matrix
    assert f"η = {number}" in sheet and row in sheet
    answers = pdf_text(compile_pdf(answers_tex(verified), "answers"), tmp_path)
    assert ANSWER_WORDS[language] in answers and f"η = {number}" in answers


@needs_xelatex
def test_a_roster_in_six_scripts_prints_every_name(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("name,id\n" + "".join(f"{name},s{i}\n" for i, name in enumerate(NAMES)), encoding="utf-8")
    result = CliRunner().invoke(main, ["exam", str(SIGMOID), "--roster", str(roster), "--variants", "2", "--seed", "4",
                                       "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    exam = pdf_text((tmp_path / "out/exam.pdf").read_bytes(), tmp_path)
    key = pdf_text((tmp_path / "out/key.pdf").read_bytes(), tmp_path)
    for name in NAMES:
        assert f"Name: {name}" in exam, name
        assert name in key, name


@needs_xelatex
def test_a_russian_title_prints(tmp_path):
    text = TANH.read_text(encoding="utf-8").replace("title: One SGD step with a tanh hidden layer",
                                                     "title: Один шаг SGD со скрытым слоем tanh")
    (tmp_path / "p.yaml").write_text(text + "language: ru\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sheet", str(tmp_path / "p.yaml"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Один шаг SGD со скрытым слоем tanh" in pdf_text((tmp_path / "out/worksheet.pdf").read_bytes(), tmp_path)
    assert "Ответы: Один шаг SGD" in pdf_text((tmp_path / "out/answers.pdf").read_bytes(), tmp_path)


def test_the_engine_follows_the_script():
    assert not needs_unicode_engine("Ján Kováč — Jyväskylä, Élodie “quoted”…")
    for name in NAMES[:2] + NAMES[3:]:
        assert needs_unicode_engine(name)
    assert needs_unicode_engine("Nguyễn")
    verified = solve(replace(load_problem(TANH), title="Один шаг"))
    assert is_unicode_document(worksheet_tex(verified))
