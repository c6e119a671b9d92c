"""Notices really delivered: a complaint's worker sends to an SMTP server and to webhooks on
loopback, and the archive keeps what became of each notice."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta

import pytest

from activities.delivery import NOT_CONFIGURED, Channels, Postman
from complaints.desk import Desk as DeskOfTheService
from complaints.drills import Drill, Scenario
from complaints.infra.archive import Archive
from complaints.notices.channels import Mailer, Webhook
from complaints.notices.render import Templates
from tests.devserver import free_port
from tests.receivers import HttpReceiver, MailSink
from tests.conftest import LETTERHEAD
from tests.notices.test_letter import pdf_text
from tests.workflows.conftest import Desk
from tests.workflows.test_counters import buffer, counted, env  # noqa: F401 - fixtures: a runtime recording metrics
from worker import new_worker

MAIL_FROM = "complaints@firm.example"
WITH_EMAIL = {"name": "张三", "phone": "13800000000", "email": "zhang.san@example.cn", "customer_id": "CUST-1"}


class Mail:
    """The SMTP server of a test, which the test takes down and brings back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sink: MailSink | None = None
        self.messages: list = []

    def up(self) -> MailSink:
        if not self.sink:
            self.sink = MailSink(self.port).start()
            self.messages = self.sink.messages
        return self.sink

    def down(self) -> None:
        if self.sink:
            self.sink.stop()
            self.sink = None


@pytest.fixture
def mail():
    server = Mail()
    yield server
    server.down()


@pytest.fixture
def desk(env, client, task_queue, archive, team_id, worker):
    return Desk(env, client, task_queue, archive, team_id)


@pytest.fixture
def robot():
    running = HttpReceiver(reply={"errcode": 0, "errmsg": "ok"}).start()
    yield running
    running.stop()


@pytest.fixture
async def worker(client, task_queue, policy, calendar, archive, team_id, mail, robot):
    """The test's worker, mailing to the test's SMTP server (up or not, as the test decides)."""
    channels = Channels(mail=Mailer(f"smtp://127.0.0.1:{mail.port}", MAIL_FROM),
                        emergency=Webhook(robot.url, "emergency webhook"), team_mail="team@firm.example",
                        web_ui_url="http://ui.firm.example", letterhead=LETTERHEAD)
    postman = Postman(channels, Templates(), archive)
    async with new_worker(client, task_queue, policy, calendar, archive, team_id, postman=postman) as running:
        yield running


async def state(archive: Archive, cid: str, kind: str, until, timeout: float = 10) -> dict:
    """The notice's delivery state once `until` holds (bounded)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = next((n for n in archive.deliveries() if n["complaint_id"] == cid and n["kind"] == kind), None)
        if found and until(found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{kind} of {cid}: {found}")
        await asyncio.sleep(0.05)


async def test_the_acknowledgement_arrives_once_in_chinese_under_the_notice_id(desk, archive, mail, buffer) -> None:
    mail.up()
    handle = await desk.file(complainant=WITH_EMAIL)
    cid = (await handle.query("status"))["complaint_id"]
    sent = await state(archive, cid, "acknowledgement", lambda n: n["status"] == "sent")
    await desk.steps(handle, 1)
    await desk.close_all()
    [ack] = [m for m in mail.messages if m["To"] == "zhang.san@example.cn"]
    assert ack["Message-ID"] == f"<{cid}-1-acknowledgement@firm.example>" == sent["provider_id"]
    assert ack["Subject"] == f"投诉受理通知（{cid}）"
    assert "张三，您好" in ack.get_content() and "年" in ack.get_content()
    assert (sent["channel"], sent["attempts"], sent["last_error"]) == ("email", 1, None)
    assert counted(buffer)[("complaints_deliveries_sent", (("activity_type", "deliver_notice"), ("channel", "email")))] == 1


async def test_smtp_down_then_back_delivers_once_and_counts_the_attempts(desk, archive, mail) -> None:
    handle = await desk.file(complainant=WITH_EMAIL)
    cid = (await handle.query("status"))["complaint_id"]
    down = await state(archive, cid, "acknowledgement", lambda n: n["attempts"] >= 2)
    assert down["status"] == "pending" and down["last_error"].startswith("smtp: ")
    assert "zhang.san" not in down["last_error"]
    mail.up()
    await desk.sleep(timedelta(minutes=15))  # past the next retry's backoff
    sent = await state(archive, cid, "acknowledgement", lambda n: n["status"] == "sent")
    await desk.close_all()
    assert sent["attempts"] > down["attempts"] and sent["last_error"] is None
    assert [m["Message-ID"] for m in mail.messages] == [f"<{cid}-1-acknowledgement@firm.example>"]


async def test_a_notice_undelivered_for_a_day_fails_and_goes_to_the_manager(desk, archive, mail, robot) -> None:
    handle = await desk.file(complainant=WITH_EMAIL)
    cid = (await handle.query("status"))["complaint_id"]
    await desk.sleep(timedelta(hours=25))
    status = await desk.until(handle, lambda s: any(e["source"] == "undelivered" for e in s["escalations"]))
    [escalation, *_] = [e for e in status["escalations"] if e["source"] == "undelivered"]
    assert escalation["reason"].startswith("acknowledgement notice (record 1) undelivered: smtp: ")
    assert not any(b"undelivered" in body for _, body in robot.requests), "the manager's, not the emergency team's"
    failed = await state(archive, cid, "acknowledgement", lambda n: n["status"] == "failed")
    assert failed["attempts"] > 1 and failed["last_error"].startswith("smtp: ")
    assert any(n["kind"] == "undelivered" and n["recipient"] == "manager" for n in archive.deliveries())
    mail.up()  # the manager's own notice goes out once mail is back
    await desk.sleep(timedelta(minutes=15))
    await state(archive, cid, "undelivered", lambda n: n["status"] == "sent")
    assert any(m["Message-ID"].endswith("-undelivered@firm.example>") for m in mail.messages)


async def test_an_unconfigured_channel_leaves_the_notice_pending_with_the_reason(desk, archive) -> None:
    handle = await desk.file()  # a phone number only: the SMS webhook, which this worker lacks
    cid = (await handle.query("status"))["complaint_id"]
    pending = await state(archive, cid, "acknowledgement", lambda n: n["last_error"] is not None)
    assert (pending["status"], pending["channel"], pending["last_error"]) == ("pending", "sms", NOT_CONFIGURED)


async def test_the_emergency_team_gets_a_markdown_alert_without_personal_data(desk, archive, robot) -> None:
    handle = await desk.file(content="催收员威胁要伤害我的家人。", complainant=WITH_EMAIL)
    status = await handle.query("status")
    cid = status["complaint_id"]
    await desk.act(handle, "assess", {"handler": "h.wang", "category": "collection.abusive", "severity": "urgent"})
    await state(archive, cid, "emergency", lambda n: n["status"] == "sent")
    [(headers, body)] = robot.requests
    message = json.loads(body)
    assert message["msgtype"] == "markdown" and headers["Idempotency-Key"].startswith(f"{cid}-")
    content = message["markdown"]["content"]
    assert cid in content and "collection.abusive" in content and "urgent" in content
    assert f"http://ui.firm.example/namespaces/default/workflows/complaint-{cid}" in content
    for personal in ("张三", "13800000000", "zhang.san", "催收员威胁"):
        assert personal not in body.decode()


async def test_the_decision_deadline_is_met_when_the_letter_is_sent_not_when_typed(desk, archive, mail) -> None:
    handle = await desk.file(complainant=WITH_EMAIL)  # mail is down
    cid = (await handle.query("status"))["complaint_id"]
    typed = await desk.steps(handle, 5)  # through record_feedback: the decision typed
    assert typed["stage"] == "revisit" and "decision" not in typed["met"]
    pending = await state(archive, cid, "decision", lambda n: n["attempts"] >= 1)
    assert pending["status"] == "pending" and pending["last_error"].startswith("smtp: ")
    assert "decision" not in (await handle.query("status"))["met"], "the clock keeps running while it is not sent"

    mail.up()
    await desk.sleep(timedelta(minutes=15))
    status = await desk.until(handle, lambda s: "decision" in s["met"])
    sent = await state(archive, cid, "decision", lambda n: n["status"] == "sent")
    [letter] = [m for m in mail.messages if m["Message-ID"] == f"<{cid}-{sent['seq']}-decision@firm.example>"]
    [pdf] = [part.get_content() for part in letter.iter_attachments()]
    kept = archive.letter(cid, sent["seq"])
    assert kept["sha256"] == hashlib.sha256(pdf).hexdigest() and kept["pdf"] == pdf and not kept["postal"]
    assert cid in pdf_text(pdf) and LETTERHEAD["firm_name"] in pdf_text(pdf)
    assert status["met"]["decision"] > typed["met"]["execution"]


async def test_a_letter_complaints_decision_is_kept_for_posting_and_meets_the_deadline(desk, archive) -> None:
    handle = await desk.file(channel="letter")
    cid = (await handle.query("status"))["complaint_id"]
    await desk.steps(handle, 5)
    await desk.until(handle, lambda s: "decision" in s["met"])
    sent = await state(archive, cid, "decision", lambda n: n["status"] == "sent")
    kept = archive.letter(cid, sent["seq"])
    assert sent["channel"] == "post" and kept["postal"] and sent["provider_id"] == f"post:sha256:{kept['sha256']}"
    assert "张三" in kept["text"] and "12378" in kept["text"]


async def test_a_drill_alerts_the_team_as_a_drill_and_never_writes_to_its_complainant(
        client, task_queue, archive, team_id, worker, mail, robot) -> None:
    mail.up()
    desk = DeskOfTheService(client, archive, task_queue, team_id)
    drill = await Drill.start(desk, Scenario.urgent)
    [cid] = drill.complaint_ids
    await state(archive, cid, "emergency", lambda n: n["status"] == "sent")
    await desk.acknowledge(cid, "lead-li")
    await drill.watch(timedelta(minutes=1), poll=0.05)
    await state(archive, cid, "lead_assigned", lambda n: n["status"] == "sent")  # the handlers told, by mail
    await drill.end()
    report = await drill.report()

    assert [json.loads(body)["markdown"]["title"] for _, body in robot.requests] == [f"【演练】投诉升级：{cid}"]
    assert [m["To"] for m in mail.messages] == ["team@firm.example"]  # the lead named, to the handlers' mailbox
    [row] = report["complaints"]
    assert {(n["kind"], n["recipient"], n["status"]) for n in row["notices"]} == {
        ("acknowledgement", "complainant", "suppressed"), ("emergency", "emergency-team", "sent"),
        ("lead_assigned", "handler:unassigned", "sent")}
    assert report["summary"]["passed"] is True
