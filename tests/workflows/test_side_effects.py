"""The workflow's side effects with mocked activities: a failing archive, a slow merge hand-over.

No database, no emergency team workflow: each activity is a stand-in registered under the real
one's name, so a test sets up exactly the fault it is about and runs in about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.deadlines import Deadlines
from complaints.domain.models import (
    Assignment,
    Delivery,
    DeliveryOutcome,
    EscalationNotice,
    Intake,
    Outcome,
    Record,
    Repeat,
)
from complaints.domain.policy import Policy
from complaints.domain.workdays import WorkingCalendar
from complaints.intake import file_complaint
from tests.workflows.conftest import BODY, HANDLER
from workflows.complaint import ComplaintWorkflow
from workflows.emergency import EmergencyTeamWorkflow


@dataclass
class Stand:
    """Stand-ins for every activity, recording what reached them."""

    archive_up: bool = True
    assignment_takes: float = 0.0  # seconds the assignment rule takes
    assignee: str | None = None  # whom the assignment rule finds (None: no people file)
    running: int = 0  # local activities running now (archive writes and the assignment)
    most_at_once: int = 0
    records: list[Record] = field(default_factory=list)
    alerts: list[EscalationNotice] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    hand_over: asyncio.Event = field(default_factory=asyncio.Event)

    @contextlib.contextmanager
    def local(self) -> Iterator[None]:
        """Counts a local activity's stand-in while it runs."""
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            yield
        finally:
            self.running -= 1

    def write(self, record: Record) -> None:
        if not self.archive_up:
            raise ApplicationError("archive unreachable")
        if all((r.complaint_id, r.seq) != (record.complaint_id, record.seq) for r in self.records):
            self.records.append(record)

    def activities(self) -> list[Callable]:
        @activity.defn(name="archive_receipt")
        async def archive_receipt(record: Record) -> str | None:
            with self.local():
                await asyncio.sleep(0.05)
                self.write(record)
            return None

        @activity.defn(name="archive_record")
        async def archive_record(record: Record) -> None:
            with self.local():
                await asyncio.sleep(0.05)
                self.write(record)

        @activity.defn(name="alert_emergency_team")
        async def alert_emergency_team(notice: EscalationNotice) -> None:
            self.alerts.append(notice)

        @activity.defn(name="hand_over_repeat")
        async def hand_over_repeat(into: str, repeat: Repeat) -> None:
            await self.hand_over.wait()

        @activity.defn(name="close_emergency_case")
        async def close_emergency_case(complaint_id: str) -> None:
            pass

        @activity.defn(name="suspend_collection_contact")
        async def suspend_collection_contact(complaint_id: str, customer_key: str, at: datetime) -> None:
            pass

        @activity.defn(name="lift_collection_contact")
        async def lift_collection_contact(complaint_id: str, at: datetime) -> None:
            pass

        @activity.defn(name="deliver_notice")
        async def deliver_notice(delivery: Delivery) -> DeliveryOutcome:
            self.deliveries.append(delivery)
            return DeliveryOutcome(complaint_id=delivery.complaint_id, seq=delivery.seq, kind=delivery.kind,
                                   status="sent", channel="email", attempts=1, at=datetime.now())

        @activity.defn(name="record_delivery")
        async def record_delivery(outcome: DeliveryOutcome) -> None:
            if not self.archive_up:
                raise ApplicationError("archive unreachable")

        @activity.defn(name="assign_handler")
        async def assign_handler(category: str | None, exclude: list[str]) -> Assignment:
            with self.local():
                await asyncio.sleep(self.assignment_takes)
            if self.assignee is None:
                return Assignment(people=False)  # no people file: nobody assigned
            return Assignment(people=True, handler=self.assignee)

        return [Deadlines(Policy(), WorkingCalendar()).plan_deadlines, archive_receipt, archive_record,
                alert_emergency_team, hand_over_repeat, close_emergency_case, suspend_collection_contact,
                lift_collection_contact, deliver_notice, record_delivery, assign_handler]


@pytest.fixture
async def stand(client: Client, task_queue: str) -> AsyncIterator[Stand]:
    stand = Stand()
    async with Worker(client, task_queue=task_queue, workflows=[ComplaintWorkflow, EmergencyTeamWorkflow],
                      activities=stand.activities(), activity_executor=ThreadPoolExecutor(4)):
        yield stand


async def file(env, client: Client, task_queue: str, archive, **changes) -> str:
    intake = Intake.model_validate({**BODY, **changes})
    filed = await file_complaint(client, task_queue, intake, archive, now=await env.get_current_time())
    return filed.workflow_id


async def until(check: Callable[[], bool], what: str, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not check():
        if loop.time() > end:
            raise AssertionError(f"not within {within:.0f} s: {what}")
        await asyncio.sleep(0.05)


async def test_an_archive_outage_never_holds_back_the_emergency_alert(env, client, task_queue, archive, stand):
    stand.archive_up = False
    workflow_id = await file(env, client, task_queue, archive, content="催收员说要上门弄死我，我真的活不下去了")

    await until(lambda: bool(stand.alerts), "the emergency team alerted while the archive is down")
    assert stand.alerts[0].escalation.source.value == "urgent_assessment"
    await until(lambda: {d.kind for d in stand.deliveries} >= {"acknowledgement", "emergency"},
                "the complainant and the team told while the archive is down")
    assert stand.records == [], "the archive really was down"

    stand.archive_up = True  # the archive returns: the record catches up, nothing was dropped
    handle = client.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id)
    await handle.execute_update(ComplaintWorkflow.withdraw, {"handler": HANDLER, "reason": "test finished"})
    await handle.result()
    kinds = [r.kind for r in sorted(stand.records, key=lambda r: r.seq)]
    assert kinds[0] == "received" and "escalation" in kinds and kinds[-1] == "action"


async def test_a_withdraw_sent_while_a_merge_awaits_its_hand_over_waits_its_turn(env, client, task_queue, archive,
                                                                                 stand):
    handle = client.get_workflow_handle_for(ComplaintWorkflow.run, await file(env, client, task_queue, archive))
    await until(lambda: any(r.kind == "stage_entered" for r in stand.records), "the assessment open")

    merging = await handle.start_update(ComplaintWorkflow.merge, {"handler": HANDLER, "into": "C0000000000000001"},
                                        wait_for_stage=WorkflowUpdateStage.ACCEPTED)
    withdrawing = await handle.start_update(ComplaintWorkflow.withdraw,
                                            {"handler": HANDLER, "reason": "changed my mind"},
                                            wait_for_stage=WorkflowUpdateStage.ACCEPTED)
    stand.hand_over.set()

    merged = await merging.result()
    assert merged.outcome is Outcome.merged
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await withdrawing.result()
    assert "closed" in str(refused.value.cause)
    final = await handle.result()
    assert final.outcome is Outcome.merged
    actions = [r.action for r in sorted(stand.records, key=lambda r: r.seq) if r.kind == "action"]
    assert actions == ["merge"], "the archive holds the merge, and no withdrawal"



async def test_no_two_local_activities_ever_run_at_once(env, client, task_queue, archive, stand):
    """Live, the SDK resumes a workflow in the order its local activities finish; on replay, in
    the order they started (sdk-python issue 1578): two running at once can make a restarted
    worker's replay take another path. A slow assignment must not overlap the receipt's writes."""
    stand.assignment_takes, stand.assignee = 0.5, "person-li"
    handle = client.get_workflow_handle_for(ComplaintWorkflow.run, await file(env, client, task_queue, archive))
    await until(lambda: any(r.kind == "assigned" for r in stand.records), "the complaint assigned")
    await handle.execute_update(ComplaintWorkflow.withdraw, {"handler": "person-li", "reason": "test finished"})
    await handle.result()

    assert [r.kind for r in sorted(stand.records, key=lambda r: r.seq)][:3] == ["received", "stage_entered", "assigned"]
    assert stand.most_at_once == 1, "a local activity ran beside another"
