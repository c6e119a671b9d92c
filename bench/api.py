"""The API the benchmark drives: the real app (`complaints serve`), plus the reference's endpoints.

Both sit in one uvicorn process, behind the same HTTP stack, so the comparison is of what is
behind the routes. The reference's routes do the least: start the workflow, run the update.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from bench.reference_workflow import ReferenceWorkflow
from complaints.api.app import create_app

reference = APIRouter(prefix="/reference")
_client: list[Client] = []


async def client() -> Client:
    if not _client:
        _client.append(await Client.connect(os.environ["TEMPORAL_ADDRESS"]))
    return _client[0]


@reference.post("")
async def file(body: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008 - FastAPI's way
    wid = f"reference-{body['external_ref']}"
    try:
        await (await client()).start_workflow(
            ReferenceWorkflow.run, args=[body, float(os.environ["BENCH_REFERENCE_DEADLINE"])], id=wid,
            task_queue=os.environ["BENCH_REFERENCE_QUEUE"], id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
    except WorkflowAlreadyStartedError:
        return JSONResponse({"complaint_id": wid}, status_code=200)
    return JSONResponse({"complaint_id": wid}, status_code=201)


@reference.post("/{wid}/{action}")
async def act(wid: str, action: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
    return await (await client()).get_workflow_handle(wid).execute_update(ReferenceWorkflow.act, args=[action, body])


app = create_app()
app.include_router(reference)
