"""The problem file's schema: the shape and type of every field, checked by pydantic.

Stage 0 of the loader (:mod:`derive.loader`): a parsed YAML document becomes a ``RawProblem``
or one :class:`ProblemError` naming the field. The checks that need the whole problem (matrix
shapes against layer sizes, pairings, targets) are :mod:`derive.problem_checks`'.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ProblemError
from .spec import EXERCISES, QUANTITIES

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NumberRow = list[Number]


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
    max_draws: Annotated[int, Field(strict=True, gt=0, le=1_000_000)] = 1000
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


def validate(document: dict, source: str) -> RawProblem:
    """The document as a :class:`RawProblem`; a :class:`ProblemError` naming the field otherwise."""
    try:
        raw = RawProblem.model_validate(document)
    except ValidationError as err:
        # A value that fails a union (matrix or vector) is reported once per member; group the
        # errors by field and describe the most telling one (a non-number beats a wrong type).
        errors = err.errors()
        # Drop "not a list" errors from the union member that does not fit the value's shape.
        shaped = [e for e in errors if e["type"] != "list_type" or not any(
            o is not e and o["type"] != "list_type" and o["loc"][:2] == e["loc"][:2] for o in errors)]
        by_field: dict[str, list[dict]] = {}
        for error in shaped:
            by_field.setdefault(_field_path(error["loc"]), []).append(error)
        field, errors = next(iter(by_field.items()))
        numeric = [e for e in errors if e["type"] in ("float_type", "float_parsing", "finite_number")]
        message = _describe((numeric or errors)[0])
        more = len(by_field) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ProblemError(source, field, message) from None
    return raw


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


def _describe(error: dict) -> str:
    kind = error["type"]
    given = error.get("input")
    if kind == "missing":
        return "missing (this field is required)"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling)"
    if kind == "finite_number":
        return f"expected a finite number, got {given!r}"
    if kind in ("float_type", "int_type", "float_parsing"):
        return f"expected a number, got {given!r}"
    return f"{error['msg']}, got {given!r}"
