"""RetentionWorkflow: one run of the `complaints-retention` schedule (policy key `retention`),
which `complaints setup` and `make run` create (`complaints.infra.temporal.ensure_schedules`)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.retention import Eraser


@workflow.defn
class RetentionWorkflow:
    @workflow.run
    async def run(self) -> int:
        """How many complaints this run erased."""
        return await workflow.execute_activity(Eraser.erase_expired, start_to_close_timeout=timedelta(hours=1))
