"""An action's form, read off its input model, and the posted form read back into that model's body.

The inputs are named by the contract's field names (`handler`, `findings`, `remedies`...), so a
test or another tool drives a form by the same names the API takes. A flag is a yes/no choice,
a list is a textarea read one item a line, a vocabulary a select. Nested objects (an
assessment's `respondent`) are left to the API. Checking is the desk's: an empty required input
is simply left out, and the desk names the missing field.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from starlette.datastructures import FormData

LONG = 500
"""Text allowed longer than this gets a textarea."""


@dataclass(frozen=True)
class Input:
    name: str
    kind: str  # text, long, lines, int, number, flag, choice
    required: bool
    choices: tuple[str, ...] = ()


def _bare(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """The type under `X | None` and `Annotated[X, ...]`, with every constraint met on the way."""
    while True:
        if get_origin(annotation) in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        elif get_origin(annotation) is Annotated:
            annotation, *more = get_args(annotation)
            metadata = [*metadata, *more]
        else:
            return annotation, metadata


def _kind(annotation: Any, metadata: list[Any]) -> tuple[str, tuple[str, ...]] | None:
    bare, metadata = _bare(annotation, metadata)
    if bare is bool:
        return "flag", ("true", "false")
    if bare is int:
        return "int", ()
    if bare is float:
        return "number", ()
    if isinstance(bare, type) and issubclass(bare, Enum):
        return "choice", tuple(str(m.value) for m in bare)
    if get_origin(bare) is list:
        return "lines", ()
    if bare is str:
        longest = max((getattr(m, "max_length", None) or 0 for m in metadata), default=0)
        return ("long" if longest > LONG else "text"), ()
    return None


def inputs(model: type[BaseModel]) -> list[Input]:
    """The form inputs of an input model: the required ones first, each group in the fields' order."""
    found = []
    for name, info in model.model_fields.items():
        kind = _kind(info.annotation, info.metadata)
        if kind is not None:
            found.append(Input(name, kind[0], info.is_required(), kind[1]))
    return sorted(found, key=lambda field: not field.required)


def body(model: type[BaseModel], form: FormData) -> dict[str, Any]:
    """The JSON body the posted form stands for; a value that does not read as its kind is passed
    on as text, for the desk to refuse naming the field."""
    values: dict[str, Any] = {}
    for field in inputs(model):
        raw = form.get(field.name)
        if not isinstance(raw, str) or not raw.strip():
            continue
        raw = raw.strip()
        if field.kind == "lines":
            values[field.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif field.kind == "flag":
            values[field.name] = {"true": True, "false": False}.get(raw, raw)
        elif field.kind in ("int", "number"):
            values[field.name] = _number(raw, int if field.kind == "int" else float)
        else:
            values[field.name] = raw
    return values


def _number(raw: str, kind: type) -> Any:
    try:
        return kind(raw)
    except ValueError:
        return raw
