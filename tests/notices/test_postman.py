"""The delivery activity's promise: a recorded success is never sent again, and a worker that
dies between sending and recording causes at most one duplicate, under the same Message-ID."""

from __future__ import annotations

import pytest
from temporalio.testing import ActivityEnvironment

from activities.delivery import Channels, Postman
from complaints.domain.models import Contact, Delivery, DeliveryOutcome
from complaints.domain.people import People
from complaints.infra.archive import Archive
from complaints.infra.settings import PROJECT_DIR
from complaints.notices.channels import Mailer
from complaints.notices.render import Templates
from tests.archive.test_archive import receipt
from tests.receivers import MailSink

ACK = Delivery(complaint_id="C1", seq=1, kind="acknowledgement", recipient="complainant",
               values={"received_at": "2026-11-02T01:30:00+00:00", "decision_due": "2026-11-17T16:00:00+00:00"},
               contact=Contact(name="Li Lei", email="li.lei@example.cn"))


class WorkerDied(Exception):
    """The process ended between the send and its record."""


@pytest.fixture
def sink():
    running = MailSink().start()
    yield running
    running.stop()


def test_a_recorded_success_is_never_sent_again(archive: Archive, sink: MailSink) -> None:
    archive.write(receipt())
    postman = Postman(Channels(mail=Mailer(sink.url, "complaints@firm.example")), Templates(), archive)
    first = ActivityEnvironment().run(postman.deliver_notice, ACK)
    again = ActivityEnvironment().run(postman.deliver_notice, ACK)  # a retry after the record, e.g. a lost completion
    assert first.status == again.status == "sent" and again.provider_id == first.provider_id
    assert len(sink.messages) == 1


def test_a_worker_dying_after_the_send_causes_one_duplicate_with_the_same_message_id(
        archive: Archive, sink: MailSink, monkeypatch: pytest.MonkeyPatch) -> None:
    archive.write(receipt())
    postman = Postman(Channels(mail=Mailer(sink.url, "complaints@firm.example")), Templates(), archive)
    record = archive.record_delivery

    def dies_once(outcome: DeliveryOutcome) -> None:
        monkeypatch.setattr(archive, "record_delivery", record)
        raise WorkerDied

    monkeypatch.setattr(archive, "record_delivery", dies_once)
    with pytest.raises(WorkerDied):
        ActivityEnvironment().run(postman.deliver_notice, ACK)
    for _ in range(3):  # Temporal's retries of the activity
        ActivityEnvironment().run(postman.deliver_notice, ACK)
    assert [m["Message-ID"] for m in sink.messages] == ["<C1-1-acknowledgement@firm.example>"] * 2


def test_a_warning_reaches_the_handlers_own_mail_and_the_team_mailbox_without_a_person(
        archive: Archive, sink: MailSink) -> None:
    archive.write(receipt())
    people = People.load(PROJECT_DIR / "deploy" / "people.demo.toml")
    postman = Postman(Channels(mail=Mailer(sink.url, "complaints@firm.example"), team_mail="team@firm.example",
                               people=people), Templates(), archive)
    values = {"deadline": "assessment", "due": "2026-11-03T16:00:00+00:00", "percent": "80%"}
    for seq, holder in ((2, "h.zhang"), (3, "unassigned")):
        warning = Delivery(complaint_id="C1", seq=seq, kind="warning", recipient=f"handler:{holder}",
                           values=values | {"handler": holder})
        assert ActivityEnvironment().run(postman.deliver_notice, warning).status == "sent"
    assert [m["To"] for m in sink.messages] == ["h.zhang@firm.example", "team@firm.example"]
