"""A complaint whose escalation gets a lead from the emergency team, driven to `closed`.

The deployment tests record and replay its history; `python -m tests.faults.lead OUT.json`
records one (with the test codec key) on a dev server of its own, as the history of the
code before the `lead-notifies-handler` patch was recorded.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from pathlib import Path

from temporalio.client import Client

from bench.shape import STEPS, intake_body
from complaints.domain.models import Intake
from complaints.infra.archive import Archive
from complaints.intake import file_complaint
from tests.faults.support import until_assessment
from workflows.emergency import EmergencyTeamWorkflow

LEAD = "lead-wang"


async def lead_scenario(client: Client, task_queue: str, team_id: str, archive: Archive) -> str:
    """Escalated by a manager, a lead named by the team, then the happy path to `closed`."""
    filed = await file_complaint(client, task_queue, Intake.model_validate(intake_body(f"lead-{uuid.uuid4().hex}")),
                                 archive)
    handle = client.get_workflow_handle(filed.workflow_id)
    await until_assessment(client, filed.complaint_id)
    await handle.execute_update(STEPS[0][0], STEPS[0][1])
    await handle.signal("escalate", {"reason": "customer called three times", "by": "manager-zhao"})
    team = client.get_workflow_handle(team_id)
    for _ in range(100):
        try:
            cases = await team.query(EmergencyTeamWorkflow.open_cases)
            if any(c.complaint_id == filed.complaint_id for c in cases.cases):
                break
        except Exception:  # noqa: BLE001 - the team's workflow is being started by the alert
            pass
        await asyncio.sleep(0.2)
    await team.execute_update(EmergencyTeamWorkflow.acknowledge, {"complaint_id": filed.complaint_id, "lead": LEAD})
    for _ in range(100):
        status = await handle.query("status", result_type=dict)
        if status["lead"] == LEAD:
            break
        await asyncio.sleep(0.2)
    for name, payload in STEPS[1:]:
        await handle.execute_update(name, payload)
    await handle.result()
    return filed.complaint_id


async def record(out: Path) -> None:
    from sqlalchemy import create_engine

    from complaints.domain.policy import Policy
    from complaints.domain.workdays import WorkingCalendar
    from complaints.infra.migrations import upgrade
    from complaints.infra.settings import Settings
    from complaints.infra.temporal import connect, register_search_attributes
    from tests.conftest import TEST_KEY, TEST_KEYS, binary
    from tests.devserver import DevServer, free_port
    from worker import new_worker
    from workflows.visibility import ALL

    with tempfile.TemporaryDirectory() as tmp:
        server = DevServer(f"127.0.0.1:{free_port()}", None, Path(tmp) / "temporal.db").start(binary("temporal"))
        try:
            client = await connect(Settings(temporal_address=server.address, codec_keys=TEST_KEY))
            await register_search_attributes(client, ALL)
            engine = create_engine(f"sqlite:///{tmp}/archive.db")
            upgrade(engine)
            archive = Archive(engine, TEST_KEYS)
            async with new_worker(client, "record", Policy(), WorkingCalendar(), archive, "team-record"):
                complaint_id = await lead_scenario(client, "record", "team-record", archive)
            history = await client.get_workflow_handle(f"complaint-{complaint_id}").fetch_history()
            out.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n", encoding="utf-8")
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(record(Path(sys.argv[1])))
