"""Who holds a complaint: assigned at assessment by the people file's rule, `assign` and `claim`,
and `ComplaintHandler` published only when handlers are person ids."""

from __future__ import annotations

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from activities.assignment import Assigner
from complaints.domain.people import People
from workflows.visibility import HANDLER

from .conftest import STEPS, attribute

PEOPLE = People.parse("""
[teams.collection]
categories = ["collection.*"]

[[people]]
id = "h.zhang"
name = "张华"
email = "h.zhang@firm.example"
role = "handler"
team = "collection"

[[people]]
id = "h.li"
name = "李娜"
email = "h.li@firm.example"
role = "handler"
team = "collection"
""")
OPEN_WORK = {"h.zhang": 3, "h.li": 1}
"""What visibility would count (the time-skipping server answers no count queries)."""


class TestWithAPeopleFile:
    @pytest.fixture
    async def worker(self, client: Client, task_queue, policy, calendar, archive, team_id, monkeypatch):
        """The desk fixture's worker, here with a people file and visibility's counts mocked."""
        from tests.conftest import postman
        from worker import new_worker

        async def open_work(_: Assigner, person_id: str) -> int:
            return OPEN_WORK[person_id]

        monkeypatch.setattr(Assigner, "open_work", open_work)
        async with new_worker(client, task_queue, policy, calendar, archive, team_id, postman(archive),
                              people=PEOPLE) as running:
            yield running

    async def test_a_complaint_goes_to_the_teams_handler_with_the_least_open_work(self, desk, archive):
        handle = await desk.file()
        status = await desk.until(handle, lambda s: s["handler"] is not None)
        assert status["handler"] == "h.li" and status["stage"] == "assessment"
        assert await attribute(handle, HANDLER) == "h.li"
        trail = archive.audit_trail(status["complaint_id"])
        assert any(r["kind"] == "assigned" and r["actor"] == "system" for r in trail)

        moved = await desk.act(handle, "assign", {"handler": "h.zhang", "by": "m.chen"})
        assert moved["handler"] == "h.zhang" and "claim" not in moved["accepts"]
        assert await attribute(handle, HANDLER) == "h.zhang"
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await desk.act(handle, "claim", {"handler": "h.li"})
        assert "a handler holds it already" in str(refused.value.cause)

    async def test_a_review_never_goes_to_who_held_the_original(self, desk):
        original = await desk.file(external_ref="HELD-1")
        await desk.until(original, lambda s: s["handler"] == "h.li")
        await desk.steps(original, len(STEPS))
        original_id = (await original.result())["complaint_id"]
        review = await desk.file(external_ref="REVIEW-1", review_of=original_id)
        status = await desk.until(review, lambda s: s["handler"] is not None)
        assert status["handler"] == "h.zhang"  # more open work than h.li, but h.li held the original


async def test_without_a_people_file_a_complaint_waits_to_be_claimed_and_no_name_is_published(desk, archive):
    handle = await desk.file()
    status = await desk.act(handle, "claim", {"handler": "Wang Fang"})  # a typed name: never a search attribute
    assert status["handler"] == "Wang Fang" and status["handlers"] == ["Wang Fang"]
    assert status["stage"] == "assessment" and "claim" not in status["accepts"]
    assert await attribute(handle, HANDLER) is None
    status = await desk.act(handle, "assign", {"handler": "Li Na"})
    assert status["handler"] == "Li Na"
    await desk.until(handle, lambda _: any(r["action"] == "assign" for r in archive.audit_trail(status["complaint_id"])))
    assigned = [r for r in archive.audit_trail(status["complaint_id"]) if r["action"] == "assign"]
    assert [r["actor"] for r in assigned] == ["manager"]  # the manager acted, not the assignee
