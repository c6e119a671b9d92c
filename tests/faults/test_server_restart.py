"""Fault: the Temporal server stops while complaints wait on their deadline timers, then comes back."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from bench.shape import intake_body
from complaints.domain.models import Intake
from complaints.infra.archive import Archive
from complaints.intake import file_complaint
from tests.conftest import TEST_KEYS, binary
from tests.faults.support import breached_at, eventually, policy_file, status_of, trail_faults, trails

pytestmark = pytest.mark.faults

DEADLINE = 75  # seconds from receipt to the assessment deadline
EARLY = 30  # the first ten were received this much earlier, so they fall due while the server is down
DOWN = 10  # seconds the server stays down at the least


async def test_deadline_timers_survive_a_server_restart(
    tmp_path, server, fclient, archive_url, archive_engine, workers, task_queue
):
    workers(archive_url, policy_file(tmp_path / "policy.toml", assessment=f"{DEADLINE}s"))
    archive = Archive(archive_engine, TEST_KEYS)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    # the first ten fall due while the server is down, the next ten after it is back
    received = {f"restart-{i}": now - timedelta(seconds=EARLY) if i < 10 else now for i in range(20)}
    ids = [(await file_complaint(fclient, task_queue, Intake.model_validate(intake_body(ref, at)), archive)).complaint_id
           for ref, at in received.items()]
    due = {cid: at + timedelta(seconds=DEADLINE) for cid, at in zip(ids, received.values())}

    async def waiting() -> bool:
        found = trails(archive_engine, ids)
        return all(len(found[cid]) >= 2 for cid in ids)

    await eventually(waiting, timeout=30)  # received, assessment open: each one now waits on its timer
    for cid in ids:
        status = await status_of(fclient, cid)
        assert status["stage"] == "assessment" and not status["breaches"], cid

    server.stop()
    stopped = datetime.now(timezone.utc)
    back = max(stopped + timedelta(seconds=DOWN), min(due.values()) + timedelta(seconds=3))
    await asyncio.sleep((back - datetime.now(timezone.utc)).total_seconds())
    server.start(binary("temporal"))  # same SQLite file, same port; the worker process is the same one
    restarted = datetime.now(timezone.utc)
    overdue = [cid for cid in ids if stopped < due[cid] < restarted]
    assert len(overdue) >= 5, f"deadlines due while the server was down: {len(overdue)}"

    async def all_breached() -> bool:
        return len(breached_at(archive_engine, ids)) == len(ids)

    start = time.monotonic()
    await eventually(all_breached, timeout=DEADLINE + 90, interval=1)
    print(f"all {len(ids)} breaches archived {time.monotonic() - start:.0f}s after the restart")
    for (cid, name), (due_at, at) in breached_at(archive_engine, ids).items():
        assert name == "assessment" and due_at == due[cid] and at >= due_at, cid
        if cid not in overdue:
            assert at - due_at < timedelta(seconds=30), f"{cid} fired {at - due_at} late"
    for cid in ids:
        status = await status_of(fclient, cid)
        assert status["breaches"] == ["assessment"] and status["escalated"], cid

    async def complete() -> bool:
        found = trails(archive_engine, ids)
        return all(len(found[cid]) == 5 for cid in ids)

    await eventually(complete, timeout=60)
    for cid, trail in trails(archive_engine, ids).items():
        assert trail_faults(trail) == [], cid
        assert [row["kind"] for row in trail] == ["received", "stage_entered", "warning", "breach", "escalation"]

    async def listed_breached() -> bool:
        query = f'TaskQueue = "{task_queue}" AND ComplaintSlaBreached = true'
        return (await fclient.count_workflows(query)).count == len(ids)

    await eventually(listed_breached, timeout=30)
