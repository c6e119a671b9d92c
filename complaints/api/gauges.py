"""Gauges that need a scan (open complaints by stage, deadlines in warning, the emergency team's
cases, the outbox),
computed by the API once a minute and cached on its `/metrics` page: a scrape reads the last
scan, never queries Temporal visibility or the archive itself.

One scan costs one count query per open stage, one query to the emergency team, one SQL read of
the running deadlines and one SQL count over the outbox, whatever the number of Prometheus
servers scraping. A deadline is in warning from its warning moment (the policy's `warning_at` of
its window, as the workflow warns) until it is met or breached; the archive knows them all.
Only the counts are labelled (stage, status), never a complaint.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func, select

from complaints.desk import Desk
from complaints.domain.models import Stage
from complaints.domain.policy import warning_moment
from complaints.infra import logging as logs
from complaints.infra.schema import complaints, deadlines, outbox

SCAN_SECONDS = 60.0
OPEN_STAGES = [stage for stage in Stage if stage is not Stage.closed]


class Scan:
    """The scanned gauges on `registry`, refreshed by `run_once` (the API's lifespan runs `every`)."""

    def __init__(self, registry: CollectorRegistry, warning_at: float) -> None:
        self.warning_at = warning_at
        self.open = Gauge("complaints_open", "open complaints, by stage", ["stage"], registry=registry)
        self.in_warning = Gauge("complaints_deadlines_in_warning", "running deadlines past their warning, "
                                "by deadline", ["deadline"], registry=registry)
        self.emergency_open = Gauge("complaints_emergency_open", "the emergency team's open cases",
                                    registry=registry)
        self.unacknowledged = Gauge("complaints_emergency_unacknowledged", "open emergency cases without a lead",
                                    registry=registry)
        self.oldest_wait = Gauge("complaints_emergency_unacknowledged_oldest_seconds",
                                 "how long the oldest case without a lead has waited", registry=registry)
        self.outbox = Gauge("complaints_outbox", "the archive's notices, by status (pending: not yet sent)",
                            ["status"], registry=registry)
        self.scanned = Gauge("complaints_scan_timestamp_seconds", "when these gauges were last computed",
                             registry=registry)

    async def run_once(self, desk: Desk) -> None:
        running = f"WorkflowType = 'ComplaintWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '{desk.task_queue}'"
        counts = await asyncio.gather(*(desk.client.count_workflows(f"{running} AND ComplaintStage = '{stage.value}'")
                                        for stage in OPEN_STAGES))
        for stage, counted in zip(OPEN_STAGES, counts):
            self.open.labels(stage.value).set(counted.count)
        cases = (await desk.open_cases()).cases
        waiting = [case.first_escalated_at for case in cases if case.lead is None]
        self.emergency_open.set(len(cases))
        self.unacknowledged.set(len(waiting))
        now = datetime.now(timezone.utc)
        self.oldest_wait.set(max(((now - at).total_seconds() for at in waiting), default=0))
        warned = await asyncio.to_thread(self._in_warning, desk, now)
        self.in_warning.clear()  # a deadline no longer in warning drops out (no await in between: no scrape sees it empty)
        for name, count in warned.items():
            self.in_warning.labels(name).set(count)
        pending, sent = await asyncio.to_thread(self._outbox_counts, desk)
        self.outbox.labels("pending").set(pending)
        self.outbox.labels("sent").set(sent)
        self.scanned.set_to_current_time()

    def _in_warning(self, desk: Desk, now: datetime) -> dict[str, int]:
        running = (select(deadlines.c.name, deadlines.c.due_at, complaints.c.received_at)
                   .join(complaints, complaints.c.complaint_id == deadlines.c.complaint_id)
                   .where(deadlines.c.met_at.is_(None), deadlines.c.breached_at.is_(None), deadlines.c.due_at > now,
                          complaints.c.stage != Stage.closed.value))
        with desk.archive.engine.connect() as db:
            rows = db.execute(running).all()
        return dict(Counter(name for name, due, received in rows
                            if warning_moment(received, due, self.warning_at) <= now))

    @staticmethod
    def _outbox_counts(desk: Desk) -> tuple[int, int]:
        with desk.archive.engine.connect() as db:
            total, sent = db.execute(select(func.count(), func.count(outbox.c.sent_at))).one()
        return total - sent, sent

    async def every(self, desks: Callable[[], Desk | None], seconds: float = SCAN_SECONDS) -> None:
        """Scan every `seconds` while the API runs; a failed scan keeps the last values (the
        timestamp gauge shows their age) and is tried again next time."""
        while True:
            desk = desks()
            if desk is not None:
                try:
                    await self.run_once(desk)
                except Exception as err:  # noqa: BLE001 - Temporal or the archive away: next time
                    logs.log.warning("metrics scan failed; keeping the last values", error=type(err).__name__)
            await asyncio.sleep(seconds)
