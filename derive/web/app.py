"""Stage 6b, the web server: an ASGI app (Starlette) over sheets solved once at start.

:func:`load_catalogue` reads the problem files of a folder (or one file), solves and verifies
each once and keeps the failures with their error; :func:`create_app` serves them. A request
names a sheet by the id given at start (never a path), and marking is a POST of numbers only:
the marking is :func:`derive.marking.mark`, exactly what ``derive check`` runs. Bad input gets
a message beside the box and a 4xx status; every page carries security headers (a Content
Security Policy that allows no inline script, no framing, no MIME sniffing).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..answers_loader import parse_answers
from ..check_report import score_line
from ..errors import DeriveError
from ..loader import load_problem
from ..marking import Marking, mark
from ..pipeline import solve
from ..quantities import StudentAnswers
from ..randomise import make_variant
from .page import (CONTROL_FIELDS, FormError, Sheet, Submission, answers_yaml, build_sheet, parse_revealed, parse_variant,
                   read_answers)
from .security import BodyLimit, SecurityHeaders

HERE = Path(__file__).resolve().parent
MAX_BODY = 64 * 1024  # bytes in a request body: a full sheet's form or answers file is a few KiB
VARIANTS_KEPT = 128  # solved exam variants kept in memory (each is solved on its first request)
MARKINGS_KEPT = 1024  # recent markings kept: revealing a worked line re-marks the same answers
FORM_TYPE, UPLOAD_TYPE = "application/x-www-form-urlencoded", "multipart/form-data"
#: The page's own files, read once at start: a request's path never reaches the file system.
STATIC_TYPES = {"style.css": "text/css; charset=utf-8", "sheet.js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True)
class Catalogue:
    """What ``derive serve`` serves: the sheets by id, and the files that failed with their error."""

    root: str
    sheets: dict[str, Sheet]
    failures: tuple[tuple[str, str], ...]


def problem_files(path: Path) -> list[Path]:
    """The problem files of a folder (``*.yaml``, ``*.yml``; not its subfolders, nor links that
    lead out of it), or the one file."""
    if path.is_dir():
        inside = path.resolve()
        return sorted(p for p in path.iterdir()
                      if p.suffix in (".yaml", ".yml") and p.is_file() and p.resolve().parent == inside)
    if path.is_file():
        return [path]
    raise DeriveError(f"{path}: no such file or folder")


def load_catalogue(path: Path, progress: Callable[[str], None] = lambda line: None) -> Catalogue:
    """Load, solve and verify every problem file of ``path`` once; a file that fails is listed."""
    sheets: dict[str, Sheet] = {}
    failures = []
    for file in problem_files(Path(path)):
        sheet_id = _unique(re.sub(r"[^A-Za-z0-9_-]+", "-", file.stem), sheets)
        try:
            sheets[sheet_id] = build_sheet(sheet_id, solve(load_problem(file)))
            progress(f"ready: {file.name}")
        except DeriveError as err:
            failures.append((file.name, str(err)))
            progress(f"failed: {err}")
    return Catalogue(str(path), sheets, tuple(failures))


def _unique(name: str, taken: dict) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


@functools.cache
def templates() -> jinja2.Environment:
    """The HTML templates, autoescaped: text from a problem file always shows literally."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                              autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def html(template: str, status_code: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(templates().get_template(template).render(**context), status_code=status_code)


PATH_VARIABLE = "DERIVE_SERVE_PATH"  # what `derive serve --workers N` passes to its worker processes


def app_from_environment() -> Starlette:
    """The app of one worker process of ``derive serve --workers N`` (the path in the environment)."""
    return create_app(load_catalogue(Path(os.environ[PATH_VARIABLE])))


def create_app(catalogue: Catalogue) -> Starlette:
    """The ASGI app serving ``catalogue`` (wrapped in the body limit and security headers)."""
    server = _Server(catalogue)
    routes = [
        Route("/", server.index, methods=["GET"]),
        Route("/sheet/{sheet_id}", server.sheet, methods=["GET", "POST"]),
        Route("/sheet/{sheet_id}/answers.yaml", server.download, methods=["POST"]),
        Route("/sheet/{sheet_id}/upload", server.upload, methods=["POST"]),
        Route("/static/{name}", server.static, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _error_page, Exception: _internal_error})
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(SecurityHeaders)
    return app


async def _error_page(request: Request, exc: HTTPException) -> Response:
    return html("error.html", exc.status_code, status=exc.status_code, message=exc.detail)


async def _internal_error(request: Request, exc: Exception) -> Response:
    print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)  # for the instructor, not the page
    return html("error.html", 500, status=500, message="Something went wrong on the server.")


class _Server:
    """The request handlers over one catalogue (and the exam variants solved so far)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.variant = functools.lru_cache(maxsize=VARIANTS_KEPT)(self._solve_variant)
        self.marking = functools.lru_cache(maxsize=MARKINGS_KEPT)(self._mark)
        self.assets = {name: (HERE / "static" / name).read_bytes() for name in STATIC_TYPES}

    def _mark(self, sheet_id: str, variant: tuple[int, int] | None, answers: StudentAnswers) -> Marking:
        """derive check's marking of ``answers`` on a sheet (or one of its exam variants)."""
        sheet = self.catalogue.sheets[sheet_id] if variant is None else self.variant(sheet_id, *variant)
        return mark(sheet.verified, answers)

    def _solve_variant(self, sheet_id: str, seed: int, number: int) -> Sheet:
        base = self.catalogue.sheets[sheet_id].problem
        return build_sheet(sheet_id, solve(make_variant(base, seed, number)), variant=(seed, number))

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.assets:
            raise HTTPException(404, "There is no such file here.")
        return Response(self.assets[name], media_type=STATIC_TYPES[name], headers={"Cache-Control": "max-age=3600"})

    async def index(self, request: Request) -> Response:
        return html("index.html", catalogue=self.catalogue)

    def base_sheet(self, request: Request) -> Sheet:
        sheet = self.catalogue.sheets.get(request.path_params["sheet_id"])
        if sheet is None:
            raise HTTPException(404, "There is no such sheet here: pick one from the list.")
        return sheet

    async def pick_variant(self, sheet: Sheet, seed: str, number: str) -> Sheet:
        """The sheet of exam variant (seed, number), or the sheet itself when both are empty."""
        if not seed.strip() and not number.strip():
            return sheet
        if sheet.problem.randomisation is None:
            raise _PageError(400, "This sheet has no exam variants.", form_error="This sheet has no exam variants.")
        try:
            key = parse_variant(seed, number)
        except ValueError as err:
            raise _PageError(400, str(err), variant_error=str(err), seed=seed[:12], number=number[:12]) from None
        try:
            return await run_in_threadpool(self.variant, sheet.id, *key)
        except DeriveError as err:
            raise _PageError(422, str(err), variant_error=f"No such variant: {err}") from None

    async def sheet(self, request: Request) -> Response:
        base = self.base_sheet(request)
        try:
            if request.method == "GET":
                query = request.query_params
                return self.page(await self.pick_variant(base, query.get("seed", ""), query.get("variant", "")))
            fields, sheet = await self.read_form(request, base)
            submission = read_answers(fields, sheet)
            revealed = parse_revealed(_one(fields, "revealed") + " " + _one(fields, "reveal"), sheet)
        except (_PageError, FormError) as err:
            return self.refused(base, err)
        if submission.errors:
            return self.page(sheet, 422, submission=submission, revealed=revealed)
        marking = await run_in_threadpool(self.marking, sheet.id, sheet.variant, submission.answers)
        return self.page(sheet, submission=submission, revealed=revealed, marking=marking)

    def refused(self, base: Sheet, err: _PageError | FormError) -> Response:
        """The sheet page with the message of a request it cannot answer."""
        if isinstance(err, FormError):
            return self.page(base, 400, form_error=str(err))
        return self.page(base, err.status, **err.context)

    async def read_form(self, request: Request, base: Sheet) -> tuple[list[tuple[str, str]], Sheet]:
        """The fields of a urlencoded POST and the sheet (or exam variant) they answer."""
        _require_type(request, FORM_TYPE)
        body = await request.body()
        try:
            fields = parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict",
                               max_num_fields=len(base.boxes) + len(CONTROL_FIELDS))
        except UnicodeDecodeError:
            raise FormError("this is not valid form data (not URL-encoded UTF-8)") from None
        except ValueError:
            raise FormError(f"the form holds more fields than this sheet asks for ({len(base.boxes)})") from None
        for name in CONTROL_FIELDS:
            if sum(key == name for key, _ in fields) > 1:
                raise FormError(f"the field {name} is given twice")
        sheet = await self.pick_variant(base, _one(fields, "seed"), _one(fields, "variant"))
        return fields, sheet

    async def download(self, request: Request) -> Response:
        base = self.base_sheet(request)
        try:
            fields, sheet = await self.read_form(request, base)
            submission = read_answers(fields, sheet, "answers file")
        except (_PageError, FormError) as err:
            return self.refused(base, err)
        if submission.errors:
            return self.page(sheet, 422, submission=submission)
        name = sheet.id + ("" if sheet.variant is None else "-seed-{}-variant-{}".format(*sheet.variant))
        return Response(answers_yaml(sheet.problem, submission.answers), media_type="application/yaml; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}-answers.yaml"'})

    async def upload(self, request: Request) -> Response:
        base = self.base_sheet(request)
        _require_type(request, UPLOAD_TYPE)
        form = await request.form(max_files=1, max_fields=4, max_part_size=MAX_BODY)
        try:
            sheet = await self.pick_variant(base, _text(form.get("seed")), _text(form.get("variant")))
        except _PageError as err:
            return self.refused(base, err)
        file = form.get("answers")
        if not isinstance(file, UploadFile) or not file.filename:
            return self.page(sheet, 400, upload_error="Choose an answers file to upload.")
        name = Path(file.filename).name[:80]  # shown in messages only; never opened
        try:
            text = (await file.read()).decode("utf-8")
            answers = parse_answers(text, sheet.problem, name)
        except UnicodeDecodeError:
            return self.page(sheet, 422, upload_error=f"{name}: not UTF-8 text")
        except DeriveError as err:
            return self.page(sheet, 422, upload_error=str(err))
        values = answers.as_dict()
        typed = {box.label: f"{values[box.name]:.12g}" for box in sheet.boxes.values() if box.name in values}
        return self.page(sheet, submission=Submission(typed, {}, answers), uploaded=name)

    def page(self, sheet: Sheet, status: int = 200, submission: Submission | None = None,
             marking: Marking | None = None, revealed: tuple[str, ...] = (), **context) -> Response:
        """The sheet page: the boxes as typed, the marks and the score when checked."""
        marks = {} if marking is None else {m.label: m for m in marking.marks}
        score = "" if marking is None else score_line(marking) + _revealed_note(revealed)
        seed, number = ("", "") if sheet.variant is None else map(str, sheet.variant)
        defaults = dict(form_error="", variant_error="", upload_error="", uploaded="",
                        seed=seed, number=number)
        return html("sheet.html", status, **{**defaults, **context}, sheet=sheet, marks=marks, score=score,
                    typed={} if submission is None else submission.typed,
                    errors={} if submission is None else submission.errors, revealed=revealed,
                    has_variants=sheet.problem.randomisation is not None)


class _PageError(Exception):
    """A request the sheet page answers with a message (and a 4xx status)."""

    def __init__(self, status: int, message: str, **context) -> None:
        super().__init__(message)
        self.status, self.context = status, context


def _one(fields: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in fields if key == name), "")


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _require_type(request: Request, expected: str) -> None:
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given != expected:
        raise HTTPException(415, f"Send the form as {expected} (this request is {given or 'without a content type'}).")


def _revealed_note(revealed: tuple[str, ...]) -> str:
    if not revealed:
        return ""
    lines = "worked line" if len(revealed) == 1 else "worked lines"
    return f"; {len(revealed)} {lines} revealed ({', '.join(revealed)})"
