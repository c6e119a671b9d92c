"""Assign a complaint reaching assessment to a handler: category -> team (the people file), then
the team's handler with the least open work, counted in Temporal visibility rather than kept in
a counter some workflow would have to own."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.client import Client

from complaints.domain.models import Assignment
from complaints.domain.people import People
from workflows.visibility import HANDLER


class Assigner:
    def __init__(self, client: Client, task_queue: str, people: People | None) -> None:
        self.client, self.task_queue, self.people = client, task_queue, people

    @activity.defn
    async def assign_handler(self, category: str | None, exclude: list[str]) -> Assignment:
        """The handler to hold a complaint of `category`, never one of `exclude` (who handled the
        complaint a review looks at); ties go to the first in the people file."""
        if self.people is None:
            return Assignment(people=False)
        team = self.people.team_for(category) if category else None
        members = [p for p in self.people.members(team.name) if p.id not in exclude] if team else []
        if not members:
            return Assignment(people=True)
        loads = await asyncio.gather(*(self.open_work(p.id) for p in members))
        chosen = min(zip(loads, range(len(members))))[1]
        return Assignment(people=True, handler=members[chosen].id)

    async def open_work(self, person_id: str) -> int:
        """Running complaints this person holds; a person id has nothing to quote."""
        found = await self.client.count_workflows(
            f"WorkflowType = 'ComplaintWorkflow' AND TaskQueue = '{self.task_queue}' "
            f"AND {HANDLER.name} = '{person_id}' AND ExecutionStatus = 'Running'")
        return found.count
