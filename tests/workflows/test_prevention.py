"""PreventionWorkflow on the time-skipping server: two runs over a generated archive keep each
alarm once and mail each alarm's notice to the managers' mailbox once, under its notice id."""

from __future__ import annotations

from collections import Counter

import pytest
from temporalio.client import Client

from activities.delivery import Channels, Postman
from complaints.infra.archive import Archive
from complaints.notices.channels import Mailer
from complaints.notices.render import Templates
from tests.archive.test_prevention import generated_archive
from tests.conftest import LETTERHEAD
from tests.receivers import MailSink
from worker import new_worker
from workflows.prevention import PreventionWorkflow


@pytest.fixture
def mail(request: pytest.FixtureRequest):
    sink = MailSink(answer=getattr(request, "param", "250 OK")).start()
    yield sink
    sink.stop()


def worker_mailing(client: Client, task_queue: str, policy, calendar, archive: Archive, mail: MailSink):
    postman = Postman(Channels(mail=Mailer(mail.url, "complaints@firm.example"), team_mail="managers@firm.example",
                               letterhead=LETTERHEAD), Templates(), archive)
    return new_worker(client, task_queue, policy, calendar, archive, postman=postman)


async def test_two_runs_keep_each_alarm_once_and_mail_it_once(client: Client, task_queue: str, policy, calendar,
                                                              archive: Archive, mail: MailSink) -> None:
    generated_archive(archive)
    async with worker_mailing(client, task_queue, policy, calendar, archive, mail):
        first = await client.execute_workflow(PreventionWorkflow.run, id=f"prevention-1-{task_queue}",
                                              task_queue=task_queue)
        second = await client.execute_workflow(PreventionWorkflow.run, id=f"prevention-2-{task_queue}",
                                               task_queue=task_queue)
    alarms = archive.alarms()
    assert first.new and sorted(first.new) == sorted(a.alarm_id for a in alarms)
    assert second.new == [] and second.deliveries == []  # all sent by the first run: nothing to send again
    [spike] = [a for a in alarms if a.subject == "collector:SPIKE" and a.kind.value == "rise"]
    sent = Counter(m["Message-ID"] for m in mail.messages)
    assert set(sent) == {f"<{a.alarm_id}-1-prevention@firm.example>" for a in alarms}
    assert set(sent.values()) == {1}
    [message] = [m for m in mail.messages if spike.alarm_id in m["Subject"]]
    assert message["To"] == "managers@firm.example"
    assert "collector:SPIKE" in message["Subject"] and "SPIKE-0-11" in message.get_content()
    assert {n["status"] for n in archive.deliveries() if n["kind"] == "prevention"} == {"sent"}


@pytest.mark.parametrize("mail", ["550 mailbox unavailable"], indirect=True)
async def test_a_notice_refused_for_good_is_kept_failed_and_the_run_completes(client: Client, task_queue: str, policy,
                                                                              calendar, archive: Archive,
                                                                              mail: MailSink) -> None:
    generated_archive(archive)
    async with worker_mailing(client, task_queue, policy, calendar, archive, mail):
        raised = await client.execute_workflow(PreventionWorkflow.run, id=f"prevention-{task_queue}",
                                               task_queue=task_queue)
    assert raised.new and mail.messages == []
    notices = [n for n in archive.deliveries() if n["kind"] == "prevention"]
    assert {n["complaint_id"] for n in notices} == set(raised.new)
    assert {(n["status"], n["last_error"]) for n in notices} == {("failed", "smtp: server answered 550")}
