"""`GET /reports/regulatory`: the regulator's quarterly return for managers and auditors, as
JSON, CSV or the XLSX workbook the CLI writes (complaints/regulatory.py makes all three)."""

# No `from __future__ import annotations`: FastAPI reads the parameter types at runtime.

import asyncio
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from complaints.api.auth import require
from complaints.api.errors import answers
from complaints.desk import Invalid, Unavailable
from complaints.infra.db import engine_for
from complaints.infra.migrations import SchemaBehind, require_current_schema
from complaints.regulatory import Quarter, build_return, csv_text, xlsx_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReturnFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


reports_router = APIRouter(tags=["reports"])


@reports_router.get("/reports/regulatory", responses={200: {"content": {"text/csv": {}, XLSX: {}}},
                                                      **answers(401, 403, 422, 503)})
async def regulatory_return(request: Request, _: Annotated[Any, Depends(require("manager", "auditor"))],
                            quarter: Annotated[str, Query(examples=["2026Q4"], description="e.g. 2026Q4")],
                            format: ReturnFormat = ReturnFormat.json) -> Response:  # noqa: A002 - the contract's name
    """The quarterly return in JR/T 0169-2018 codes: counts by A x B x C, each axis, each respondent."""
    try:
        which = Quarter.parse(quarter)
    except ValueError as err:
        raise Invalid([("quarter", str(err))]) from None
    settings, table = request.app.state.settings, request.app.state.codes

    def build() -> dict[str, Any]:
        engine = engine_for(settings.db_url)
        require_current_schema(engine)
        return build_return(engine, which, table, settings.institution_name)

    try:
        figures = await asyncio.to_thread(build)
    except (SchemaBehind, SQLAlchemyError) as err:
        raise Unavailable(f"the archive does not answer: {type(err).__name__}") from None
    name = f"complaints-{which}"
    if format is ReturnFormat.xlsx:
        return Response(xlsx_bytes(figures, table), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    if format is ReturnFormat.csv:
        return Response(csv_text(figures), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return JSONResponse(figures)
