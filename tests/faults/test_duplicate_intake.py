"""Fault: the same channel reference arrives 50 times at once (a channel retrying, a double submit)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bench.shape import intake_body
from complaints.domain.models import Intake
from complaints.infra.archive import Archive
from complaints.infra.schema import audit, complaints
from complaints.intake import file_complaint
from tests.conftest import TEST_KEYS
from tests.faults.support import eventually, ready_client

pytestmark = pytest.mark.faults


async def test_fifty_simultaneous_intakes_of_one_reference_make_one_complaint(
    server, fclient, archive_url, archive_engine, workers, task_queue
):
    workers(archive_url)
    # five separate connections, as five API processes would have, ten callers on each
    clients = [fclient] + [await ready_client(server.address) for _ in range(4)]
    intake = Intake.model_validate(intake_body("ticket-2026-0042", channel="email"))
    archive = Archive(archive_engine, TEST_KEYS)
    start = asyncio.Event()

    async def caller(i: int):
        await start.wait()
        return await file_complaint(clients[i % len(clients)], task_queue, intake, archive)

    callers = [asyncio.create_task(caller(i)) for i in range(50)]
    await asyncio.sleep(0.1)
    start.set()
    filed = await asyncio.gather(*callers)

    assert len({f.complaint_id for f in filed}) == 1, "every caller is told the same complaint id"
    assert sum(f.created for f in filed) == 1, "exactly one caller created it; the rest got the existing one"
    wid = filed[0].workflow_id

    async def runs() -> int:
        return len([w async for w in fclient.list_workflows(f'WorkflowId = "{wid}"')])

    assert await eventually(runs, timeout=30) == 1
    await asyncio.sleep(2)  # visibility is eventually consistent: a second run would show by now
    assert await runs() == 1, "exactly one workflow run for the reference"

    async def received() -> bool:
        with archive_engine.connect() as db:
            return db.execute(select(func.count()).select_from(audit).where(audit.c.kind == "received")).scalar() >= 1

    await eventually(received, timeout=60)
    with archive_engine.connect() as db:
        assert db.execute(select(func.count()).select_from(complaints)).scalar() == 1
        assert db.execute(select(func.count()).select_from(audit).where(audit.c.kind == "received")).scalar() == 1
