"""The API's error bodies, and the OpenAPI `responses` that declare them.

Every status a route can answer is in its schema with the body's model, so a client generated
from `/openapi.json` knows each answer (the contract test checks that no route answers a code
it does not declare). Two shapes: a sentence (`Problem`), or bad input as each field and its
reason (`Problems`), never the value sent: it may be personal data.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    """What went wrong, in one sentence that quotes no input."""

    detail: str


class FieldProblem(BaseModel):
    field: str
    """The field, dotted for a nested one (`complainant.phone`), or `body` for the whole body."""
    reason: str


class Problems(BaseModel):
    """Bad input: each field and why it was refused."""

    detail: list[FieldProblem]


WHY: dict[int, tuple[type[BaseModel], str]] = {
    400: (Problem, "the request names another Temporal namespace"),
    401: (Problem, "missing or unknown API key"),
    403: (Problem, "the key's role may not do this"),
    404: (Problem, "no such complaint"),
    409: (Problem, "the complaint's stage does not accept this"),
    413: (Problem, "the body is over the size limit"),
    415: (Problem, "a file of a type the service does not keep"),
    422: (Problems, "bad input: each field and the reason, never the value"),
    503: (Problem, "Temporal or the archive does not answer; nothing was lost, try again"),
}


def answers(*codes: int, **why: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses; `why` (`_409="..."`) words one for a route."""
    return {code: {"model": WHY[code][0], "description": why.get(f"_{code}", WHY[code][1])} for code in codes}
