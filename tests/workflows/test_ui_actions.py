"""What the Web UI's write actions do to a complaint: a cancellation closes it on the record,
and a `lead_assigned` signal sent by anyone but the emergency team is not recorded."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from sqlalchemy import select

from complaints.domain.models import Intake
from complaints.domain.workdays import SHANGHAI
from complaints.infra.schema import contact_suspensions, deadlines
from complaints.intake import file_complaint
from complaints.reports import Period, build_report
from workflows.visibility import STAGE

from .conftest import BODY, STEPS, attribute


async def test_a_cancelled_complaint_closes_recorded_with_outcome_cancelled(desk, archive):
    handle = await desk.file()
    status = await desk.act(handle, *STEPS[0])  # assessed, with the interim measure
    cid = status["complaint_id"]
    await handle.signal("escalate", {"reason": "press enquiry", "by": "manager-li"})
    await desk.until_case(cid)

    await handle.cancel(reason="cancelled from the Web UI")  # what Request Cancellation sends
    final = await handle.result()  # completed, not cancelled: a cancelled run has no result
    assert final["stage"] == "closed" and final["outcome"] == "cancelled"
    assert final["next_deadline"] is None and final["accepts"] == [] and final["breaches"] == []
    assert final["history"][-1]["stage"] == "closed" and final["history"][-1]["actor"] == "temporal"
    assert await attribute(handle, STAGE) == "closed"

    row = archive.complaint(cid)
    assert row["stage"] == "closed" and row["outcome"] == "cancelled" and row["closed_at"] is not None
    entry = archive.audit_trail(cid)[-1]
    assert (entry["kind"], entry["actor"], entry["stage"]) == ("cancelled", "temporal", "closed")
    assert entry["details"] == {"reason": "cancelled from the Web UI"}
    told = [n["recipient"] for n in archive.notices(cid) if n["kind"] == "cancelled"]
    assert told == [f"handler:{STEPS[0][1]['handler']}"]
    with archive.engine.connect() as db:
        assert db.execute(select(contact_suspensions.c.lifted_at)).scalar_one() is not None
        unmet = db.execute(select(deadlines.c.name).where(deadlines.c.complaint_id == cid,
                                                          deadlines.c.met_at.is_(None))).scalars().all()
    await desk.until_case(cid, present=False)  # the emergency team's case is closed

    day = row["closed_at"].astimezone(SHANGHAI).date()
    report = build_report(archive.engine, Period(day - timedelta(days=30), day))
    assert report["closed_by_outcome"]["cancelled"] == 1
    assert all(report["deadlines"][name]["cancelled"] == 1 for name in unmet)


async def test_a_complaint_cancelled_as_soon_as_it_is_filed_is_archived_and_closed(desk, client, task_queue,
                                                                                   archive):
    intake = Intake.model_validate({**BODY, "external_ref": "CANCEL-AT-ONCE"})
    filed = await file_complaint(client, task_queue, intake, archive, now=await desk.env.get_current_time())
    handle = client.get_workflow_handle(filed.workflow_id)
    await handle.cancel()  # before the worker has run the complaint's first step
    final = await handle.result()
    assert final["outcome"] == "cancelled" and set(final["deadlines"]) >= {"assessment", "summary"}
    kinds = [e["kind"] for e in archive.audit_trail(filed.complaint_id)]
    assert kinds[0] == "received" and kinds[-1] == "cancelled" and "breach" not in kinds
    assert archive.complaint(filed.complaint_id)["outcome"] == "cancelled"


async def test_a_cancellation_while_a_closed_complaints_record_is_written_changes_nothing(desk, archive,
                                                                                        monkeypatch):
    handle = await desk.file()
    writing, release = threading.Event(), threading.Event()
    write = archive.write

    def slow_write(record):  # the withdrawal's archive write takes its time
        if record.action == "withdraw":
            writing.set()
            release.wait(10)
        write(record)

    monkeypatch.setattr(archive, "write", slow_write)
    withdrawal = asyncio.create_task(desk.act(handle, "withdraw", {"handler": "handler-wang", "reason": "settled"}))
    await asyncio.get_running_loop().run_in_executor(None, writing.wait, 10)
    await handle.cancel()
    release.set()
    await withdrawal
    final = await handle.result()  # completed, not cancelled: a cancelled run has no result
    assert final["outcome"] == "withdrawn"
    trail = archive.audit_trail(final["complaint_id"])
    assert trail[-1]["action"] == "withdraw" and "cancelled" not in [e["kind"] for e in trail]


async def test_a_forged_lead_signal_is_not_recorded_but_the_teams_acknowledgement_is(desk, client, team_id, archive):
    handle = await desk.file()
    cid = (await handle.query("status"))["complaint_id"]
    await handle.signal("escalate", {"reason": "complainant called the CEO's office", "by": "manager-li"})
    await desk.until_case(cid)

    await handle.signal("lead_assigned", "mallory")  # as the Web UI's Send a Signal would
    await client.get_workflow_handle(team_id).execute_update("acknowledge", {"complaint_id": cid, "lead": "lead-zhao"})
    await desk.until(handle, lambda s: s["lead"] == "lead-zhao")
    await handle.signal("lead_assigned", "mallory")  # forged again, once the team has named its lead

    await desk.act(handle, "withdraw", {"handler": "handler-wang", "reason": "settled"})
    final = await handle.result()  # completes once every signal handler has finished
    assert final["lead"] == "lead-zhao"
    trail = archive.audit_trail(cid)
    assert [(e["actor"], e["details"]) for e in trail if e["kind"] == "lead_assigned"] == [
        ("lead-zhao", {"lead": "lead-zhao"})]
    assert not any("mallory" in n["message"] or "mallory" in n["recipient"] for n in archive.notices(cid))
