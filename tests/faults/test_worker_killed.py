"""Fault: the worker process is SIGKILLed while 200 complaints are in flight at different stages."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from bench.shape import STAGE_AFTER, STEPS, intake_body
from complaints.domain.models import Intake
from complaints.infra.archive import Archive
from complaints.intake import file_complaint
from tests.conftest import TEST_KEYS
from tests.faults.support import breached_at, eventually, policy_file, status_of, step, trail_faults, trails

pytestmark = [pytest.mark.faults, pytest.mark.timeout(400)]  # its own waits end first, saying which failed

N = 200
SUMMARY_DEADLINE = 80  # seconds after receipt: normally past the crash (staging and the kill take ~20 s), short enough to see it fire


async def test_sigkilled_worker_loses_nothing_and_every_deadline_fires(
    tmp_path, fclient, archive_url, archive_engine, workers, task_queue
):
    policy = policy_file(tmp_path / "policy.toml", summary=f"{SUMMARY_DEADLINE}s")
    first = workers(archive_url, policy)
    started = time.monotonic()
    received_at = datetime.now(timezone.utc).replace(microsecond=0)
    archive = Archive(archive_engine, TEST_KEYS)
    gate = asyncio.Semaphore(25)

    async def file(i: int) -> str:
        async with gate:
            intake = Intake.model_validate(intake_body(f"kill-{i}", received_at=received_at))
            return (await file_complaint(fclient, task_queue, intake, archive)).complaint_id

    ids = await asyncio.gather(*(file(i) for i in range(N)))
    print(f"filed in {time.monotonic() - started:.0f}s")
    done = {cid: i % 6 for i, cid in enumerate(ids)}  # steps taken before the kill: 0 (assessment) to 5 (revisit)

    async def stage(cid: str) -> None:
        async with gate:
            for k in range(done[cid]):
                await step(fclient, cid, k)

    await asyncio.gather(*(stage(cid) for cid in ids))
    staged_in = time.monotonic() - started

    # every complaint's next step at once; the worker dies after the first twenty answers
    answered = 0
    twenty = asyncio.Event()

    async def next_step(cid: str) -> dict:
        nonlocal answered
        status = await step(fclient, cid, done[cid])
        answered += 1
        if answered >= 20:
            twenty.set()
        return status

    in_flight = [asyncio.create_task(next_step(cid)) for cid in ids]
    await asyncio.wait_for(twenty.wait(), 120)
    first.kill()
    unanswered_at_kill = N - answered
    assert unanswered_at_kill > 0, "the kill must land while updates are in flight"

    workers(archive_url, policy)  # a new worker process takes over
    answers = await asyncio.wait_for(asyncio.gather(*in_flight), 150)
    answered_at = datetime.now(timezone.utc)
    print(f"staged in {staged_in:.0f}s; {unanswered_at_kill} of {N} updates unanswered at the kill; "
          f"all answered {time.monotonic() - started:.0f}s after the start")

    for cid, status in zip(ids, answers):
        assert status["stage"] == STAGE_AFTER[done[cid]], f"{cid} answered in the wrong stage"
    statuses = {cid: await status_of(fclient, cid) for cid in ids}
    for cid, status in statuses.items():
        k = done[cid]
        assert status["stage"] == STAGE_AFTER[k], f"{cid} lost its step or took it twice"
        stages = [h["stage"] for h in status["history"]]
        assert stages == ["receipt", "assessment"] + list(dict.fromkeys(STAGE_AFTER[:k + 1])), cid

    # the summary deadline of every complaint (normally due after the crash; on a machine slow enough to
    # stage past it, due before) fires exactly once
    due = received_at + timedelta(seconds=SUMMARY_DEADLINE)
    print(f"summary deadline due {(due - answered_at).total_seconds():.0f}s after the new worker answered")

    async def all_breached() -> bool:
        return len(breached_at(archive_engine, ids)) == N

    await eventually(all_breached, timeout=max((due - datetime.now(timezone.utc)).total_seconds(), 0) + 60,
                     interval=2)
    for (cid, name), (due_at, at) in breached_at(archive_engine, ids).items():
        assert name == "summary" and at >= due_at, f"{cid}: {name} breached at {at}, due {due_at}"
    for cid in ids:
        status = await status_of(fclient, cid)
        assert status["breaches"] == ["summary"] and status["escalated"], cid

    # the archive: every record once, in order, nothing missing; the warning too, given before the breach
    # however late the takeover woke the complaint
    decided = ["decision_letter", "decision_sent"]  # from the accepted feedback (step 4) on: the letter, kept to post
    expected = {cid: ["received", "stage_entered"] + ["action"] * (k + 1) + ["warning", "breach", "escalation"]
                + (decided if k >= 4 else []) for cid, k in done.items()}

    async def archived() -> bool:
        found = trails(archive_engine, ids)
        return all(len(found[cid]) == len(kinds) for cid, kinds in expected.items())

    await eventually(archived, timeout=60, interval=2)
    found = trails(archive_engine, ids)
    for cid, trail in found.items():
        assert trail_faults(trail) == [], cid
        kinds = [row["kind"] for row in trail]
        assert sorted(kinds) == sorted(expected[cid]), cid
        assert kinds[:2] == ["received", "stage_entered"], cid
        assert [kind for kind in kinds if kind in ("warning", "breach", "escalation")] == [
            "warning", "breach", "escalation"], cid
        assert [kind for kind in kinds if kind in decided] == (decided if done[cid] >= 4 else []), cid
        assert [row["action"] for row in trail if row["action"]] == [name for name, _ in STEPS[:done[cid] + 1]]

    running = await fclient.count_workflows('WorkflowType = "ComplaintWorkflow" AND ExecutionStatus = "Running"')
    assert running.count == N, "no complaint failed or vanished"
