"""The problem file's schema: the shape and type of every field, checked by pydantic.

Stage 0 of the loader (:mod:`derive.loader`): a parsed YAML document becomes a ``RawProblem``
or one :class:`ProblemError` naming the field. The checks that need the whole problem (matrix
shapes against layer sizes, pairings, targets) are :mod:`derive.problem_checks`'.
"""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ProblemError, shown
from .spec import EXERCISES, QUANTITIES

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NumberRow = list[Number]

MAX_LISTED = 20
"""Problems listed in one error line (a file with more is not a near miss)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RawNetwork(_Strict):
    layers: list[Annotated[int, Field(strict=True, gt=0)]] = Field(min_length=2)
    activations: list[str]
    loss: str
    bias: bool = True


class RawData(_Strict):
    inputs: list[NumberRow] = Field(min_length=1)
    targets: list[NumberRow] = Field(min_length=1)


class RawTraining(_Strict):
    learning_rate: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
    steps: Annotated[int, Field(strict=True, ge=0)] | None = None
    epochs: Annotated[int, Field(strict=True, gt=0)] | None = None
    batch: Union[Literal["full"], Annotated[int, Field(strict=True, gt=0)]] = "full"
    l2: Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)] = 0.0


class RawAnswers(_Strict):
    significant_figures: Annotated[int, Field(strict=True, ge=1, le=15)] | None = None
    relative_tolerance: Annotated[float, Field(strict=True, gt=0, lt=1, allow_inf_nan=False)] | None = None
    decimals: Annotated[int, Field(strict=True, ge=0, le=12)] = 4
    asked: list[Literal[QUANTITIES + EXERCISES]] | None = None  # type: ignore[valid-type]


class RawCompare(_Strict):
    hidden_activation: list[str] | None = Field(default=None, min_length=2)
    loss: list[str] | None = Field(default=None, min_length=2)


class RawDraw(_Strict):
    min: Number | None = None
    max: Number | None = None
    step: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)] | None = None
    choices: list[Number] | None = Field(default=None, min_length=1)
    nonzero: bool = False
    one_hot: bool = False


class RawConstraints(_Strict):
    max_abs_z: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)] | None = None
    inactive_relu: Annotated[int, Field(strict=True, ge=0)] = 0
    nonzero_gradients: bool = True
    distinct_answers: bool = True
    no_rounding_ties: bool = False


class RawRandomData(_Strict):
    inputs: RawDraw | None = None
    targets: RawDraw | None = None


class RawRandomisation(_Strict):
    parameters: dict[str, RawDraw] = {}
    data: RawRandomData = RawRandomData()
    constraints: RawConstraints = RawConstraints()
    max_draws: Annotated[int, Field(strict=True, gt=0)] = 1000
    instructions: str | None = None


class RawProblem(_Strict):
    title: str = Field(min_length=1)
    instructions: str = ""
    network: RawNetwork
    parameters: dict[str, Union[list[NumberRow], NumberRow]]
    data: RawData
    training: RawTraining
    answers: RawAnswers = RawAnswers()
    compare: RawCompare | None = None
    randomisation: RawRandomisation | None = None


def validate(document: dict, source: str, model: type[BaseModel] | None = None):
    """The document as a :class:`RawProblem` (or another ``model``, e.g. a lab file's); a
    :class:`ProblemError` naming every field that is wrong (the first as its field, the others in
    its message)."""
    model = model or RawProblem
    try:
        return model.model_validate(document)
    except ValidationError as err:
        problems = describe_errors(err.errors(), model)
    (field, message), *others = problems[:MAX_LISTED]
    listed = [message] + [f"{other}: {text}" for other, text in others]
    if len(problems) > MAX_LISTED:
        listed.append(f"and {len(problems) - MAX_LISTED} more")
    raise ProblemError(source, field, "; ".join(listed))


def describe_errors(errors: list[dict], model: type[BaseModel]) -> list[tuple[str, str]]:
    """One (field, message) per wrong field of pydantic's ``errors``, unknown fields first (a
    misspelled key explains the "missing" that follows it)."""
    # A value that fails a union (matrix or vector) is reported once per member; drop the "not a
    # list" errors of the member that does not fit the value's shape, then keep the most telling
    # error per field (a non-number beats a wrong type).
    shaped = [e for e in errors if e["type"] != "list_type" or not any(
        o is not e and o["type"] != "list_type" and o["loc"][:2] == e["loc"][:2] for o in errors)]
    by_field: dict[str, list[dict]] = {}
    for error in shaped:
        by_field.setdefault(_field_path(error["loc"]), []).append(error)
    problems = []
    for field, errors in by_field.items():
        numeric = [e for e in errors if e["type"] in ("float_type", "float_parsing", "finite_number")]
        problems.append((field, _describe((numeric or errors)[0], model)))
    return sorted(problems, key=lambda problem: not problem[1].startswith("unknown field"))


def _field_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("int", "float", "list[float]", "list[list[float]]", "literal['full']"):
            continue  # pydantic's names of union members, not fields
        else:
            path += f".{part}" if path else str(part)
    return path


def _describe(error: dict, model: type[BaseModel]) -> str:
    kind = error["type"]
    given = shown(error.get("input"))
    if kind == "missing":
        return "missing (this field is required)"
    if kind == "extra_forbidden":
        return unknown_key(str(error["loc"][-1]), _fields_at(model, error["loc"][:-1]), "field")
    if kind == "finite_number":
        return f"expected a finite number, got {given}"
    if kind in ("float_type", "int_type", "float_parsing"):
        return f"expected a number, got {given}"
    return f"{error['msg']}, got {given}"


def unknown_key(key: str, known: list[str], kind: str = "key") -> str:
    """``unknown field 'titel' (did you mean 'title'?)``, or the list of known keys."""
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"unknown {kind} {shown(key)} (did you mean {close[0]!r}?)"
    return f"unknown {kind} {shown(key)}; expected one of {', '.join(known)}"


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the model found at ``loc`` inside ``model`` (through optional fields,
    dicts and lists), or [] when there is none."""
    annotation: object = model
    for part in loc:
        annotation = next((inner for option in _options(annotation) if (inner := _inside(option, part)) is not None),
                          None)
    models = [o for o in _options(annotation) if isinstance(o, type) and issubclass(o, BaseModel)]
    return list(models[0].model_fields) if models else []


def _options(annotation: object) -> list:
    """The alternatives of a union or Optional (the annotation itself otherwise)."""
    if get_origin(annotation) is Annotated:
        return _options(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return [o for arg in get_args(annotation) for o in _options(arg)]
    return [annotation]


def _inside(annotation: object, part: str | int) -> object | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    if get_origin(annotation) is dict and isinstance(part, str):
        return get_args(annotation)[1]
    if get_origin(annotation) is list and isinstance(part, int):
        return get_args(annotation)[0]
    return None
