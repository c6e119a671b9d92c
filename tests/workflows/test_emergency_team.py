"""The emergency team's desk: open cases, leads, and a history kept short by continue-as-new."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from complaints.domain.models import EscalationEntry, EscalationNotice, TeamState
from workflows.emergency import EmergencyTeamWorkflow


def notice(n: int, seq: int = 1) -> EscalationNotice:
    return EscalationNotice(complaint_id=f"C{n:04d}", seq=seq, stage="assessment", escalation=EscalationEntry(
        source="manager", reason="test", by="manager-li", at=datetime(2026, 11, 2, tzinfo=timezone.utc)))


async def test_more_escalations_than_the_threshold_continue_as_new_and_keep_every_case(client, worker, team_id,
                                                                                       task_queue):
    handle = await client.start_workflow(EmergencyTeamWorkflow.run, TeamState(history_limit=40), id=team_id,
                                         task_queue=task_queue)
    first_run = handle.result_run_id
    for n in range(60):
        await handle.signal(EmergencyTeamWorkflow.escalation, notice(n))
    await handle.signal(EmergencyTeamWorkflow.escalation, notice(3, seq=1))  # a retried alert: no duplicate
    await handle.signal(EmergencyTeamWorkflow.escalation, notice(3, seq=2))
    await handle.signal(EmergencyTeamWorkflow.case_closed, "C0007")

    latest = client.get_workflow_handle(team_id)
    cases = await open_cases_once(latest, 59)
    described = await latest.describe()
    assert described.run_id != first_run, "the desk should have continued as new"
    history = [e async for e in latest.fetch_history_events()]
    assert len(history) < 60  # bounded: the new run carries state, not the old events
    assert len(cases) == 59 and "C0007" not in {c.complaint_id for c in cases}
    case3 = next(c for c in cases if c.complaint_id == "C0003")
    assert case3.seqs == [1, 2] and len(case3.escalations) == 2


async def open_cases_once(handle: WorkflowHandle, count: int, within: float = 30.0) -> list:
    """The open cases once there are `count`: a query sent while the desk continues as new can
    time out before the new run's first task is done, so it is asked again."""
    loop = asyncio.get_running_loop()
    end, cases = loop.time() + within, []
    while loop.time() < end:
        try:
            cases = (await handle.query(EmergencyTeamWorkflow.open_cases, rpc_timeout=timedelta(seconds=5))).cases
        except RPCError:
            cases = []
        if len(cases) == count:
            break
        await asyncio.sleep(0.05)
    return cases


async def test_the_acknowledge_answer_in_history_reads_without_the_codec_with_reasons_sealed(client, worker, team_id,
                                                                                            task_queue):
    """What `temporal workflow update execute --name acknowledge` prints: the case as JSON, like the status."""
    handle = await client.start_workflow(EmergencyTeamWorkflow.run, TeamState(), id=team_id, task_queue=task_queue)
    secret = notice(1).model_copy(update={"escalation": notice(1).escalation.model_copy(
        update={"reason": "王小明 13912345678 threatens to go to the press"})})
    await handle.signal(EmergencyTeamWorkflow.escalation, secret)
    while not (await handle.query(EmergencyTeamWorkflow.open_cases)).cases:  # the team acknowledges what it lists
        await asyncio.sleep(0.05)
    await handle.execute_update(EmergencyTeamWorkflow.acknowledge, {"complaint_id": "C0001", "lead": "e.wu"})

    [done] = [e async for e in handle.fetch_history_events()
              if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED]
    [answer] = done.workflow_execution_update_completed_event_attributes.outcome.success.payloads
    assert dict(answer.metadata) == {"encoding": b"json/plain"}
    case = json.loads(answer.data)
    assert (case["complaint_id"], case["lead"], case["stage"]) == ("C0001", "e.wu", "assessment")
    [escalation] = case["escalations"]
    assert escalation["source"] == "manager" and escalation["reason"].startswith("sealed:test-1:")
    assert "王小明".encode() not in answer.data and b"13912345678" not in answer.data
