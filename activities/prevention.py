"""Prevention: find alarms in the archive's counts, keep the new ones and tell managers.

Two activities, one read and one write, so the workflow's history shows what was found
before anything was kept; the analysis itself is `complaints.domain.prevention`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pydantic import BaseModel
from temporalio import activity

from complaints.domain.models import Delivery, Notice
from complaints.domain.prevention import Alarm, Findings, Review, counted_since, find_alarms, review, window_end
from complaints.domain.workdays import SHANGHAI
from complaints.infra.archive import Archive
from complaints.infra.logging import log

ALARM_NOTICE, REVIEW_NOTICE = (1, "prevention"), (2, "prevention_review")
"""Each alarm's notices in the outbox, under the alarm's id: (seq, kind)."""


class Raised(BaseModel):
    """What a run kept: the alarms new in this run, the reviews it recorded, and the notices of
    its alarms and reviews not yet sent (a retry or a second run delivers them again, under
    the same notice id)."""

    new: list[str] = []
    reviewed: list[str] = []
    deliveries: list[Delivery] = []


def alarm_values(alarm: Alarm) -> dict:
    """What the notice templates fill in: the figures and the complaints behind them."""
    return {"alarm_id": alarm.alarm_id, "description": alarm.describe(), "kind": alarm.kind.value,
            "dimension": alarm.dimension.value, "subject": alarm.subject, "category": alarm.category,
            "count": alarm.count, "baseline_mean": alarm.baseline_mean, "p_value": alarm.p_value,
            "last_day": last_moment(alarm.window_end), "complaint_ids": ", ".join(alarm.complaint_ids)}


def last_moment(end: datetime) -> str:
    """A window's last moment, which the templates' `date` filter writes as its last day."""
    return (end - timedelta(seconds=1)).isoformat()


class Prevention:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    @activity.defn
    def find_alarms(self, at: datetime) -> Findings:
        """The alarms of the window a run at `at` counts, and the reviews due by its day."""
        end = window_end(at)
        seen = self.archive.seen_since(counted_since(end))
        due = self.archive.alarms_due_for_review(at.astimezone(SHANGHAI).date())
        return Findings(alarms=find_alarms(seen, end, self.archive.first_received()),
                        reviews=[review(alarm, seen, end) for alarm in due])

    @activity.defn
    def raise_alarms(self, findings: Findings) -> Raised:
        """Keep each alarm and review once, with its notice to managers in the outbox."""
        now = datetime.now(timezone.utc)
        raised = Raised()
        for alarm in findings.alarms:
            kept = self.archive.raise_alarm(alarm, Notice(kind=ALARM_NOTICE[1], recipient="manager",
                                                          message=alarm.describe()), now)
            if kept == "new":
                raised.new.append(alarm.alarm_id)
                log.info("prevention alarm raised", alarm_id=alarm.alarm_id, kind=alarm.kind.value,
                         dimension=alarm.dimension.value, count=alarm.count)
            if kept != "suppressed":
                self._unsent(raised, alarm.alarm_id, ALARM_NOTICE, alarm_values(alarm))
        for found in findings.reviews:
            alarm = Alarm.model_validate(self.archive.alarm(found.alarm_id))
            if self.archive.record_review(found, Notice(kind=REVIEW_NOTICE[1], recipient="manager",
                                                        message=found.describe(alarm)), now):
                raised.reviewed.append(found.alarm_id)
                log.info("prevention alarm reviewed", alarm_id=found.alarm_id, came_down=found.came_down)
            self._unsent(raised, found.alarm_id, REVIEW_NOTICE, alarm_values(alarm) | self._review_values(found, alarm))
        return raised

    @staticmethod
    def _review_values(found: Review, alarm: Alarm) -> dict:
        return {"came_down": found.came_down, "review": found.describe(alarm), "review_count": found.count,
                "review_last_day": last_moment(found.window_end),
                "review_complaint_ids": ", ".join(found.complaint_ids)}

    def _unsent(self, raised: Raised, alarm_id: str, notice: tuple[int, str], values: dict) -> None:
        seq, kind = notice
        state = self.archive.delivery(alarm_id, seq, kind)
        if state and state["status"] != "sent":
            raised.deliveries.append(Delivery(complaint_id=alarm_id, seq=seq, kind=kind, recipient="manager",
                                              values=values))
