"""The workbench's parts that need no server: the session's lifetime, a form read back into a body,
a queue row's urgency, the queue and case-file rules of the people file."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from starlette.datastructures import FormData
from starlette.requests import Request

from complaints.desk import Listed
from complaints.domain.access import in_queue, may_read_case
from complaints.domain.models import ACTION_INPUTS
from complaints.domain.people import People
from complaints.web import forms
from complaints.web.routes import _urgency
from complaints.web.session import COOKIE, LIFETIME, Sessions

PEOPLE = People.load(Path(__file__).resolve().parents[1] / "deploy" / "people.demo.toml")


def request_with(cookie: str) -> Request:
    return Request({"type": "http", "headers": [(b"cookie", f"{COOKIE}={cookie}".encode())]})


def test_a_session_expires_and_only_its_own_secret_opens_it(monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = Sessions(b"k" * 32)
    cookie = sessions.signer.dumps({"csrf": "t", "key": "f"})
    assert sessions.read(request_with(cookie)).key == "f"
    assert Sessions(b"x" * 32).read(request_with(cookie)) is None  # another codec key: another secret
    assert sessions.read(request_with(cookie[:-2] + "xx")) is None
    later = time.time() + LIFETIME.total_seconds() + 60
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert sessions.read(request_with(cookie)) is None


def test_a_posted_form_reads_back_as_the_action_body() -> None:
    form = FormData([("handler", " h.zhang "), ("reached", "true"), ("satisfaction", "5"), ("comment", ""),
                     ("csrf", "t")])
    assert forms.body(ACTION_INPUTS["record_revisit"], form) == {"handler": "h.zhang", "reached": True,
                                                                  "satisfaction": 5}
    remedies = FormData([("handler", "h"), ("plan", "p"), ("remedies", "致歉\n\n 退费 \n"), ("amount", "12.5")])
    assert forms.body(ACTION_INPUTS["propose_solution"], remedies) == {
        "handler": "h", "plan": "p", "remedies": ["致歉", "退费"], "amount": 12.5}
    assert forms.body(ACTION_INPUTS["extend"], FormData([("days", "ten")]))["days"] == "ten"  # refused by the desk
    assert [i.name for i in forms.inputs(ACTION_INPUTS["assess"])][:3] == ["handler", "category", "severity"]


def test_a_row_is_on_time_in_warning_or_in_breach() -> None:
    start = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    row = Listed(complaint_id="C1", started_at=start, next_deadline=start + timedelta(hours=10))
    assert _urgency(row, start + timedelta(hours=7), 0.8) == "ok"
    assert _urgency(row, start + timedelta(hours=8), 0.8) == "warning"
    assert _urgency(row, start + timedelta(hours=10), 0.8) == "breach"
    assert _urgency(row.model_copy(update={"breached": True}), start, 0.8) == "breach"


def test_a_handler_reads_and_queues_their_teams_complaints_and_sees_others_only_when_open_to_all() -> None:
    zhang, li, manager = PEOPLE.person("h.zhang"), PEOPLE.person("h.li"), PEOPLE.person("m.chen")
    collection = "collection.off_hours"
    assert may_read_case(zhang, PEOPLE, collection, ["h.zhang"], escalated=False)
    assert not may_read_case(li, PEOPLE, collection, ["h.zhang"], escalated=False)
    assert may_read_case(li, PEOPLE, collection, [], escalated=False)  # unassigned
    assert may_read_case(li, PEOPLE, collection, ["h.zhang"], escalated=True)
    assert may_read_case(manager, PEOPLE, collection, ["h.zhang"], escalated=False)
    assert may_read_case(li, None, collection, ["h.zhang"], escalated=False)  # no people file: as before

    assert in_queue(zhang, PEOPLE, collection, None) and in_queue(zhang, PEOPLE, None, "h.zhang")
    assert not in_queue(li, PEOPLE, collection, "h.zhang")
    assert in_queue(li, PEOPLE, collection, "h.li")  # assigned across teams: in the holder's queue
    assert in_queue(manager, PEOPLE, collection, "h.zhang") and in_queue(li, None, collection, "h.zhang")
