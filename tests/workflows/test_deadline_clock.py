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


def test_the_clock_wakes_a_minute_ahead_of_a_far_alarm_then_sleeps_the_rest(monkeypatch):
    """A timer starts when the task that set it completes: the receipt's task, running local
    activities, would make the alarm ring late by its length; the last stretch is set afresh."""
    clock = clock_at(monkeypatch, RECEIVED)
    alarm = clock.next_alarm(["assessment"])
    assert clock.timer_for(alarm) == (timedelta(minutes=47), False)
    clock.ahead_of = alarm  # what sleep_until keeps once it woke ahead
    monkeypatch.setattr(workflow, "now", lambda: RECEIVED + timedelta(minutes=47, seconds=2))
    assert clock.timer_for(alarm) == (timedelta(seconds=58), True)


@pytest.mark.parametrize(("ahead", "first"), [(timedelta(seconds=30), timedelta(seconds=15)),
                                              (timedelta(seconds=2), timedelta(seconds=2)),
                                              (timedelta(seconds=-5), timedelta(seconds=-5))])
def test_a_near_alarm_is_woken_halfway_ahead_and_a_very_near_one_slept_to(monkeypatch, ahead, first):
    clock = clock_at(monkeypatch, RECEIVED + timedelta(minutes=48) - ahead)
    wait, due = clock.timer_for(clock.next_alarm(["assessment"]))
    assert (wait, due) == (first, first == ahead)


def test_runs_from_before_release_2027_03_set_one_timer_to_the_alarm(monkeypatch):
    clock = clock_at(monkeypatch, RECEIVED)
    clock.wakes_ahead = False
    assert clock.timer_for(clock.next_alarm(["assessment"])) == (timedelta(minutes=48), True)
