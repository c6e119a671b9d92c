"""Helpers for driving complaints on the time-skipping server."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from complaints.domain.models import Intake
from complaints.infra.archive import Archive
from complaints.intake import file_complaint

BODY: dict[str, Any] = {
    "channel": "phone",
    "content": "催收员晚上十一点打电话，态度恶劣。",
    "complainant": {"name": "张三", "phone": "13800000000", "customer_id": "CUST-1"},
    "evidence": ["call-recording-0412.mp3"],
}

HANDLER = "handler-wang"

STEPS: list[tuple[str, dict[str, Any]]] = [
    ("assess", {"handler": HANDLER, "category": "collection.off_hours", "severity": "normal", "interim_measure": True}),
    ("investigate", {"handler": HANDLER, "findings": "Calls at 23:00 confirmed by the dialler log",
                     "root_cause": "dialler ignored quiet hours", "substantiated": True, "evidence": ["dialler.csv"]}),
    ("propose_solution", {"handler": HANDLER, "plan": "Apologise in writing and fix the dialler",
                          "remedies": ["written apology", "dialler quiet hours"]}),
    ("record_execution", {"handler": HANDLER, "result": "Apology sent, dialler fixed"}),
    ("record_feedback", {"handler": HANDLER, "accepted": True}),
    ("record_revisit", {"handler": HANDLER, "reached": True, "satisfaction": 4}),
    ("summarize", {"handler": HANDLER, "root_cause": "dialler quiet hours", "improvements": ["dialler checks"]}),
]
"""The happy path, one update per step, in process order."""

STAGE_AFTER = ["investigation", "solution", "solution", "feedback", "revisit", "summary", "closed"]


class Desk:
    """Files complaints and drives them, the way a handler would."""

    def __init__(self, env: WorkflowEnvironment, client: Client, task_queue: str, archive: Archive, team_id: str):
        self.env, self.client, self.task_queue, self.archive, self.team_id = env, client, task_queue, archive, team_id
        self.filed: list[WorkflowHandle] = []

    async def file(self, **changes: Any) -> WorkflowHandle:
        body = {**BODY, **changes}
        filed = await file_complaint(self.client, self.task_queue, Intake.model_validate(body), self.archive,
                                     now=await self.env.get_current_time())
        handle = self.client.get_workflow_handle(filed.workflow_id)
        self.filed.append(handle)
        await self.until(handle, lambda s: s["stage"] != "receipt")
        return handle

    async def until(self, handle: WorkflowHandle, condition, timeout: float = 10.0) -> dict[str, Any]:
        """Poll the status until `condition` holds (bounded)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status = await handle.query("status")
            if condition(status):
                return status
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met; status: {status}")
            await asyncio.sleep(0.05)

    async def sleep(self, duration: timedelta) -> None:
        """Skip time a day at a time: one long skip through many firing timers can outlast
        the test server's own time limit on a loaded machine."""
        while duration > timedelta(0):
            step = min(duration, timedelta(days=1))
            await self.env.sleep(step)
            duration -= step

    async def act(self, handle: WorkflowHandle, update: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await handle.execute_update(update, payload)

    async def steps(self, handle: WorkflowHandle, upto: int, start: int = 0) -> dict[str, Any]:
        status: dict[str, Any] = {}
        for name, payload in STEPS[start:upto]:
            status = await self.act(handle, name, payload)
        return status

    async def open_cases(self) -> list[dict[str, Any]]:
        try:
            result = await self.client.get_workflow_handle(self.team_id).query("open_cases")
        except Exception:  # noqa: BLE001 - the team has not been started: no cases
            return []
        return result["cases"]

    async def until_case(self, complaint_id: str, present: bool = True) -> None:
        deadline = asyncio.get_running_loop().time() + 10
        while (any(c["complaint_id"] == complaint_id for c in await self.open_cases())) != present:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"case {complaint_id} {'missing from' if present else 'still in'} open cases")
            await asyncio.sleep(0.05)


    async def close_all(self) -> None:
        """Withdraw every complaint the test filed that is still open, and wait for each to
        finish: its records and notices are then all out, for a test that counts them."""
        for handle in self.filed:
            try:
                await handle.execute_update("withdraw", {"handler": "test-teardown", "reason": "test finished"})
            except WorkflowUpdateFailedError:
                continue  # closed already
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
                continue
            await handle.result()

async def attribute(handle: WorkflowHandle, key: SearchAttributeKey) -> Any:
    """A search attribute's value, read raw: the test server returns an unset Datetime
    in a form the SDK's typed decoding rejects, so tests read the one key they need."""
    described = await handle._client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(namespace=handle._client.namespace,
                                         execution=WorkflowExecution(workflow_id=handle.id)))
    fields = described.workflow_execution_info.search_attributes.indexed_fields
    return json.loads(fields[key.name].data) if key.name in fields else None


@pytest.fixture
def desk(env, client, task_queue, archive, team_id, worker):
    return Desk(env, client, task_queue, archive, team_id)
