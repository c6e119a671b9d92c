"""Fault: the worker process is SIGKILLed while it is sending a complaint's acknowledgement."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bench.shape import intake_body
from complaints.domain.models import Intake
from complaints.infra.archive import Archive
from complaints.intake import file_complaint
from tests.faults.support import eventually
from tests.conftest import TEST_KEYS
from tests.receivers import MailSink

pytestmark = pytest.mark.faults


class HoldingSink(MailSink):
    """Keeps the first message it is given but holds back its answer until released, so the
    sender is mid-delivery, its message already with the server, when the test kills it."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        answer = await super().handle_DATA(server, session, envelope)
        while len(self.messages) == 1 and not self.release.is_set():
            await asyncio.sleep(0.05)
        return answer


async def test_a_worker_killed_mid_delivery_sends_at_most_one_duplicate_under_the_same_message_id(
    fclient, archive_url, archive_engine, workers, task_queue
):
    sink = HoldingSink().start()
    mail = {"COMPLAINTS_SMTP_URL": sink.url, "COMPLAINTS_MAIL_FROM": "complaints@firm.example",
            "COMPLAINTS_FIRM_NAME": "Example Consumer Finance Co."}
    try:
        first = workers(archive_url, **mail)
        body = intake_body("kill-mid-mail")
        body["complainant"]["email"] = "li.wei@example.cn"
        filed = await file_complaint(fclient, task_queue, Intake.model_validate(body),
                                     Archive(archive_engine, TEST_KEYS))
        await eventually(lambda: asyncio.sleep(0, len(sink.messages) == 1), 60, 0.1)
        first.kill()  # the message is with the server; its answer, and so the worker's record of it, is not
        sink.release.set()

        workers(archive_url, **mail)
        archive = Archive(archive_engine, TEST_KEYS)

        async def sent() -> dict | None:
            return next((n for n in archive.deliveries() if n["complaint_id"] == filed.complaint_id
                         and n["kind"] == "acknowledgement" and n["status"] == "sent"), None)

        record = await eventually(sent, 120)
        await asyncio.sleep(2)  # nothing more may arrive once the send is recorded
        ids = [m["Message-ID"] for m in sink.messages]
        assert 1 <= len(ids) <= 2 and set(ids) == {f"<{filed.complaint_id}-1-acknowledgement@firm.example>"}, ids
        assert record["provider_id"] == ids[0] and record["attempts"] == len(ids)
    finally:
        sink.release.set()
        sink.stop()
