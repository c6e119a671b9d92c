"""PreventionWorkflow: one run of the `complaints-prevention` schedule (policy key
`prevention_every`, daily by default), which `complaints setup` and `make run` create
(`complaints.infra.temporal.ensure_schedules`).

Finds the alarms of the last window and the reviews due, keeps them (each once, however
often it runs), and delivers their notices to managers. A notice that cannot be delivered
within the hour stays in the outbox (`complaints outbox`) marked failed; the alarm is kept
either way, and the next run of the day tries a notice that is still unsent again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.archive import Archivist
    from activities.delivery import Postman
    from activities.prevention import Prevention, Raised
    from complaints.domain.models import Delivery, DeliveryOutcome, PublicText

ARCHIVE = {"start_to_close_timeout": timedelta(minutes=10),
           "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5))}
DELIVERY = {"schedule_to_close_timeout": timedelta(hours=1), "start_to_close_timeout": timedelta(seconds=30),
            "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10))}
"""An hour of retries, not the complaints' day: a run still delivering when the next one is due
would make the schedule skip that one."""


@workflow.defn
class PreventionWorkflow:
    @workflow.run
    async def run(self) -> Raised:
        """The alarms new in this run, the reviews it recorded, and the notices it delivered."""
        findings = await workflow.execute_activity_method(
            Prevention.find_alarms, workflow.now(), summary=PublicText("count complaints, find alarms"), **ARCHIVE)
        raised = await workflow.execute_activity_method(
            Prevention.raise_alarms, findings, summary=PublicText("keep alarms and reviews"), **ARCHIVE)
        await asyncio.gather(*(self.deliver(delivery) for delivery in raised.deliveries))
        return raised

    async def deliver(self, delivery: Delivery) -> None:
        try:
            await workflow.execute_activity_method(Postman.deliver_notice, delivery,
                                                   summary=PublicText(f"deliver: {delivery.kind}"), **DELIVERY)
        except ActivityError as err:
            reason = err.cause.message if isinstance(err.cause, FailureError) else "no attempt succeeded within the hour"
            await workflow.execute_activity_method(
                Archivist.record_delivery,
                DeliveryOutcome(complaint_id=delivery.complaint_id, seq=delivery.seq, kind=delivery.kind,
                                status="failed", error=reason, at=workflow.now()),
                summary=PublicText(f"archive: delivery of {delivery.kind}"), **ARCHIVE)
