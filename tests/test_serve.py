"""The web server (derive.web) through Starlette's TestClient: the start listing, bad input and
paths (status and message for each), security headers and escaping, exam variants, download and
upload, and marks equal to ``derive check``'s."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from starlette.testclient import TestClient

from planted_student import PLANTED, RIGHT, planted_answers

from derive.cli import main
from derive.loader import load_problem
from derive.marking import expected_values
from derive.pipeline import solve
from derive.quantities import asked_quantities
from derive.web.app import MAX_BODY, create_app, load_catalogue
from derive.web.page import MAX_SEED, MAX_VARIANT, parse_number, worked_line

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
SHEET = "/sheet/sgd-sigmoid-hidden"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A class folder: one good sheet, one whose title holds a script tag, one broken file, and
    files that must never be listed (another extension, a subfolder)."""
    root = tmp_path_factory.mktemp("class")
    shutil.copy(PROBLEMS / "sgd-sigmoid-hidden.yaml", root)
    spec = yaml.safe_load((PROBLEMS / "sgd-tanh-hidden.yaml").read_text(encoding="utf-8"))
    spec["title"] = "<script>alert('x')</script> & friends"
    (root / "hostile.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    (root / "broken.yaml").write_text("title: no network\n", encoding="utf-8")
    (root / "notes.txt").write_text("title: not a problem\n", encoding="utf-8")
    (root / "private").mkdir()
    shutil.copy(PROBLEMS / "sgd-relu-hidden.yaml", root / "private" / "secret.yaml")
    (root / "linked.yaml").symlink_to(root / "private" / "secret.yaml")  # leads out of the folder
    return root


@pytest.fixture(scope="module")
def client(folder) -> TestClient:
    return TestClient(create_app(load_catalogue(folder)), raise_server_exceptions=False)


def marks_on(page: str) -> dict[str, str]:
    """Each box's status on a marked page (its row's class)."""
    return dict((label, status) for status, label in re.findall(r'<div class="q (\w+)" id="row-([^"]+)"', page))


def mark_text(page: str, label: str) -> str:
    found = re.search(rf'id="mark-{re.escape(label)}">(.*?)</span>', page)
    return html.unescape(re.sub("<[^>]+>", "", found[1])) if found else ""


def full_form(values: dict[str, float]) -> dict[str, str]:
    return {label: str(value) for label, value in values.items()}


# ---- the start page and paths


def test_the_start_page_lists_the_folders_sheets_and_the_failures(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "One SGD step with a sigmoid hidden layer" in page.text and "2–2–1: sigmoid, sigmoid" in page.text
    assert "half_mse" in page.text
    assert "broken.yaml" in page.text and "network" in page.text  # listed with its error
    assert "secret" not in page.text and "notes" not in page.text  # neither a subfolder nor another extension
    assert "linked" not in page.text and "ReLU hidden" not in page.text  # nor a link out of the folder


def test_a_title_with_a_script_tag_shows_literally(client):
    for page in (client.get("/"), client.get("/sheet/hostile")):
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; friends" in page.text


@pytest.mark.parametrize("path", [
    "/sheet/secret", "/sheet/private", "/sheet/broken", "/sheet/linked", "/sheet/..%2Fprivate%2Fsecret",
    "/sheet/%2e%2e/%2e%2e/etc/passwd", "/sheet/sgd-sigmoid-hidden.yaml", "/static/../app.py",
    "/static/%2e%2e/page.py", "/static/app.py", "/static/%2e%2e%2fapp.py", "/static/", "/nowhere",
])
def test_paths_outside_the_start_listing_are_not_found(client, path):
    page = client.get(path)
    assert page.status_code == 404
    assert "def " not in page.text and "import" not in page.text


def test_the_pages_own_files_are_served(client):
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/sheet.js").headers["content-type"].startswith("text/javascript")


def test_an_unknown_sheet_says_so(client):
    page = client.get("/sheet/nothing-here")
    assert page.status_code == 404 and "There is no such sheet here" in page.text


def test_security_headers_on_every_response(client):
    for response in (client.get("/"), client.get(SHEET), client.get("/nowhere"), client.get("/static/style.css"),
                     client.post(SHEET, content=b"{}", headers={"content-type": "application/json"})):
        headers = response.headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"


def test_pages_hold_no_inline_script_or_style(client):
    for page in (client.get("/").text, client.get(SHEET).text):
        assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/sheet.js" defer>']
        assert " style=" not in page and "<style" not in page and " onclick" not in page.lower()


# ---- marking


def test_marks_equal_derive_checks(client, tmp_path):
    answers = planted_answers()
    page = client.post(SHEET, data=full_form(answers))
    assert page.status_code == 200
    marks = marks_on(page.text)
    assert marks[PLANTED] == "wrong" and "f'(z) was left out" in mark_text(page.text, PLANTED)
    assert {label for label, status in marks.items() if status == "correct"} == RIGHT

    answers_file = tmp_path / "answers.yaml"
    answers_file.write_text(yaml.safe_dump(answers), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(PROBLEMS / "sgd-sigmoid-hidden.yaml"), str(answers_file), "--json"])
    report = json.loads(result.output)
    assert marks == {q["quantity"]: q["status"] for q in report["quantities"]}
    for q in report["quantities"]:
        assert q["reason"] in mark_text(page.text, q["quantity"])
    assert f"score: {report['score']:g} / {report['total']}" in page.text


def test_boxes_keep_their_values_and_unanswered_ones_are_marked_so(client):
    page = client.post(SHEET, data={"z1_1": " 0.11 ", "a1_1": ""})
    assert page.status_code == 200
    assert 'value=" 0.11 "' in page.text
    assert marks_on(page.text)["z1_1"] == "correct" and marks_on(page.text)["a1_1"] == "unanswered"
    assert "score: 1 / 29 (1 right, 28 unanswered)" in page.text


def test_a_worked_line_is_revealed_one_at_a_time_and_counted(client):
    first = client.post(SHEET, data={"z1_1": "0.11", "reveal": "delta2_1"})
    assert first.status_code == 200 and first.text.count('class="worked"') == 1
    assert "1 worked line revealed (delta2_1)" in first.text and "0.1179" in first.text
    second = client.post(SHEET, data={"z1_1": "0.11", "revealed": "delta2_1", "reveal": "z1_1"})
    assert second.text.count('class="worked"') == 2 and "2 worked lines revealed (delta2_1, z1_1)" in second.text
    assert not client.post(SHEET, data={"z1_1": "0.11"}).text.count('class="worked"')


@pytest.mark.parametrize("typed, message", [
    ("abc", "not a number"), ("nan", "NaN and infinity are not answers"), ("-inf", "NaN and infinity"),
    ("Infinity", "NaN and infinity"), ("1e999", "too large"), ("0,25", "decimal point"), ("0x1p3", "not a number"),
    ("1_000", "not a number"), ("1" * 41, "too long"), ("0.1 0.2", "not a number"),
])
def test_a_box_that_is_not_a_number_gets_a_message_beside_it(client, typed, message):
    page = client.post(SHEET, data={"z1_1": "0.11", "a1_1": typed})
    assert page.status_code == 422
    assert message in mark_text(page.text, "a1_1")
    assert 'aria-invalid="true"' in page.text and 'class="score"' in page.text


def test_numbers_are_read_as_students_type_them():
    assert parse_number("-1.5e-3") == -0.0015 and parse_number(".5") == 0.5 and parse_number("\u22120.25") == -0.25
    assert parse_number("   ") is None and parse_number("+3.") == 3.0


@pytest.mark.parametrize("form, message", [
    ({"z9_9": "1"}, "no quantity named 'z9_9'"),
    ({"<b>x</b>": "1"}, "no quantity named"),
    ({"reveal": "nope"}, "no worked line named 'nope'"),
])
def test_unknown_names_are_refused(client, form, message):
    page = client.post(SHEET, data=form)
    assert page.status_code == 400
    assert message in html.unescape(page.text) and "<b>x</b>" not in page.text


def test_a_quantity_given_twice_is_refused(client):
    page = client.post(SHEET, content=b"z1_1=0.11&z1_1=0.2", headers=FORM)
    assert page.status_code == 400 and "z1_1 is given twice" in page.text


def test_more_fields_than_the_sheet_asks_are_refused(client):
    labels = list(planted_answers())
    body = "&".join(f"{label}=0.1" for label in labels) + "&" + "&".join(f"extra{i}=1" for i in range(20))
    page = client.post(SHEET, content=body.encode(), headers=FORM)
    assert page.status_code == 400 and "more fields than this sheet asks for (29)" in page.text


def test_a_body_over_the_limit_is_413(client):
    page = client.post(SHEET, content=b"z1_1=" + b"1" * (MAX_BODY + 1), headers=FORM)
    assert page.status_code == 413 and "larger than 64 KiB" in page.text

    def chunks():  # streamed without a Content-Length
        for _ in range(MAX_BODY // 1024 + 2):
            yield b"1" * 1024

    streamed = client.post(SHEET, content=chunks(), headers=FORM)
    assert streamed.status_code == 413


@pytest.mark.parametrize("path, content_type", [
    (SHEET, "application/json"), (SHEET, "text/plain"), (SHEET, ""), (SHEET, "multipart/form-data; boundary=x"),
    (SHEET + "/answers.yaml", "application/json"), (SHEET + "/upload", "application/x-www-form-urlencoded"),
])
def test_a_wrong_content_type_is_415(client, path, content_type):
    headers = {"content-type": content_type} if content_type else {}
    page = client.post(path, content=b"z1_1=0.11", headers=headers)
    assert page.status_code == 415 and "Send the form as" in page.text


def test_a_body_that_is_not_form_data_is_400(client):
    page = client.post(SHEET, content="z1_1=0.11&a1_1=\u00e9".encode(), headers=FORM)
    assert page.status_code == 400 and "not valid form data" in page.text


def test_other_methods_are_405(client):
    assert client.put(SHEET, content=b"").status_code == 405
    assert client.get(SHEET + "/answers.yaml").status_code == 405


# ---- exam variants


def test_an_exam_variant_is_its_own_sheet(client):
    base = client.get(SHEET).text
    variant = client.get(SHEET, params={"seed": "2026", "variant": "7"})
    assert variant.status_code == 200 and "(variant 7)" in variant.text and variant.text != base
    assert 'name="seed" value="2026"' in variant.text and 'name="variant" value="7"' in variant.text
    again = client.get(SHEET, params={"seed": "2026", "variant": "7"}).text
    assert again == variant.text


@pytest.mark.parametrize("seed, number", [
    ("-1", "1"), ("2026", "0"), ("2026", str(MAX_VARIANT + 1)), (str(MAX_SEED + 1), "1"), ("x", "1"),
    ("2026", ""), ("1" * 30, "1"), ("2026", "1.5"),
])
def test_a_variant_out_of_range_is_refused_beside_its_box(client, seed, number):
    page = client.get(SHEET, params={"seed": seed, "variant": number})
    assert page.status_code == 400
    assert "type a whole number from" in page.text and 'id="variant-error"' in page.text


def test_a_sheet_without_variants_says_so(client):
    page = client.get("/sheet/hostile", params={"seed": "1", "variant": "1"})
    assert page.status_code == 400 and "no exam variants" in page.text


def test_a_variants_answers_are_marked_against_the_variant(client):
    base = client.post(SHEET, data={"z1_1": "0.11"})
    variant = client.post(SHEET, data={"z1_1": "0.11", "seed": "2026", "variant": "7"})
    assert marks_on(base.text)["z1_1"] == "correct" and marks_on(variant.text)["z1_1"] != "correct"


# ---- download and upload


def test_the_downloaded_answers_are_the_file_derive_check_reads(client, tmp_path):
    answers = planted_answers()
    response = client.post(SHEET + "/answers.yaml", data=full_form(answers))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/yaml")
    assert 'filename="sgd-sigmoid-hidden-answers.yaml"' in response.headers["content-disposition"]
    assert yaml.safe_load(response.text) == answers
    answers_file = tmp_path / "downloaded.yaml"
    answers_file.write_text(response.text, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(PROBLEMS / "sgd-sigmoid-hidden.yaml"), str(answers_file), "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["score"] == 28


def test_a_download_with_a_bad_box_is_refused(client):
    response = client.post(SHEET + "/answers.yaml", data={"z1_1": "nan"})
    assert response.status_code == 422 and "NaN" in mark_text(response.text, "z1_1")


def test_an_uploaded_answers_file_fills_the_boxes(client):
    text = "z1_1: 0.11\nW2_11': 0.6247\na1_1: null\n"
    page = client.post(SHEET + "/upload", files={"answers": ("mine.yaml", text.encode(), "text/yaml")})
    assert page.status_code == 200 and "Filled from mine.yaml" in page.text
    assert 'name="z1_1" type="text"' in page.text and 'value="0.11"' in page.text and 'value="0.6247"' in page.text
    assert not marks_on(page.text)  # filled, not yet marked


@pytest.mark.parametrize("content, message", [
    (b"z1_1: [1, 2]\n", "expected one number"), (b"zz: 1\n", "unknown quantity"), (b"\xff\xfe", "not UTF-8"),
    (b"z1_1: .nan\n", "expected a number"), (b"- 1\n", "expected a mapping"),
])
def test_a_bad_answers_file_is_named_with_its_problem(client, content, message):
    page = client.post(SHEET + "/upload", files={"answers": ("mine.yaml", content, "text/yaml")})
    assert page.status_code == 422
    assert "mine.yaml" in page.text and message in html.unescape(page.text)


def test_an_upload_without_a_file_is_refused(client):
    page = client.post(SHEET + "/upload", files={"other": ("x.yaml", b"z1_1: 1", "text/yaml")})
    assert page.status_code == 400 and "Choose an answers file" in page.text


# ---- the command


def test_serve_binds_to_loopback_unless_told(folder, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    assert CliRunner().invoke(main, ["serve", str(folder / "sgd-sigmoid-hidden.yaml")]).exit_code == 0
    assert CliRunner().invoke(main, ["serve", str(folder / "sgd-sigmoid-hidden.yaml"), "--host", "0.0.0.0",
                                     "--port", "8123"]).exit_code == 0
    assert calls[0]["host"] == "127.0.0.1" and calls[0]["port"] == 8000
    assert calls[1]["host"] == "0.0.0.0" and calls[1]["port"] == 8123


def test_serve_with_nothing_to_serve_is_one_line_and_exit_2(tmp_path):
    missing = CliRunner().invoke(main, ["serve", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    (tmp_path / "broken.yaml").write_text("title: x\n", encoding="utf-8")
    broken = CliRunner().invoke(main, ["serve", str(tmp_path)])
    assert broken.exit_code == 2 and "no problem file could be served" in broken.output
    assert "Traceback" not in broken.output


# ---- the page model


@pytest.mark.parametrize("name", ["relu-2-3-3-1-batch", "softmax-3class", "ng-4layer-regularised", "bce-relu-epochs"])
def test_every_box_has_the_worked_line_of_its_own_quantity(name):
    verified = solve(load_problem(PROBLEMS / f"{name}.yaml"))
    expected, step = expected_values(verified), verified.solution.steps[0]
    for item in asked_quantities(verified.problem):
        line = worked_line(step, item.name, verified.problem)
        assert line is not None and line.value == pytest.approx(expected[item.name], rel=1e-12, abs=1e-15), item.label
