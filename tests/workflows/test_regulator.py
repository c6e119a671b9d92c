"""The regulator's clock (contract 2b): extensions, paused time, merged repeats, reviews."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from complaints.desk import Desk as OfficeDesk
from complaints.domain.models import Intake, complaint_id_of
from complaints.domain.workdays import SHANGHAI, WorkingCalendar
from complaints.intake import IntakeRefused, file_complaint
from workflows.visibility import PAUSED

from .conftest import BODY, HANDLER, STEPS, attribute


@pytest.fixture
def calendar() -> WorkingCalendar:
    """Every day a working day, so the `15cd` decision deadline and its caps end on the 15th,
    30th and 60th day after receipt whatever day the tests run (tests/domain has the real
    calendar's weekends and holidays)."""
    years = range(date.today().year - 1, date.today().year + 2)
    return WorkingCalendar({year: {date.fromordinal(day): True for day in range(
        date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal())} for year in years})


def at(status: dict, name: str) -> datetime:
    return datetime.fromisoformat(status["deadlines"][name])


def end_of_day_after_receipt(status: dict, days: int) -> datetime:
    """24:00 Shanghai time of the nth day after the receipt date."""
    received = datetime.fromisoformat(status["received_at"]).astimezone(SHANGHAI).date()
    return datetime.combine(received + timedelta(days=days + 1), datetime.min.time(), SHANGHAI)


async def refused(desk, handle, update: str, payload: dict) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await desk.act(handle, update, payload)
    return str(err.value.cause)


def extension(role: str, days: int, approver: str = "manager-li") -> dict:
    return {"handler": HANDLER, "approver": approver, "approver_role": role, "reason": "forensic audit", "days": days}


async def test_extensions_move_the_decision_within_the_caps_and_tell_the_complainant(desk, archive):
    handle = await desk.file()
    status = await desk.steps(handle, 2)
    assert at(status, "decision") == end_of_day_after_receipt(status, 15)  # "15cd": as the law counts
    status = await desk.act(handle, "extend", extension("manager", 15))
    assert at(status, "decision") == end_of_day_after_receipt(status, 30)
    assert status["extensions"][0]["approver_role"] == "manager"
    assert "extend" in status["accepts"]

    message = await refused(desk, handle, "extend", extension("manager", 10))
    assert "senior manager" in message
    message = await refused(desk, handle, "extend", extension("senior_manager", 31, "director-sun"))
    assert "at most 60 days" in message
    status = await desk.act(handle, "extend", extension("senior_manager", 30, "director-sun"))
    assert at(status, "decision") == end_of_day_after_receipt(status, 60)
    assert "extend" not in status["accepts"]  # two extensions used: not offered any more
    message = await refused(desk, handle, "extend", extension("senior_manager", 1, "director-sun"))
    assert "at most twice" in message

    await desk.sleep(timedelta(days=20))  # past the original 15 days: no decision breach
    status = await handle.query("status")
    assert "decision" not in status["breaches"]
    cid = status["complaint_id"]
    notices = [n for n in archive.notices(cid) if n["kind"] == "extension"]
    assert len(notices) == 2 and all("forensic audit" in n["message"] for n in notices)
    last_day = end_of_day_after_receipt(status, 60).date() - timedelta(days=1)
    assert f"extended to {last_day.isoformat()}T24:00+08:00: " in notices[1]["message"]  # not the next day's 00:00
    assert [r["action"] for r in archive.audit_trail(cid)].count("extend") == 2


async def test_a_first_extension_past_thirty_days_is_refused(desk):
    handle = await desk.file()
    assert "at most 30 days" in await refused(desk, handle, "extend", extension("manager", 16))


async def test_an_extension_after_the_decision_deadline_passed_is_refused_and_the_breach_stands(desk, archive):
    handle = await desk.file()
    status = await desk.steps(handle, 2)
    await desk.sleep(at(status, "decision") - await desk.env.get_current_time() + timedelta(hours=1))
    status = await desk.until(handle, lambda s: "decision" in s["breaches"])
    assert "extend" not in status["accepts"]
    message = await refused(desk, handle, "extend", extension("manager", 10))
    last_day = at(status, "decision").astimezone(SHANGHAI).date() - timedelta(days=1)
    assert f"the decision deadline passed at {last_day.isoformat()}T24:00+08:00" in message
    assert "before the deadline runs out" in message
    status = await handle.query("status")
    assert status["extensions"] == [] and "decision" in status["breaches"]
    assert not [n for n in archive.notices(status["complaint_id"]) if n["kind"] == "extension"]


async def test_every_time_in_a_status_is_utc_whatever_offset_the_channel_gave(desk):
    received = (await desk.env.get_current_time()).astimezone(SHANGHAI) - timedelta(minutes=5)
    handle = await desk.file(received_at=received.isoformat())  # "...+08:00"
    status = await desk.steps(handle, 1)
    times = [status["received_at"], *status["deadlines"].values(), *status["met"].values(),
             *(h["entered_at"] for h in status["history"])]
    assert all(t.endswith("Z") for t in times), times
    assert datetime.fromisoformat(status["received_at"]) == received


async def test_the_web_ui_shows_an_end_of_day_deadline_as_24_00_of_its_day(desk):
    handle = await desk.file()
    status = await desk.steps(handle, 2)
    current = (await handle.query("__temporal_workflow_metadata")).current_details
    last_day = at(status, "decision").astimezone(SHANGHAI).date() - timedelta(days=1)
    assert f"- decision: {last_day.isoformat()}T24:00+08:00, running" in current
    assert "T00:00" not in current


async def test_a_pause_spanning_the_deadline_stops_the_decision_clock_but_not_the_plan(desk, archive):
    handle = await desk.file()
    status = await desk.steps(handle, 1)
    due = at(status, "decision")
    await desk.sleep(timedelta(days=10))
    status = await desk.act(handle, "pause", {"handler": HANDLER, "reason": "forensic appraisal of the recording"})
    assert status["paused"] and await attribute(handle, PAUSED) is True
    assert "extend" in status["accepts"]  # a paused decision deadline has not passed
    await desk.sleep(timedelta(days=10))  # day 20: the original decision deadline (day 15) has passed
    status = await handle.query("status")
    assert "decision" not in status["breaches"] and "extend" in status["accepts"]
    assert "investigation" in status["breaches"]  # the firm's own plan deadlines kept running
    status = await desk.act(handle, "resume", {"handler": HANDLER})
    assert not status["paused"] and await attribute(handle, PAUSED) is False
    moved = at(status, "decision") - due
    assert timedelta(days=9, hours=23) < moved < timedelta(days=10, hours=1)  # by the 10 days paused
    await desk.sleep(at(status, "decision") - await desk.env.get_current_time() + timedelta(hours=1))
    status = await desk.until(handle, lambda s: "decision" in s["breaches"])
    assert status["pauses"][0]["resumed_at"] is not None
    assert any(n["kind"] == "pause" for n in archive.notices(status["complaint_id"]))


async def test_resume_without_a_pause_is_refused(desk):
    handle = await desk.file()
    assert "not paused" in await refused(desk, handle, "resume", {"handler": HANDLER})


async def test_a_repeat_is_merged_into_the_open_original(desk, archive):
    original = await desk.file(external_ref="ORIG-1")
    repeat = await desk.file(external_ref="REPEAT-1", content="又是晚上十一点打电话", evidence=["second-call.mp3"])
    original_id = (await original.query("status"))["complaint_id"]
    repeat_status = await repeat.query("status")
    assert repeat_status["possible_duplicate_of"] == original_id  # same phone, still open

    status = await desk.act(repeat, "merge", {"handler": HANDLER, "into": original_id})
    assert status["stage"] == "closed" and status["outcome"] == "merged" and status["merged_into"] == original_id
    await repeat.result()
    status = await desk.until(original, lambda s: s["merged"] == [repeat_status["complaint_id"]])
    assert status["stage"] == "assessment"
    await desk.until(original, lambda s: any(  # archive write runs behind the update
        r["kind"] == "repeat_merged" for r in archive.audit_trail(original_id)))
    entry = next(r for r in archive.audit_trail(original_id) if r["kind"] == "repeat_merged")
    assert entry["details"]["content"] == "又是晚上十一点打电话"
    assert "second-call.mp3" in archive.complaint(original_id)["evidence"]


async def test_a_merge_into_a_closed_complaint_is_refused(desk):
    original = await desk.file(external_ref="CLOSED-1")
    await desk.act(original, "withdraw", {"handler": HANDLER, "reason": "resolved by phone"})
    await original.result()
    repeat = await desk.file(external_ref="CLOSED-1-REPEAT")
    message = await refused(desk, repeat, "merge", {"handler": HANDLER, "into": complaint_id_of(original.id)})
    assert "closed" in message
    assert (await repeat.query("status"))["stage"] == "assessment"


async def closed_original(desk, ref: str) -> tuple[str, datetime]:
    original = await desk.file(external_ref=ref)
    await desk.steps(original, len(STEPS))
    final = await original.result()
    return final["complaint_id"], datetime.fromisoformat(final["met"]["decision"])


async def test_a_review_opens_linked_at_least_high_and_refuses_the_original_handler(desk, archive):
    original_id, _ = await closed_original(desk, "REVIEWED-1")
    review = await desk.file(external_ref="REVIEW-1", review_of=original_id)
    status = await review.query("status")
    assert status["review_of"] == original_id and status["severity"] in ("high", "urgent")
    assert archive.reviews_of(original_id) == [status["complaint_id"]]
    message = await refused(desk, review, "assess", {**STEPS[0][1]})
    assert "conflict" in message or "handled the original" in message
    status = await desk.act(review, "assess", {**STEPS[0][1], "handler": "handler-chen"})
    assert status["stage"] == "investigation"


async def test_a_review_may_be_filed_once_the_decision_is_told_before_the_original_closes(desk, archive):
    original = await desk.file(external_ref="DECIDED-1")
    status = await desk.steps(original, 5)  # up to record_feedback: revisit and summary still open
    original_id = status["complaint_id"]
    await desk.until(original, lambda s: archive.complaint(original_id)["decided_at"] is not None)
    review = await desk.file(external_ref="REVIEW-EARLY", review_of=original_id)
    review_status = await review.query("status")
    assert review_status["review_of"] == original_id
    office = OfficeDesk(desk.client, archive, desk.task_queue, desk.team_id)  # what the API and CLI answer
    shown = await office.status(original_id)
    assert shown.stage.value == "revisit" and shown.reviews == [review_status["complaint_id"]]


async def test_the_review_window_runs_from_the_decision_to_when_the_review_was_received(desk, client, task_queue,
                                                                                       archive):
    original_id, decided = await closed_original(desk, "REVIEWED-2")
    await desk.sleep(timedelta(days=31))  # keyed in on day 31 ...
    late = Intake.model_validate({**BODY, "external_ref": "LATE-REVIEW", "review_of": original_id})
    with pytest.raises(IntakeRefused) as err:
        await file_complaint(client, task_queue, late, archive, now=await desk.env.get_current_time())
    assert err.value.field == "review_of" and "window" in err.value.reason
    letter = await desk.file(external_ref="LETTER-REVIEW", review_of=original_id,  # ... received on day 29
                             received_at=(decided + timedelta(days=29)).isoformat())
    assert (await letter.query("status"))["review_of"] == original_id


async def test_a_review_of_a_complaint_without_a_decision_is_refused(desk, client, task_queue, archive):
    still_open = await desk.file(external_ref="OPEN-1")
    early = Intake.model_validate({**BODY, "external_ref": "EARLY-REVIEW",
                                   "review_of": complaint_id_of(still_open.id)})
    with pytest.raises(IntakeRefused, match="no decision told yet"):
        await file_complaint(client, task_queue, early, archive, now=await desk.env.get_current_time())
