"""The HTTP API of contract section 5, against the real app, a real dev server and a worker."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from complaints.api.app import create_app
from complaints.domain.models import ACTION_INPUTS, Channel
from complaints.infra.settings import Settings
from tests.devserver import free_port
from tests.integration.apihelp import (  # noqa: F401
    KEYS, api_settings, app, auth, eventually, http, intake, unreachable_archive)

HANDLER = "h.zhang"
LIFECYCLE = [
    ("assess", {"handler": HANDLER, "category": "service.fees", "severity": "normal"}, "investigation"),
    ("investigate", {"handler": HANDLER, "findings": "The fee was posted twice by a batch rerun.",
                     "root_cause": "batch rerun", "substantiated": True, "evidence": ["posting-log.csv"]}, "solution"),
    ("propose_solution", {"handler": HANDLER, "plan": "Refund the second fee.", "remedies": ["refund"],
                          "amount": 120.5}, "solution"),
    ("record_execution", {"handler": HANDLER, "result": "Refunded on the next statement."}, "feedback"),
    ("record_feedback", {"handler": HANDLER, "accepted": True}, "revisit"),
    ("record_revisit", {"handler": HANDLER, "reached": True, "satisfaction": 5}, "summary"),
    ("summarize", {"handler": HANDLER, "root_cause": "batch rerun", "improvements": ["idempotent fee posting"]},
     "closed"),
]


async def file(http: httpx.AsyncClient, ref: str | None = None, **changes) -> str:
    r = await http.post("/complaints", json=intake(ref, **changes), headers=auth("channel"))
    assert r.status_code == 201, r.text
    return r.json()["complaint_id"]


async def test_intake_from_every_channel_is_listed_by_channel(http: httpx.AsyncClient) -> None:
    ids = {channel: await file(http, f"ref-{channel.value}", channel=channel.value) for channel in Channel}
    for channel, cid in ids.items():
        status = (await http.get(f"/complaints/{cid}", headers=auth("auditor"))).json()
        assert status["channel"] == channel.value and status["complaint_id"] == cid
        assert "complainant" not in status and "content" not in status  # the status holds no personal data
    assert status["severity"] in ("high", "urgent")  # the last one came from a regulator: always at least high

    async def by_channel() -> httpx.Response:
        return await http.get("/complaints", params={"channel": "letter"}, headers=auth("manager"))

    listed = await eventually(by_channel, lambda r: len(r.json()) == 1)
    assert [row["complaint_id"] for row in listed.json()] == [ids[Channel.letter]]


async def test_repeated_intake_returns_the_same_complaint_with_200(http: httpx.AsyncClient) -> None:
    first = await http.post("/complaints", json=intake("CALL-1"), headers=auth("channel"))
    again = await http.post("/complaints", json=intake("CALL-1", content="Called again about it."),
                            headers=auth("channel"))
    other_channel = await http.post("/complaints", json=intake("CALL-1", channel="sms"), headers=auth("channel"))
    assert (first.status_code, again.status_code, other_channel.status_code) == (201, 200, 201)
    assert again.json() == first.json() == {"complaint_id": first.json()["complaint_id"],
                                            "workflow_id": f"complaint-{first.json()['complaint_id']}"}
    assert other_channel.json()["complaint_id"] != first.json()["complaint_id"]


async def test_concurrent_identical_intake_starts_exactly_one_complaint(http: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(*(
        http.post("/complaints", json=intake("WEB-RACE-1"), headers=auth("channel")) for _ in range(20)
    ))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 19 + [201]
    assert len({a.json()["complaint_id"] for a in answers}) == 1


async def test_whole_lifecycle_through_http_by_the_handler(http: httpx.AsyncClient, archive) -> None:
    cid = await file(http, "LIFE-1")
    await eventually(lambda: http.get(f"/complaints/{cid}", headers=auth("handler")),
                     lambda r: r.json()["stage"] == "assessment")
    for action, payload, stage in LIFECYCLE:
        r = await http.post(f"/complaints/{cid}/{action}", json=payload, headers=auth("handler"))
        assert r.status_code == 200, (action, r.text)
        assert r.json()["stage"] == stage, action
    status = (await http.get(f"/complaints/{cid}", headers=auth("auditor"))).json()
    assert status["outcome"] == "resolved" and status["satisfaction"] == 5
    assert [h["stage"] for h in status["history"]] == [
        "receipt", "assessment", "investigation", "solution", "feedback", "revisit", "summary", "closed"]
    assert set(status["met"]) >= {"assessment", "investigation", "plan", "execution", "summary", "decision"}
    late = await http.post(f"/complaints/{cid}/withdraw", json={"handler": HANDLER, "reason": "too late"},
                           headers=auth("handler"))
    assert late.status_code == 409 and "closed" in late.json()["detail"]
    trail = await eventually(lambda: asyncio.to_thread(archive.audit_trail, cid),
                             lambda rows: any(r["action"] == "summarize" for r in rows))
    assert [r["action"] for r in trail if r["action"]] == [a for a, _, _ in LIFECYCLE]
    await eventually(lambda: asyncio.to_thread(archive.complaint, cid), lambda row: row["stage"] == "closed")
    review = await file(http, "LIFE-1-REVIEW", review_of=cid)
    reviewed = await eventually(lambda: http.get(f"/complaints/{cid}", headers=auth("auditor")),
                                lambda r: r.json()["reviews"] == [review])
    assert reviewed.json()["reviews"] == [review]  # a closed complaint lists the reviews filed against it


async def test_wrong_stage_is_409_naming_the_stage_and_what_it_accepts(http: httpx.AsyncClient) -> None:
    cid = await file(http, "STAGE-1")
    await eventually(lambda: http.get(f"/complaints/{cid}", headers=auth("handler")),
                     lambda r: r.json()["stage"] == "assessment")
    r = await http.post(f"/complaints/{cid}/record_execution", json={"handler": HANDLER, "result": "done"},
                        headers=auth("handler"))
    assert r.status_code == 409
    assert "stage assessment" in r.json()["detail"] and "assess" in r.json()["detail"]


async def test_manager_escalates_and_emergency_team_acknowledges(http: httpx.AsyncClient) -> None:
    cid = await file(http, "ESC-1")
    r = await http.post(f"/complaints/{cid}/escalate", json={"reason": "press threat", "by": "m.chen"},
                        headers=auth("manager"))
    assert r.status_code == 202
    cases = await eventually(lambda: http.get("/emergency/cases", headers=auth("emergency")),
                             lambda r: any(c["complaint_id"] == cid for c in r.json()["cases"]))
    case = next(c for c in cases.json()["cases"] if c["complaint_id"] == cid)
    assert [e["source"] for e in case["escalations"]] == ["manager"]
    assert (await http.get("/emergency/cases", headers=auth("manager"))).status_code == 200
    ack = await http.post(f"/emergency/cases/{cid}/acknowledge", json={"lead": "e.wu"}, headers=auth("emergency"))
    assert ack.status_code == 200 and ack.json()["lead"] == "e.wu"
    status = await eventually(lambda: http.get(f"/complaints/{cid}", headers=auth("manager")),
                              lambda r: r.json()["lead"] == "e.wu")
    assert status.json()["escalated"] is True and status.json()["escalations"][0]["by"] == "m.chen"
    listed = await eventually(lambda: http.get("/complaints?escalated=true", headers=auth("emergency")),
                              lambda r: [row["complaint_id"] for row in r.json()] == [cid])
    assert listed.json()[0]["escalated"] is True
    not_a_case = await file(http, "ESC-2")
    r = await http.post(f"/emergency/cases/{not_a_case}/acknowledge", json={"lead": "e.wu"}, headers=auth("emergency"))
    assert r.status_code == 404


async def test_emergency_cases_show_the_complaints_current_stage(http: httpx.AsyncClient) -> None:
    """The team learns the stage at escalation; the case list must follow the complaint after it."""
    cid = await file(http, "ESC-STAGE")
    await http.post(f"/complaints/{cid}/escalate", json={"reason": "press threat", "by": "m.chen"},
                    headers=auth("manager"))
    await eventually(lambda: http.get("/emergency/cases", headers=auth("emergency")),
                     lambda r: any(c["complaint_id"] == cid for c in r.json()["cases"]))
    assessed = await http.post(f"/complaints/{cid}/assess", headers=auth("handler"), json={
        "handler": "h.li", "category": "service.fees", "severity": "high"})
    assert assessed.json()["stage"] == "investigation"
    cases = await eventually(lambda: http.get("/emergency/cases", headers=auth("emergency")),
                             lambda r: r.json()["cases"][0]["stage"] == "investigation")
    assert [(c["complaint_id"], c["stage"]) for c in cases.json()["cases"]] == [(cid, "investigation")]


ROUTES = [  # method, path, body, the roles allowed
    ("POST", "/complaints", intake("AUTH-1"), {"channel"}),
    ("GET", "/complaints/{id}", None, {"channel", "handler", "manager", "emergency", "auditor"}),
    ("GET", "/complaints", None, {"handler", "manager", "emergency", "auditor"}),
    ("POST", "/complaints/{id}/escalate", {"reason": "r", "by": "m"}, {"manager"}),
    ("POST", "/complaints/{id}/withdraw", {"handler": "h", "reason": "r"}, {"handler"}),
    ("GET", "/emergency/cases", None, {"emergency", "manager"}),
    ("POST", "/emergency/cases/{id}/acknowledge", {"lead": "l"}, {"emergency"}),
]


async def test_every_route_answers_401_without_a_key_and_403_for_a_wrong_role(http: httpx.AsyncClient) -> None:
    cid = await file(http, "AUTH-0")
    for method, path, body, allowed in ROUTES:
        url = path.format(id=cid)
        assert (await http.request(method, url, json=body)).status_code == 401, url
        bad_key = await http.request(method, url, json=body, headers={"Authorization": "Bearer nope"})
        assert bad_key.status_code == 401, url
        no_scheme = await http.request(method, url, json=body, headers={"Authorization": KEYS["channel"]})
        assert no_scheme.status_code == 401
        for role in set(KEYS) - allowed:
            r = await http.request(method, url, json=body, headers=auth(role))
            assert r.status_code == 403 and role in r.json()["detail"], (url, role)
        for role in allowed:
            assert (await http.request(method, url, json=body, headers=auth(role))).status_code not in (401, 403)
    assert (await http.get("/healthz")).status_code == 200  # health needs no key


async def test_unknown_complaints_and_actions_are_404(http: httpx.AsyncClient) -> None:
    cid = await file(http, "NF-1")
    missing = "CFFFFFFFFFFFFFFF"
    checks = [
        await http.get(f"/complaints/{missing}", headers=auth("auditor")),
        await http.get("/complaints/not%20an%20id", headers=auth("auditor")),
        await http.post(f"/complaints/{missing}/withdraw", json={"handler": "h", "reason": "r"},
                        headers=auth("handler")),
        await http.post(f"/complaints/{missing}/escalate", json={"reason": "r", "by": "m"}, headers=auth("manager")),
        await http.post(f"/emergency/cases/{missing}/acknowledge", json={"lead": "l"}, headers=auth("emergency")),
        await http.post(f"/complaints/{cid}/approve", json={}, headers=auth("handler")),
    ]
    assert [r.status_code for r in checks] == [404] * len(checks)
    assert missing in checks[0].json()["detail"]
    assert "assess" in checks[-1].json()["detail"]  # an unknown action lists the actions there are


def fields(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 422, r.text
    return {e["field"]: e["reason"] for e in r.json()["detail"]}


async def test_bad_input_is_422_naming_the_field_and_reason_without_echoing_it(http: httpx.AsyncClient) -> None:
    post = lambda body: http.post("/complaints", json=body, headers=auth("channel"))  # noqa: E731
    phone = "12-not-a-phone-34"
    r = await post(intake(complainant={"name": "Test Person", "phone": phone}))
    assert "phone number" in fields(r)["complainant.phone"] and phone not in r.text
    assert "content" in fields(await post({k: v for k, v in intake().items() if k != "content"}))
    assert "10000" in fields(await post(intake(content="x" * 10_001)))["content"]
    assert "phone or email" in fields(await post(intake(complainant={"name": "Test Person"})))["complainant"]
    assert "channel" in fields(await post(intake(channel="pigeon")))
    assert "e-mail" in fields(await post(intake(complainant={"name": "T", "email": "no-at-sign"})))["complainant.email"]
    assert "ID number" in fields(await post(intake(complainant={"name": "T", "phone": "13800000000",
                                                                "id_number": "123"})))["complainant.id_number"]
    future = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    assert fields(await post(intake(received_at=future)))["received_at"] == "is in the future"
    assert "more than a year ago" in fields(await post(intake(received_at="0001-01-01T00:00:00Z")))["received_at"]
    assert "CNOSUCHCOMPLAINT" in fields(await post(intake(review_of="CNOSUCHCOMPLAINT")))["review_of"]
    assert "not permitted" in fields(await post(intake(colour="blue")))["colour"]
    assert fields(await post(intake(subject="a\x00b"))) == {"subject": "contains a NUL character"}  # PostgreSQL
    bad_json = await http.post("/complaints", content=b"{not json", headers={**auth("channel"),
                                                                            "Content-Type": "application/json"})
    assert fields(bad_json) == {"body": "is not valid JSON"}
    cid = await file(http, "BAD-1")
    assert "satisfaction" in fields(await http.post(f"/complaints/{cid}/record_revisit",
                                                    json={"handler": "h", "reached": True, "satisfaction": 9},
                                                    headers=auth("handler")))
    assert "findings" in fields(await http.post(f"/complaints/{cid}/investigate", json={
        "handler": "h", "findings": "\x00", "root_cause": "r", "substantiated": False}, headers=auth("handler")))
    assert "lead" in fields(await http.post(f"/emergency/cases/{cid}/acknowledge", json={},
                                            headers=auth("emergency")))
    assert "reason" in fields(await http.post(f"/complaints/{cid}/escalate", json={"by": "m"}, headers=auth("manager")))
    assert "severity" in fields(await http.get("/complaints?severity=mild", headers=auth("handler")))
    assert "escalated" in fields(await http.get("/complaints?escalated=perhaps", headers=auth("handler")))


async def test_oversized_bodies_are_413_whether_declared_or_streamed(http: httpx.AsyncClient) -> None:
    huge = json.dumps(intake("HUGE", evidence=["x" * 200] * 6000)).encode()
    headers = {**auth("channel"), "Content-Type": "application/json"}
    declared = await http.post("/complaints", content=huge, headers=headers)

    async def chunks():
        for start in range(0, len(huge), 65536):
            yield huge[start:start + 65536]

    streamed = await http.post("/complaints", content=chunks(), headers=headers)
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert (await http.post("/complaints", json=intake("NOT-HUGE"), headers=auth("channel"))).status_code == 201


async def test_docs_show_examples_for_intake_and_every_update(http: httpx.AsyncClient) -> None:
    page = await http.get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text  # served from the installed bundle: works offline
    for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"):
        assert asset in page.text and (await http.get(asset)).status_code == 200
    schema = (await http.get("/openapi.json")).json()
    body = schema["paths"]["/complaints"]["post"]["requestBody"]["content"]["application/json"]
    assert {"phone", "email"} <= set(body["examples"])
    for action in ACTION_INPUTS:
        examples = schema["paths"][f"/complaints/{{complaint_id}}/{action}"]["post"]["requestBody"]["content"][
            "application/json"]["examples"]
        example = next(iter(examples.values()))["value"]
        ACTION_INPUTS[action].model_validate(example)  # the documented example is itself valid


async def test_health_is_503_when_the_archive_does_not_answer(api_settings: Settings, tmp_path) -> None:
    (tmp_path / "not-a-db").mkdir()
    broken = create_app(dataclasses.replace(api_settings, db_url=f"sqlite:///{tmp_path / 'not-a-db'}"))
    async with broken.router.lifespan_context(broken), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=broken), base_url="http://api") as client:
        r = await client.get("/healthz")
        assert r.status_code == 503 and r.json() == {"temporal": True, "archive": False}


async def test_a_closed_complaint_is_503_naming_the_archive_while_the_archive_is_down(
        http: httpx.AsyncClient, api_settings: Settings) -> None:
    cid = await file(http, "ARCHIVE-DOWN")
    closed = await http.post(f"/complaints/{cid}/withdraw", json={"handler": HANDLER, "reason": "settled"},
                             headers=auth("handler"))
    assert closed.status_code == 200 and closed.json()["stage"] == "closed"
    down = create_app(dataclasses.replace(api_settings, db_url=unreachable_archive()))
    async with down.router.lifespan_context(down), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://api") as client:
        r = await client.get(f"/complaints/{cid}", headers=auth("auditor"))
    assert r.status_code == 503  # its reviews are in the archive: no status that silently lacks them
    assert r.json() == {"detail": "the archive did not answer (it lists the reviews of a decided or closed complaint); try again"}


async def test_without_temporal_health_and_routes_are_503_not_500(api_settings: Settings) -> None:
    lonely = create_app(dataclasses.replace(api_settings, temporal_address=f"127.0.0.1:{free_port()}"))
    async with lonely.router.lifespan_context(lonely), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=lonely), base_url="http://api") as client:
        health = await client.get("/healthz")
        status = await client.get("/complaints/C1", headers=auth("auditor"))
        filed = await client.post("/complaints", json=intake("NOTEMPORAL"), headers=auth("channel"))
    assert health.status_code == 503 and health.json() == {"temporal": False, "archive": True}
    assert status.status_code == 503 and filed.status_code == 503
    assert "Temporal" in status.json()["detail"]


@pytest.fixture
async def impatient(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API waiting one second for a worker, with no worker of its own: tests start and stop them."""
    impatient = create_app(dataclasses.replace(api_settings, rpc_timeout=timedelta(seconds=1)))
    async with impatient.router.lifespan_context(impatient), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=impatient), base_url="http://api") as client:
        yield client


async def test_without_a_worker_reads_are_503_and_actions_202_queued(impatient: httpx.AsyncClient) -> None:
    filed = await impatient.post("/complaints", json=intake("NO-WORKER"), headers=auth("channel"))
    assert filed.status_code == 201  # accepted: the workflow waits for a worker
    cid = filed.json()["complaint_id"]
    status = await impatient.get(f"/complaints/{cid}", headers=auth("auditor"))
    action = await impatient.post(f"/complaints/{cid}/withdraw", json={"handler": "h", "reason": "r"},
                                  headers=auth("handler"))
    assert (status.status_code, action.status_code) == (503, 202)
    assert "worker" in status.json()["detail"]
    key = action.headers["Idempotency-Key"]  # none was sent: the API made one and says which
    assert action.json() == {
        "complaint_id": cid, "idempotency_key": key, "outcome": f"/complaints/{cid}/updates/{key}",
        "detail": f"queued, not yet checked or applied: no worker answered in time; its key is {key}"}
    assert action.headers["Location"] == action.json()["outcome"]


async def test_an_action_queued_while_no_worker_runs_is_applied_once_when_one_returns(
        impatient: httpx.AsyncClient, worker_on) -> None:
    async with worker_on():
        cid = await file(impatient, "AWAY-1")
        # settled in assessment: its opening published (the query answers while the task that opens
        # it still runs, and an action sent to a task its worker drops is not kept by Temporal)
        await eventually(lambda: impatient.get("/complaints?stage=assessment", headers=auth("handler")),
                         lambda r: cid in [row["complaint_id"] for row in r.json()])
    pause = {"handler": HANDLER, "reason": "forensic appraisal of the recording"}
    keyed = {**auth("handler"), "Idempotency-Key": "pause-appraisal-1"}
    queued = await impatient.post(f"/complaints/{cid}/pause", json=pause, headers=keyed)
    assert queued.status_code == 202 and queued.headers["Idempotency-Key"] == "pause-appraisal-1"
    outcome = queued.json()["outcome"]
    assert outcome == f"/complaints/{cid}/updates/pause-appraisal-1"
    pending = await impatient.get(outcome, headers=auth("handler"))
    assert pending.status_code == 202 and pending.json() == queued.json()
    async with worker_on():
        done = await eventually(lambda: impatient.get(outcome, headers=auth("handler")),
                                lambda r: r.status_code != 202, seconds=30)
        assert done.status_code == 200 and done.json()["paused"] is True
        retried = await impatient.post(f"/complaints/{cid}/pause", json=pause, headers=keyed)
        assert retried.status_code == 200 and retried.json() == done.json()  # the first outcome, not "already paused"
        status = (await impatient.get(f"/complaints/{cid}", headers=auth("handler"))).json()
    assert len(status["pauses"]) == 1 and status["paused"] is True


async def test_an_action_sent_again_with_its_key_answers_the_first_outcome_and_applies_once(
        http: httpx.AsyncClient) -> None:
    cid = await file(http, "EXTEND-TWICE")
    await eventually(lambda: http.get(f"/complaints/{cid}", headers=auth("handler")),
                     lambda r: r.json()["stage"] == "assessment")
    extend = {"handler": HANDLER, "approver": "m.chen", "approver_role": "manager", "reason": "appraisal", "days": 10}
    keyed = {**auth("handler"), "Idempotency-Key": "extend:2026-12-02.1"}
    first, again = [await http.post(f"/complaints/{cid}/extend", json=extend, headers=keyed) for _ in range(2)]
    assert (first.status_code, again.status_code) == (200, 200) and again.json() == first.json()
    assert len(first.json()["extensions"]) == 1
    polled = await http.get(f"/complaints/{cid}/updates/extend:2026-12-02.1", headers=auth("auditor"))
    assert polled.status_code == 200 and polled.json() == first.json()
    status = (await http.get(f"/complaints/{cid}", headers=auth("handler"))).json()
    assert status["deadlines"]["decision"] == first.json()["deadlines"]["decision"] and len(status["extensions"]) == 1
    bad = await http.post(f"/complaints/{cid}/extend", json=extend, headers={**auth("handler"),
                                                                              "Idempotency-Key": "no spaces/here"})
    assert fields(bad) == {"Idempotency-Key": "must be 1 to 64 letters, digits, '.', '_', ':' or '-'"}
    unknown = await http.get(f"/complaints/{cid}/updates/never-sent", headers=auth("handler"))
    assert unknown.status_code == 404 and "send the action again with this key" in unknown.json()["detail"]
    no_complaint = await http.get("/complaints/CFFFFFFFFFFFFFFF/updates/never-sent", headers=auth("handler"))
    assert no_complaint.json() == {"detail": "no complaint CFFFFFFFFFFFFFFF"}


@pytest.mark.parametrize("keys", ["k1:janitor", "justakey"])
def test_bad_key_configuration_stops_the_app_at_start(keys: str) -> None:
    from complaints.api.auth import ApiKeyError

    with pytest.raises(ApiKeyError):
        create_app(Settings(api_keys=keys))


async def test_codes_are_shown_set_refused_and_filtered_through_the_api(http: httpx.AsyncClient) -> None:
    cid = await file(http, "CODES-1")  # a web form: A proposed as online banking
    assess = {"handler": "h.zhang", "category": "service.fees", "severity": "normal"}
    refused = await http.post(f"/complaints/{cid}/assess", json={**assess, "code_b": "03"}, headers=auth("handler"))
    assert refused.status_code == 422 and "code_b: a heading, not a leaf code" in refused.text
    r = await http.post(f"/complaints/{cid}/assess", json={**assess, "code_b": "0302"}, headers=auth("handler"))
    assert r.status_code == 200, r.text
    assert (r.json()["code_a"], r.json()["code_b"], r.json()["code_c"]) == ("01031", "0302", "08")
    listed = await eventually(lambda: http.get("/complaints?code=B:0302", headers=auth("manager")),
                              lambda r: [row["complaint_id"] for row in r.json()] == [cid])
    assert sorted(listed.json()[0]["codes"]) == ["A:01031", "B:0302", "C:08"]
    assert "code" in fields(await http.get("/complaints?code=B:03' OR 1=1", headers=auth("handler")))
