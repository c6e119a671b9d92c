"""Alarms ring on time on a real server, however long the task that first set their timer ran.

The time-skipping server cannot show this: Temporal starts a timer when the workflow task that
set it completes, and only a real clock lets a task take seconds."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from complaints.domain.models import Intake
from complaints.domain.policy import Duration, Policy, warning_moment
from complaints.infra.archive import Archive
from complaints.infra.schema import audit, deadlines
from complaints.intake import file_complaint
from tests.integration.apihelp import eventually
from tests.workflows.conftest import BODY

SLOW_RECEIPT = 3.0
"""How long the receipt's archive write takes: the first workflow task, which sets the first
alarm's timer, runs that long."""


@pytest.fixture
def policy() -> Policy:
    policy = Policy()
    policy.deadlines["assessment"] = Duration.parse("12s", "deadlines.assessment")
    return policy


def recorded(archive: Archive, complaint_id: str) -> dict[str, datetime]:
    with archive.engine.connect() as db:
        rows = db.execute(select(audit.c.kind, audit.c.at).where(audit.c.complaint_id == complaint_id)).all()
        due = db.execute(select(deadlines.c.due_at).where(deadlines.c.complaint_id == complaint_id,
                                                          deadlines.c.name == "assessment")).scalar()
    return {row.kind: row.at for row in rows} | {"due": due}


async def test_the_warning_and_the_breach_ring_on_time_after_a_slow_receipt(
        dev_client, dev_worker, archive: Archive, task_queue: str, policy: Policy, monkeypatch):
    opened = archive.open_complaint_of

    def slow(*args, **kwargs):  # the duplicate lookup of the receipt's archive write, in a busy archive
        time.sleep(SLOW_RECEIPT)
        return opened(*args, **kwargs)

    monkeypatch.setattr(archive, "open_complaint_of", slow)
    filed = await file_complaint(dev_client, task_queue, Intake.model_validate(BODY), archive)

    async def archived() -> dict[str, datetime]:
        return recorded(archive, filed.complaint_id)

    moments = await eventually(archived, lambda found: "breach" in found, seconds=30)
    assert "breach" in moments, moments
    received = moments["received"].astimezone(timezone.utc)
    due = moments["due"].astimezone(timezone.utc)
    warn = warning_moment(received, due, policy.warning_at)
    assert timedelta(0) <= moments["warning"].astimezone(timezone.utc) - warn < timedelta(seconds=1), moments
    assert timedelta(0) <= moments["breach"].astimezone(timezone.utc) - due < timedelta(seconds=1), moments
