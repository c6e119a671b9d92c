"""The emergency team's desk: open cases, leads, and a history kept short by continue-as-new."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

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
    for _ in range(100):
        cases = (await latest.query(EmergencyTeamWorkflow.open_cases)).cases
        if len(cases) == 59:
            break
        await asyncio.sleep(0.05)
    described = await latest.describe()
    assert described.run_id != first_run, "the desk should have continued as new"
    history = [e async for e in latest.fetch_history_events()]
    assert len(history) < 60  # bounded: the new run carries state, not the old events
    assert len(cases) == 59 and "C0007" not in {c.complaint_id for c in cases}
    case3 = next(c for c in cases if c.complaint_id == "C0003")
    assert case3.seqs == [1, 2] and len(case3.escalations) == 2
    await latest.terminate("test finished")
