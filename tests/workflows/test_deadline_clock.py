"""The deadline clock's alarms, read at any moment a workflow task may run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from temporalio import workflow

from complaints.domain.models import DeadlinePlan
from workflows.deadlines import DeadlineClock

RECEIVED = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
PLAN = DeadlinePlan(due={"assessment": RECEIVED + timedelta(hours=1), "investigation": RECEIVED + timedelta(hours=24)},
                    warn={"assessment": RECEIVED + timedelta(minutes=48),
                          "investigation": RECEIVED + timedelta(hours=19, minutes=12)})


def clock_at(monkeypatch: pytest.MonkeyPatch, moment: datetime, warns_late: bool = True) -> DeadlineClock:
    monkeypatch.setattr(workflow, "now", lambda: moment)
    clock = DeadlineClock()
    clock.fix(RECEIVED, PLAN)
    clock.warns_late = warns_late
    return clock


def alarms(clock: DeadlineClock, running: list[str], n: int) -> list[str]:
    rung = []
    for _ in range(n):
        alarm = clock.next_alarm(running)
        assert alarm is not None
        rung.append(alarm.label)
        clock.rang(alarm)
        if not alarm.warning:
            running = [name for name in running if name != alarm.deadline]
    return rung


@pytest.mark.parametrize("minutes", [0, 50, 61, 60 * 30])
def test_the_alarms_ring_in_the_same_order_whenever_the_clock_is_read(monkeypatch, minutes):
    """A workflow task that timed out runs again later, and the archive writes its local activities
    made stand: the records must not hang on the moment, so a warning not given by its deadline
    still rings, just before the breach."""
    clock = clock_at(monkeypatch, RECEIVED + timedelta(minutes=minutes))
    assert alarms(clock, ["assessment", "investigation"], 4) == [
        "assessment warning", "assessment deadline", "investigation warning", "investigation deadline"]


def test_runs_from_before_release_2027_02_skip_a_warning_read_after_its_deadline(monkeypatch):
    clock = clock_at(monkeypatch, RECEIVED + timedelta(minutes=61), warns_late=False)
    assert alarms(clock, ["assessment", "investigation"], 2) == ["assessment deadline", "investigation warning"]
