"""Fix a complaint's deadlines at receipt, from the worker's policy and calendar.

An activity, so the result is recorded in the complaint's history: a later change of the
policy or of the holiday calendar never changes a running complaint's deadlines.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import activity

from complaints.domain.models import DeadlinePlan
from complaints.domain.policy import Policy
from complaints.domain.workdays import WorkingCalendar


class Deadlines:
    def __init__(self, policy: Policy, calendar: WorkingCalendar) -> None:
        self.policy = policy
        self.calendar = calendar

    @activity.defn
    def plan_deadlines(self, received_at: datetime) -> DeadlinePlan:
        return self.policy.plan(received_at, self.calendar)

    @activity.defn
    def plan_drill_deadlines(self, received_at: datetime) -> DeadlinePlan:
        """An emergency drill's complaint: the drill policy's deadlines, in minutes."""
        return self.policy.drill().plan(received_at, self.calendar)
