"""Outbox: a complaint's side effects, run beside the process in two lanes.

The archive lane holds everything that writes to the archive database (audit records,
the collection-contact register, what became of each notice); the alerts lane holds what
reaches people and other workflows (the emergency team's alert and its closing, and from
`Release.R2027_01` on the deliveries of notices). Each lane runs in the order things
happened, and neither waits for the other, so an archive outage delays the record but
never an alert or a notice. A delivery is started in the alerts lane and retried beside it,
so a notice whose channel is down holds back neither the lane nor the process.

Runs started before the lanes (workflows/versions.py) keep the single queue their histories
recorded; runs from before `Release.ARCHIVE_LOCALLY` keep archive writes as regular activities.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from complaints.domain.models import PublicText

Lane = Literal["archive", "alerts"]
Effect = Callable[[], Awaitable[Any] | None]
"""Starts one side effect (what it returns is awaited in its lane); called in the context it was
queued from, so the activity it schedules joins the trace of the update that queued it."""

PATIENT = {  # archive and team calls: retried with backoff for as long as it takes
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
}
DELIVERY = {
    # A notice is tried for a day, with backoff up to 10 minutes; undelivered by then it fails
    # and the manager is told (workflows/complaint.py). One attempt, one send.
    "schedule_to_close_timeout": timedelta(hours=24),
    "start_to_close_timeout": timedelta(seconds=30),  # a send takes seconds; a worker that died mid-send is retried soon
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10)),
}
PATIENT_LOCAL = {
    # Archive writes as local activities: run by the worker inside the workflow task, no
    # activity task round trip through the server. A retry due within a second is made in
    # place, a later one waits on a durable timer (the workflow task is not held open through
    # an outage). Each such timer is history, so the backoff grows to 10 minutes: a day-long
    # outage costs ~900 events.
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10)),
    "local_retry_threshold": timedelta(seconds=1),
}


class Outbox:
    def __init__(self) -> None:
        self._queue: list[tuple[Lane, Effect, contextvars.Context]] = []
        self._closing = False
        self._lanes: list[asyncio.Task[None]] = []
        self._sending: list[asyncio.Task[None]] = []
        self.two_lanes = False
        self.archive_locally = False

    def open(self, archive_locally: bool, two_lanes: bool) -> None:
        """Start the lanes; the run's patches say how its effects run."""
        self.archive_locally, self.two_lanes = archive_locally, two_lanes
        lanes: tuple[Lane, ...] = ("archive", "alerts") if self.two_lanes else ("archive",)
        self._lanes = [asyncio.create_task(self._drain(lane)) for lane in lanes]

    def put(self, lane: Lane, effect: Effect) -> None:
        self._queue.append((lane, effect, contextvars.copy_context()))

    def call(self, lane: Lane, activity: Callable[..., Any], *args: Any, summary: str) -> None:
        """Queue one activity call, retried until it succeeds."""
        self.put(lane, lambda: workflow.start_activity_method(
            activity, args=list(args), summary=PublicText(summary), **PATIENT))

    def send(self, activity: Callable[..., Any], arg: Any, summary: str,
             then: Callable[[Any, ActivityError | None], None]) -> None:
        """Queue one delivery in the alerts lane, which starts it and moves on; `then` gets its
        result, or the error once its retries are spent."""
        async def deliver() -> None:
            try:
                result = await workflow.execute_activity_method(activity, arg, summary=PublicText(summary), **DELIVERY)
            except ActivityError as err:
                then(None, err)
                return
            then(result, None)

        def start() -> None:
            self._sending.append(asyncio.create_task(deliver()))

        self.put("alerts", start)

    def write(self, activity: Callable[..., Any], record: Any, summary: str) -> Awaitable[Any]:
        """One archive write, as a local activity on runs from `Release.ARCHIVE_LOCALLY` on;
        scheduled at once, its result awaited."""
        if self.archive_locally:
            return workflow.start_local_activity_method(activity, record, summary=PublicText(summary),
                                                        **PATIENT_LOCAL)
        return workflow.start_activity_method(activity, record, summary=PublicText(summary), **PATIENT)

    async def close(self) -> None:
        """Run every effect still queued, including those of handlers still finishing. Waiting,
        not gathering: a cancellation of the caller must never cancel the lanes themselves."""
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._queue
                                      and all(sending.done() for sending in self._sending))
        self._closing = True
        await workflow.wait_condition(lambda: all(lane.done() for lane in self._lanes))
        for lane in self._lanes:
            lane.result()  # raises what the lane raised

    def _take(self, lane: Lane) -> tuple[Effect, contextvars.Context] | None:
        for i, (queued, effect, context) in enumerate(self._queue):
            if queued == lane or not self.two_lanes:
                del self._queue[i]
                return effect, context
        return None

    def _ready(self, lane: Lane) -> bool:
        return self._closing or any(queued == lane or not self.two_lanes for queued, _, _ in self._queue)

    async def _drain(self, lane: Lane) -> None:
        while True:
            await workflow.wait_condition(lambda: self._ready(lane))
            taken = self._take(lane)
            if taken is None:
                return
            effect, context = taken
            started = context.run(effect)
            if started is not None:
                await started
