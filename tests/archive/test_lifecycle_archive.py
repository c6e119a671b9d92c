"""A complaint's whole way through Temporal, archived on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from complaints.domain.models import DEADLINES, Stage
from complaints.domain.policy import Policy
from complaints.domain.workdays import SHANGHAI, WorkingCalendar
from complaints.infra.archive import Archive
from complaints.infra.schema import deadlines, escalations
from complaints.reports import Period, build_report
from tests.conftest import postman
from tests.workflows.conftest import STEPS, Desk


@pytest.fixture
async def archived_desk(env: WorkflowEnvironment, client: Client, task_queue: str, any_archive: Archive,
                        team_id: str):
    """A worker writing to `any_archive`, and a desk driving complaints through it."""
    from worker import new_worker

    async with new_worker(client, task_queue, Policy(), WorkingCalendar(), any_archive, team_id, postman(any_archive)):
        yield Desk(env, client, task_queue, any_archive, team_id)


async def test_lifecycle_leaves_the_complete_ordered_audit_trail(archived_desk: Desk, any_archive: Archive):
    desk, archive = archived_desk, any_archive
    handle = await desk.file()
    cid = (await handle.query("status"))["complaint_id"]
    await handle.signal("escalate", {"reason": "press enquiry", "by": "manager-zhao"})
    due = datetime.fromisoformat((await handle.query("status"))["deadlines"]["assessment"])
    await desk.env.sleep(due - await desk.env.get_current_time() + timedelta(minutes=1))
    await desk.until(handle, lambda s: "assessment" in s["breaches"])
    await desk.steps(handle, len(STEPS))
    final = await handle.result()

    trail = archive.audit_trail(cid)
    assert [row["seq"] for row in trail] == list(range(1, len(trail) + 1)), "complete, no gaps, no duplicates"
    assert [row["at"] for row in trail] == sorted(row["at"] for row in trail), "in the order things happened"
    stages = [row["stage"] for row in trail]
    assert list(dict.fromkeys(stages)) == [s.value for s in Stage], "every stage, in process order"
    assert [row["action"] for row in trail if row["kind"] == "action"] == [name for name, _ in STEPS]
    assert {"received", "stage_entered", "escalation", "warning", "breach", "decision_letter",
            "decision_sent"} <= {row["kind"] for row in trail}
    assert trail[0]["kind"] == "received"  # the letter's sending is recorded when it happens, maybe after the summary

    row = archive.complaint(cid)
    assert row["stage"] == "closed" and row["outcome"] == "resolved" and row["satisfaction"] == 4
    assert row["closed_at"] == datetime.fromisoformat(final["history"][-1]["entered_at"])
    assert row["escalated"] is True and row["handlers"] == ["handler-wang"]
    with archive.engine.connect() as db:
        sources = db.execute(select(escalations.c.source).where(escalations.c.complaint_id == cid)
                             .order_by(escalations.c.seq)).scalars().all()
        kept = {d["name"]: d for d in db.execute(select(deadlines).where(deadlines.c.complaint_id == cid)).mappings()}
    assert sources == [e["source"] for e in final["escalations"]] == ["manager", "sla_breach"]
    assert set(kept) == set(DEADLINES) and all(d["met_at"] is not None for d in kept.values())
    assert [name for name, d in kept.items() if d["breached_at"] is not None] == ["assessment"]
    breached_at = kept["assessment"]["breached_at"]  # a manager's day of breaches (the workbench) reads them back
    assert [(b["complaint_id"], b["name"], b["stage"]) for b in archive.breaches_since(breached_at)] == [
        (cid, "assessment", "closed")]
    assert archive.breaches_since(breached_at + timedelta(seconds=1)) == []

    # and the management report reads what the workflow wrote
    received = datetime.fromisoformat(final["received_at"]).astimezone(SHANGHAI).date()
    report = build_report(archive.engine, Period(received, row["closed_at"].astimezone(SHANGHAI).date()))
    assert report["received"] == report["closed"] == 1 and report["closed_by_outcome"]["resolved"] == 1
    assert report["deadlines"]["assessment"]["breached"] == 1
    assert all(report["deadlines"][name]["met"] == 1 for name in DEADLINES if name != "assessment")
    assert report["escalations_by_source"]["manager"] == report["escalations_by_source"]["sla_breach"] == 1
    assert report["satisfaction"]["4"] == 1 and report["root_causes"][0]["root_cause"] == "dialler quiet hours"
