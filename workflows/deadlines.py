"""DeadlineClock: a complaint's deadlines, their warnings, and the one timer to the next alarm.

Deadlines are fixed once at receipt (an activity, so the calendar never changes a running
complaint); the clock only keeps them: when each falls due, whether its warning has gone,
which alarm rings next, and moving the regulator's `decision` deadline. Like the samples'
`UpdatableTimer`, one timer runs at a time, to the earliest alarm, and it is re-armed only
when the next alarm changes: an action that leaves the alarm where it was costs no timer. The
clock wakes shortly ahead of an alarm and sets the last stretch then (`AHEAD`), so an alarm
rings on time even when the task that first set its timer ran long.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from complaints.domain.models import DeadlinePlan, PublicText
    from complaints.domain.policy import warning_moment

@dataclass(frozen=True)
class Alarm:
    at: datetime
    deadline: str
    warning: bool

    @property
    def label(self) -> str:
        return f"{self.deadline} {'warning' if self.warning else 'deadline'}"


@dataclass
class Deadline:
    due: datetime
    warn: datetime
    warned: bool = False


AHEAD = timedelta(minutes=1)
"""How far ahead of an alarm the clock first wakes. Temporal starts a timer when the workflow
task that set it completes, not when it began, and a task that runs local activities (the
receipt's deadline planning, archive writes and assignment) takes seconds under load: a timer
set from `workflow.now()` for the alarm itself rings late by that much. So the clock first
sleeps to shortly before the alarm (this far, or halfway when it is nearer), and sets the last
stretch from the task that wakes then, which runs nothing else."""
EXACT_WITHIN = timedelta(seconds=2)
"""An alarm nearer than this is slept to directly: waking ahead would save less than it costs."""


class DeadlineClock:
    def __init__(self) -> None:
        self.deadlines: dict[str, Deadline] = {}
        self.received_at: datetime | None = None
        self.warning_at = 0.8
        self.warns_late = True
        """A warning not given by the time its deadline passed is given then, just before the breach,
        so what a complaint journals never hangs on when its workflow task ran (a task that timed out
        runs again later, and its local activities' writes stand). Runs from before release 2027-02
        skipped it when something else woke them past the deadline."""
        self.wakes_ahead = True
        """Alarms ring on time however long the task that set their timer ran (`AHEAD`); runs from
        before release 2027-03 set one timer to the alarm itself."""
        self.ahead_of: Alarm | None = None  # the alarm the clock last woke ahead of

    def fix(self, received_at: datetime, plan: DeadlinePlan) -> None:
        self.received_at, self.warning_at = received_at, plan.warning_at
        self.deadlines = {name: Deadline(due, plan.warn[name]) for name, due in plan.due.items()}

    @property
    def fixed(self) -> bool:
        return bool(self.deadlines)

    def due(self, name: str) -> datetime:
        return self.deadlines[name].due

    def schedule(self) -> dict[str, datetime]:
        """Every deadline's due time, earliest first."""
        return {name: d.due for name, d in sorted(self.deadlines.items(), key=lambda item: item[1].due)}

    def next_alarm(self, running: Iterable[str]) -> Alarm | None:
        """The earliest alarm of the running deadlines: a warning not yet given, else the deadline."""
        now = workflow.now()
        alarms = [Alarm(d.warn, name, True) if not d.warned and (self.warns_late or d.due > now)
                  else Alarm(d.due, name, False)
                  for name in running for d in [self.deadlines[name]]]
        return min(alarms, key=lambda a: (a.at, a.deadline), default=None)

    def rang(self, alarm: Alarm) -> None:
        if alarm.warning:
            self.deadlines[alarm.deadline].warned = True

    def move(self, name: str, by: timedelta, warn_again: bool) -> datetime:
        """Move a deadline (an extension, a pause's time); its warning moves with it, and goes
        again after an extension (a new date), not after a pause (the same date, later)."""
        assert self.received_at is not None, "deadlines are fixed at receipt"
        deadline = self.deadlines[name]
        deadline.due += by
        deadline.warn = warning_moment(self.received_at, deadline.due, self.warning_at)
        deadline.warned = deadline.warned and not warn_again
        return deadline.due

    def timer_for(self, alarm: Alarm) -> tuple[timedelta, bool]:
        """How long to sleep toward `alarm`, and whether it is due when that sleep ends (else the
        clock woke ahead of it and sets the rest afresh)."""
        wait = alarm.at - workflow.now()
        if not self.wakes_ahead or alarm == self.ahead_of or wait <= EXACT_WITHIN:
            return wait, True
        return wait - min(AHEAD, wait / 2), False

    async def sleep_until(self, alarm: Alarm | None, woken: Callable[[], bool]) -> bool:
        """Sleep until `alarm` is due (True), or until `woken` holds or the clock wakes ahead of
        the alarm (False)."""
        if alarm is None:
            await workflow.wait_condition(woken)
            return False
        wait, due = self.timer_for(alarm)
        if wait > timedelta(0):
            try:  # named for the alarm either way: the Web UI lists the timers by what they are for
                await workflow.wait_condition(woken, timeout=wait, timeout_summary=PublicText(alarm.label))
                return False
            except asyncio.TimeoutError:
                pass
        if not due:
            self.ahead_of = alarm
        return due
