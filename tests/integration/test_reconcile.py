"""`complaints db reconcile` on the dev server: the archived-open complaints whose workflow was
terminated, reset or is gone, which no archive write of theirs will ever close."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest

from complaints.desk import Desk
from complaints.domain.models import Intake, Record, Stage
from tests.integration.apihelp import api_settings, intake  # noqa: F401
from tests.integration.test_cli import cli_env, desk, filed, run  # noqa: F401


async def reset_to_first_task(desk: Desk, complaint_id: str) -> None:
    """What the Web UI's Reset does: a new run from an early point of the complaint's history."""
    handle = desk.client.get_workflow_handle(f"complaint-{complaint_id}")
    first = next(e.event_id for e in (await handle.fetch_history()).events
                 if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    await desk.client.workflow_service.reset_workflow_execution(ResetWorkflowExecutionRequest(
        namespace=desk.client.namespace, workflow_execution=WorkflowExecution(workflow_id=handle.id),
        reason="reset from the Web UI", workflow_task_finish_event_id=first, request_id=str(uuid.uuid4())))


async def test_reconcile_lists_terminated_reset_and_missing_workflows_and_exits_6(desk: Desk, cli_env) -> None:
    running = await filed(desk, "RECONCILE-RUNNING")
    terminated = await filed(desk, "RECONCILE-TERMINATED")
    reset = await filed(desk, "RECONCILE-RESET")
    await desk.act(reset, "assess", {"handler": "h.li", "category": "service.fees", "severity": "normal"})

    agree = await run(cli_env, "db", "reconcile")
    assert agree.returncode == 0, agree.stderr
    assert "0 archived-open complaints" in agree.stdout

    await desk.client.get_workflow_handle(f"complaint-{terminated}").terminate(reason="terminated from the Web UI")
    await reset_to_first_task(desk, reset)
    desk.archive.write(Record(  # archived, but its workflow is gone (e.g. past the namespace's retention)
        complaint_id="CGONE00000000001", seq=1, at=datetime(2026, 11, 2, 2, tzinfo=timezone.utc), actor="web_form",
        kind="received", stage=Stage.assessment, intake=Intake.model_validate(intake("RECONCILE-GONE"))))

    found = await run(cli_env, "db", "reconcile", "--json")
    assert found.returncode == 7, found.stderr
    stranded = {s["complaint_id"]: s for s in json.loads(found.stdout)}
    assert {cid: s["workflow"] for cid, s in stranded.items()} == {
        terminated: "terminated", reset: "reset", "CGONE00000000001": "not_found"}
    assert running not in stranded
    assert stranded[terminated]["archived_stage"] == "assessment" and stranded[terminated]["ended_at"]
    assert stranded[reset]["archived_stage"] == "investigation" and stranded[reset]["ended_at"] is None

    table = await run(cli_env, "db", "reconcile")
    assert table.returncode == 7 and terminated in table.stdout and "3 archived-open complaints" in table.stdout
