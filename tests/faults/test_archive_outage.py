"""Fault: the archive database becomes unreachable for a while, then comes back.

The worker reaches PostgreSQL through a TCP relay that the test closes (every connection
cut, new ones refused) and reopens, as a network partition or a database restart would.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from bench.shape import STEPS, intake_body
from complaints.domain.models import Intake
from complaints.infra.archive import Archive
from complaints.intake import file_complaint
from tests.conftest import TEST_KEYS
from tests.devserver import free_port
from tests.faults.support import TcpProxy, eventually, status_of, step, through, trail_faults, trails

pytestmark = pytest.mark.faults

OUTAGE = 20  # seconds without the archive


async def test_archive_outage_delays_the_record_but_not_the_complaint(
    fclient, archive_url, archive_engine, workers, task_queue
):
    proxy = TcpProxy(urlsplit(archive_url).port or 5432, free_port())
    await proxy.open()
    try:
        await asyncio.to_thread(workers, through(archive_url, proxy.port))  # the relay runs on this loop
        archive = Archive(archive_engine, TEST_KEYS)
        before = [(await file_complaint(fclient, task_queue, Intake.model_validate(intake_body(f"outage-{i}")),
                                        archive)).complaint_id for i in range(10)]

        async def received() -> bool:
            found = trails(archive_engine, before)
            return all(len(found[cid]) == 2 for cid in before)

        await eventually(received, timeout=60)

        await proxy.close()
        # during the outage: new complaints are taken in, handlers act, every update answers
        during = [(await file_complaint(fclient, task_queue, Intake.model_validate(intake_body(f"outage-late-{i}")),
                                        archive)).complaint_id for i in range(5)]
        ids = before + during
        for cid in ids:
            for k in range(3):
                status = await asyncio.wait_for(step(fclient, cid, k), 30)
            assert status["stage"] == "solution", cid

        async def retrying() -> list[int]:
            """Attempts of the first complaint's pending archive write, once it has failed twice.

            Archive writes are local activities (the `archive-local-activities` patch): they are
            not pending activities on the server. A failed write retried within a second is
            retried in place; a later retry waits on a durable backoff timer, a timer without a
            summary (every deadline timer has one), so the third attempt follows the second such
            timer."""
            handle = fclient.get_workflow_handle(f"complaint-{ids[0]}")
            history = await handle.fetch_history()
            backoffs = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
                        and not e.user_metadata.HasField("summary")]
            return [len(backoffs) + 1] if len(backoffs) >= 2 else []

        attempts = await eventually(retrying, timeout=OUTAGE)
        assert attempts, "archive writes are retried while the archive is away"
        assert not any(trails(archive_engine, during).values()), "nothing reached the archive during the outage"
        await asyncio.sleep(max(0, OUTAGE - 8))
        for cid in ids:
            handle = fclient.get_workflow_handle(f"complaint-{cid}")
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING, f"{cid} failed"
        await proxy.open()

        expected = {cid: ["received", "stage_entered", "action", "action", "action"] for cid in ids}

        async def complete() -> bool:
            found = trails(archive_engine, ids)
            return all(len(found[cid]) == len(expected[cid]) for cid in ids)

        await eventually(complete, timeout=120)
        for cid, trail in trails(archive_engine, ids).items():
            assert trail_faults(trail) == [], cid
            assert [row["kind"] for row in trail] == expected[cid], cid
            assert [row["action"] for row in trail[2:]] == [name for name, _ in STEPS[:3]], cid
            assert [row["at"] for row in trail] == sorted(row["at"] for row in trail), cid
            assert (await status_of(fclient, cid))["stage"] == "solution"
    finally:
        await proxy.close()


async def test_an_urgent_complaint_filed_during_an_outage_reaches_the_team_within_5_s(
    fclient, archive_url, archive_engine, workers, task_queue
):
    """The emergency team's alert runs in the outbox's own lane, never behind an archive write."""
    proxy = TcpProxy(urlsplit(archive_url).port or 5432, free_port())
    await proxy.open()
    try:
        await asyncio.to_thread(workers, through(archive_url, proxy.port))
        archive = Archive(archive_engine, TEST_KEYS)
        warm = (await file_complaint(fclient, task_queue, Intake.model_validate(intake_body("warm-up")),
                                     archive)).complaint_id

        async def worker_up() -> bool:
            return len(trails(archive_engine, [warm])[warm]) == 2

        await eventually(worker_up, timeout=60)

        await proxy.close()
        urgent = intake_body("urgent-in-outage") | {"content": "催收员说要上门弄死我全家，我真的活不下去了"}
        filed = await file_complaint(fclient, task_queue, Intake.model_validate(urgent), archive)
        team = fclient.get_workflow_handle("emergency-team")
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def listed() -> bool:
            try:
                cases = (await team.query("open_cases"))["cases"]
            except RPCError:
                return False  # the team's workflow is not started yet
            return any(case["complaint_id"] == filed.complaint_id for case in cases)

        await eventually(listed, timeout=10, interval=0.1)
        assert loop.time() - started < 5, f"the team saw the case after {loop.time() - started:.1f} s"
        assert not trails(archive_engine, [filed.complaint_id])[filed.complaint_id], "the archive was really down"
    finally:
        await proxy.close()
