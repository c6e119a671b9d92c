"""Retention: past-period complaints lose their personal data and evidence, held and recent ones keep them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from temporalio.client import Client

from activities.retention import Eraser
from complaints.casefile import CaseDesk
from complaints.domain.models import Record, Stage
from complaints.domain.policy import Policy, PolicyError, Retention
from complaints.domain.workdays import WorkingCalendar
from complaints.infra.archive import ERASED, Archive
from complaints.infra.evidence import Folder
from worker import new_worker
from workflows.retention import RetentionWorkflow

from .test_evidence import EMAIL, RECORDING
from .test_sealed_archive import NAME, PHONE, file, intake, stored

FIVE_YEARS = Policy(retention=Retention.parse("5y"))


def closed(archive: Archive, complaint_id: str, years_ago: float) -> None:
    at = datetime.now(timezone.utc) - timedelta(days=365.25 * years_ago)
    archive.write(Record(complaint_id=complaint_id, seq=2, at=at, actor="h", kind="action", action="summarize",
                         stage=Stage.closed, facts={"stage": "closed", "outcome": "resolved", "closed_at": at}))


def test_the_retention_key_reads_years_or_days_and_names_itself_when_wrong() -> None:
    now = datetime(2031, 6, 30, tzinfo=timezone.utc)
    assert Policy.from_mapping({"retention": "5y"}).retention.closed_before(now) == datetime(2026, 6, 30,
                                                                                           tzinfo=timezone.utc)
    assert Policy.from_mapping({"retention": "30d"}).retention.closed_before(now) == now - timedelta(days=30)
    assert Policy.from_mapping({}).retention is None
    with pytest.raises(PolicyError, match="retention: '5 years' is not a period"):
        Policy.from_mapping({"retention": "5 years"})


async def test_only_past_period_complaints_are_erased_and_a_held_one_survives(any_archive: Archive,
                                                                               tmp_path: Path) -> None:
    archive, folder = any_archive, Folder(tmp_path / "evidence")
    cases = CaseDesk(archive, folder)
    for complaint_id in ("OLD", "HELD", "RECENT", "OPEN"):
        file(archive, complaint_id, phone=PHONE)
    [own] = await cases.attach("OLD", [("call.wav", RECORDING)], "h")
    [shared] = await cases.attach("OLD", [("mail.eml", EMAIL)], "h")
    await cases.attach("RECENT", [("mail.eml", EMAIL)], "h")
    closed(archive, "OLD", 6)
    closed(archive, "HELD", 6)
    closed(archive, "RECENT", 1)
    archive.hold("HELD", "m.wang", "litigation pending", datetime.now(timezone.utc))

    assert Eraser(archive, folder, FIVE_YEARS).erase_expired() == 1
    old = archive.complaint("OLD")
    assert (old["content"], old["complainant_name"], old["complainant_phone"]) == (ERASED, ERASED, None)
    assert all(v is None or v.startswith("sealed:") for v in stored(archive, "OLD").values())
    assert (old["category"], old["outcome"], old["stage"]) == ("collection.third_party", "resolved", "closed")
    assert [e["seq"] for e in archive.audit_trail("OLD")] == [1, 2]  # the audit skeleton stays
    assert folder.get(own.sha256) is None and folder.get(shared.sha256) is not None  # RECENT still needs it
    for kept in ("HELD", "RECENT", "OPEN"):
        assert archive.complaint(kept)["complainant_name"] == NAME
    assert archive.open_complaint_of("NEW", intake(phone=PHONE)) == "OPEN"  # the erased one is no longer found

    assert Eraser(archive, folder, FIVE_YEARS).erase_expired() == 0  # each erasure once
    archive.release("HELD")
    assert Eraser(archive, folder, FIVE_YEARS).erase_expired() == 1
    assert Eraser(archive, folder, Policy()).erase_expired() == 0  # no retention key: nothing erased


async def test_the_retention_workflow_erases_through_its_activity(client: Client, task_queue: str,
                                                                 archive: Archive, tmp_path: Path) -> None:
    file(archive, "OLD", phone=PHONE)
    closed(archive, "OLD", 6)
    async with new_worker(client, task_queue, FIVE_YEARS, WorkingCalendar(), archive,
                          evidence=Folder(tmp_path / "evidence")):
        erased = await client.execute_workflow(RetentionWorkflow.run, id=f"retention-{task_queue}",
                                               task_queue=task_queue)
    assert erased == 1 and archive.complaint("OLD")["content"] == ERASED
