"""The reference: what Temporal needs for a complaint's shape, and nothing of the domain.

Same shape as ComplaintWorkflow on the happy path: one activity at start, then an activity
for each of the two receipt records and for each of the seven updates (ten in all), run in
order beside the updates; one durable timer for the deadline; the seven updates answer at
once. No validation, no status model, no search attributes, no codec, activities that do nothing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

TIMEOUT = timedelta(seconds=30)


@activity.defn
def reference_step(name: str, payload: dict[str, Any]) -> None:
    """Stands in for an archive write: takes the payload, does nothing with it."""


@workflow.defn
class ReferenceWorkflow:
    def __init__(self) -> None:
        self.queue: list[tuple[str, dict[str, Any]]] = []
        self.ready = False
        self.closed = False
        self.finished = False

    @workflow.run
    async def run(self, intake: dict[str, Any], deadline_seconds: float) -> int:
        await workflow.execute_activity(reference_step, args=["plan", {}], start_to_close_timeout=TIMEOUT)
        self.queue += [("receipt", intake), ("stage", {})]
        self.ready = True
        writer = asyncio.create_task(self.drain())
        try:
            await workflow.wait_condition(lambda: self.closed, timeout=timedelta(seconds=deadline_seconds))
        except asyncio.TimeoutError:
            await workflow.wait_condition(lambda: self.closed)
        self.finished = True
        await writer
        await workflow.wait_condition(workflow.all_handlers_finished)
        return 0

    async def drain(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self.queue) or self.finished)
            if not self.queue:
                return
            name, payload = self.queue.pop(0)
            await workflow.execute_activity(reference_step, args=[name, payload], start_to_close_timeout=TIMEOUT)

    @workflow.update
    async def act(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        await workflow.wait_condition(lambda: self.ready)
        self.queue.append((name, payload))
        self.closed = self.closed or name == "summarize"
        return {"action": name, "closed": self.closed}
