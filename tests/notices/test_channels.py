"""The channels against real receivers on loopback: SMTP (aiosmtpd) and HTTP."""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path

import pytest

from complaints.notices.channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Mailer,
    SendFailed,
    Webhook,
    message_id,
    verify,
)
from tests.devserver import free_port
from tests.receivers import HttpReceiver, MailSink, self_signed


@pytest.fixture
def sink():
    running = MailSink().start()
    yield running
    running.stop()


@pytest.fixture
def receiver():
    running = HttpReceiver().start()
    yield running
    running.stop()


def test_mail_carries_the_notice_id_as_its_message_id(sink: MailSink) -> None:
    mailer = Mailer(sink.url, "complaints@firm.example")
    sent = mailer.send("li.hua@example.cn", "投诉受理通知", "您好：已收到。", "C1-1-acknowledgement")
    assert sent == message_id("C1-1-acknowledgement", "complaints@firm.example") == "<C1-1-acknowledgement@firm.example>"
    [msg] = sink.messages
    assert msg["Message-ID"] == sent and msg["Subject"] == "投诉受理通知"
    assert msg.get_content().strip() == "您好：已收到。"


def test_a_server_without_starttls_is_refused_when_tls_is_required(sink: MailSink) -> None:
    with pytest.raises(SendFailed, match="offers no STARTTLS and TLS is required"):
        Mailer(sink.url, "complaints@firm.example", require_tls=True).send("a@example.cn", "s", "b", "C1-1-x")
    assert sink.messages == []


@pytest.fixture
def server_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A TLS context for a loopback server whose certificate the client trusts."""
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_starttls_when_offered_satisfies_required_tls(server_tls: ssl.SSLContext) -> None:
    sink = MailSink(tls=server_tls).start()  # plain mail refused until STARTTLS
    try:
        Mailer(sink.url, "complaints@firm.example", require_tls=True).send("a@example.cn", "主题", "正文", "C1-1-x")
    finally:
        sink.stop()
    assert [m["Message-ID"] for m in sink.messages] == ["<C1-1-x@firm.example>"]


def test_smtps_is_tls_from_the_first_byte(server_tls: ssl.SSLContext) -> None:
    sink = MailSink(tls=server_tls, implicit_tls=True).start()
    try:
        Mailer(sink.url, "complaints@firm.example").send("a@example.cn", "主题", "正文", "C1-1-x")
    finally:
        sink.stop()
    assert len(sink.messages) == 1


def test_a_server_that_is_down_is_a_failure_worth_retrying() -> None:
    with pytest.raises(SendFailed) as failed:
        Mailer(f"smtp://127.0.0.1:{free_port()}", "complaints@firm.example").send("a@example.cn", "s", "b", "C1-1-x")
    assert not failed.value.permanent and "a@example.cn" not in str(failed.value)


def test_a_rejected_message_is_permanent_and_names_no_address() -> None:
    sink = MailSink(answer="554 rejected").start()
    try:
        with pytest.raises(SendFailed) as failed:
            Mailer(sink.url, "complaints@firm.example").send("a@example.cn", "s", "b", "C1-1-x")
    finally:
        sink.stop()
    assert failed.value.permanent and str(failed.value) == "smtp: server answered 554"


def test_a_bad_smtp_url_is_named() -> None:
    with pytest.raises(ValueError, match="COMPLAINTS_SMTP_URL"):
        Mailer("http://mail.example", "complaints@firm.example")


def test_the_webhook_signature_verifies_and_a_tampered_body_fails(receiver: HttpReceiver) -> None:
    hook = Webhook(receiver.url, "sms webhook", secret="s3cret")
    assert hook.post({"to": "13800000000", "text": "您好"}, "C1-1-acknowledgement") == "provider-1"
    [(headers, body)] = receiver.requests
    assert headers["Idempotency-Key"] == "C1-1-acknowledgement"
    stamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert verify("s3cret", stamp, body, signature, now=time.time())
    assert json.loads(body) == {"to": "13800000000", "text": "您好"}
    tampered = body.replace("13800000000".encode(), b"13900000000")
    assert not verify("s3cret", stamp, tampered, signature, now=time.time())
    assert not verify("other", stamp, body, signature, now=time.time())
    assert not verify("s3cret", stamp, body, signature, now=time.time() + 3600), "a replay an hour later"


def test_a_receiver_error_is_retried_and_a_refusal_is_not() -> None:
    for status, permanent in ((503, False), (429, False), (400, True)):
        receiver = HttpReceiver(status=status).start()
        try:
            with pytest.raises(SendFailed) as failed:
                Webhook(receiver.url, "sms webhook").post({"text": "x"}, "C1-1-x")
        finally:
            receiver.stop()
        assert failed.value.permanent is permanent and str(failed.value) == f"sms webhook: receiver answered {status}"


def test_a_robot_that_answers_an_errcode_has_not_delivered() -> None:
    receiver = HttpReceiver(reply={"errcode": 93000, "errmsg": "invalid webhook url"}).start()
    try:
        with pytest.raises(SendFailed, match="errcode 93000"):
            Webhook(receiver.url, "emergency webhook").post({"msgtype": "markdown"}, "C1-2-emergency")
    finally:
        receiver.stop()
