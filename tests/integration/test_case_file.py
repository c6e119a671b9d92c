"""The case file: who may read a complaint's personal data, and every read recorded beside the changes."""

from __future__ import annotations

import asyncio
import getpass
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from temporalio.client import Client

from complaints.infra.archive import Archive
from complaints.infra.evidence import MAX_BYTES
from complaints.infra.schema import legal_holds
from complaints.infra.settings import Settings
from complaints.domain.policy import Policy
from complaints.infra.temporal import PREVENTION_SCHEDULE, RETENTION_EVERY, RETENTION_SCHEDULE, ensure_schedules
from tests.integration.apihelp import KEYS, api_settings, app, auth, eventually, http, intake  # noqa: F401

COMPLAINTS = str(Path(sys.executable).parent / "complaints")


async def received(http: httpx.AsyncClient, archive: Archive, ref: str, **changes: object) -> str:  # noqa: F811
    body = intake(ref, requested_remedy="Refund the second fee", **changes)
    cid = (await http.post("/complaints", json=body, headers=auth("channel"))).json()["complaint_id"]
    await eventually(lambda: asyncio.to_thread(archive.complaint, cid), lambda row: row is not None)
    return cid


async def test_handlers_managers_and_auditors_read_the_case_and_each_read_is_recorded(
        http: httpx.AsyncClient, archive: Archive) -> None:  # noqa: F811
    cid = await received(http, archive, "CASE-1", respondent={"kind": "agency", "id": "AG-7", "name": "Swift Recovery"})
    answer = await http.get(f"/complaints/{cid}/case", headers=auth("handler"))
    assert answer.status_code == 200, answer.text
    case = answer.json()
    assert (case["subject"], case["content"], case["requested_remedy"]) == (
        "Fee charged twice", "The annual fee was charged twice on my card this month.", "Refund the second fee")
    assert case["complainant"] == {"name": "Test Person", "phone": "13800000000", "email": None, "id_number": None,
                                   "customer_id": None, "locale": "zh-CN"}
    assert case["respondent"] == {"kind": "agency", "id": "AG-7", "name": "Swift Recovery"}
    assert case["history"][0]["kind"] == "received" and case["history"][0]["stage"] == "receipt"

    for role in ("manager", "auditor"):
        assert (await http.get(f"/complaints/{cid}/case", headers=auth(role))).status_code == 200
    for role in ("channel", "emergency"):
        assert (await http.get(f"/complaints/{cid}/case", headers=auth(role))).status_code == 403
    assert (await http.get("/complaints/NO-SUCH/case", headers=auth("handler"))).status_code == 404

    reads = archive.reads(cid)
    assert [r["reader"].partition(":")[0] for r in reads] == ["handler", "manager", "auditor"]
    assert all(r["route"] == "GET /complaints/{id}/case" and KEYS["handler"] not in r["reader"] for r in reads)
    assert reads[0]["reader"] != reads[1]["reader"]


async def test_show_reads_the_case_and_audit_lists_that_read_beside_the_changes(
        http: httpx.AsyncClient, archive: Archive, api_settings: Settings) -> None:  # noqa: F811
    cid = await received(http, archive, "CASE-2")
    env = {**os.environ, "COMPLAINTS_DB_URL": api_settings.db_url, "COMPLAINTS_CODEC_KEYS": api_settings.codec_keys,
           "TEMPORAL_ADDRESS": "127.0.0.1:1", "COLUMNS": "200"}  # the archive alone: no Temporal needed

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([COMPLAINTS, *args], env=env, capture_output=True, text=True, timeout=60)

    shown = await asyncio.to_thread(run, "show", cid)
    assert shown.returncode == 0, shown.stderr
    assert "Test Person" in shown.stdout and "charged twice on my card" in shown.stdout
    assert "13800000000" in shown.stdout and "Refund the second fee" in shown.stdout

    trail = await asyncio.to_thread(run, "audit", cid)
    assert trail.returncode == 0, trail.stderr
    lines = trail.stdout.splitlines()
    changes = [n for n, line in enumerate(lines) if "received" in line]
    reads = [n for n, line in enumerate(lines) if f"cli:{getpass.getuser()}" in line and "complaints show" in line]
    assert changes and reads and changes[0] < reads[0], trail.stdout
    assert "Test Person" not in trail.stdout  # the trail says who read, not what

    missing = await asyncio.to_thread(run, "show", "NO-SUCH")
    assert missing.returncode == 3 and "not found" in missing.stderr


PDF = b"%PDF-1.4\n" + "合同第七条：逾期罚息".encode() * 1000 + b"\n%%EOF"


async def test_evidence_uploaded_comes_back_byte_identical_with_its_name_and_type(
        http: httpx.AsyncClient, archive: Archive, api_settings: Settings) -> None:  # noqa: F811
    cid = await received(http, archive, "CASE-3")
    sent = await http.post(f"/complaints/{cid}/evidence", headers=auth("handler"),
                           files=[("files", ("合同 scan.pdf", PDF, "image/png"))])  # the declared type is ignored
    assert sent.status_code == 201, sent.text
    [ref] = sent.json()
    assert ref["media_type"] == "application/pdf" and ref["size"] == len(PDF)

    got = await http.get(f"/complaints/{cid}/evidence/{ref['sha256']}", headers=auth("auditor"))
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%E5%90%88%E5%90%8C%20scan.pdf" in got.headers["content-disposition"]
    assert (await http.get(f"/complaints/{cid}/evidence/{ref['sha256']}", headers=auth("channel"))).status_code == 403
    assert (await http.get(f"/complaints/{cid}/evidence/{'0' * 64}", headers=auth("handler"))).status_code == 404
    assert [r["route"] for r in archive.reads(cid)] == ["GET /complaints/{id}/evidence/{sha256}"]

    case = (await http.get(f"/complaints/{cid}/case", headers=auth("handler"))).json()
    assert case["evidence"] == [{"name": "合同 scan.pdf", "sha256": ref["sha256"], "size": len(PDF),
                                 "media_type": "application/pdf"}]
    on_disk = b"".join(p.read_bytes() for p in api_settings.evidence_dir.rglob("*") if p.is_file())
    assert "逾期罚息".encode() not in on_disk and len(on_disk) > len(PDF)


async def test_a_51_mb_upload_and_a_disguised_executable_are_refused_with_a_reason(
        http: httpx.AsyncClient, archive: Archive, api_settings: Settings) -> None:  # noqa: F811
    cid = await received(http, archive, "CASE-4")
    large = await http.post(f"/complaints/{cid}/evidence", headers=auth("handler"),
                            files=[("files", ("call.mp3", b"ID3" + bytes(51 * 1024 * 1024), "audio/mpeg"))])
    assert large.status_code == 413 and f"each evidence file may have {MAX_BYTES}" in large.json()["detail"]
    disguised = await http.post(f"/complaints/{cid}/evidence", headers=auth("handler"),
                                files=[("files", ("statement.pdf", b"MZ\x90\x00" + bytes(4096), "application/pdf"))])
    assert disguised.status_code == 415
    assert disguised.json()["detail"].startswith("statement.pdf: an executable")
    assert archive.evidence(cid) == [] and not any(p.is_file() for p in api_settings.evidence_dir.rglob("*"))


async def test_attach_keeps_files_from_the_command_line(
        http: httpx.AsyncClient, archive: Archive, api_settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    cid = await received(http, archive, "CASE-5")
    (tmp_path / "letter.pdf").write_bytes(PDF)
    env = {**os.environ, "COMPLAINTS_DB_URL": api_settings.db_url, "COMPLAINTS_CODEC_KEYS": api_settings.codec_keys,
           "COMPLAINTS_EVIDENCE_DIR": str(api_settings.evidence_dir)}
    done = await asyncio.to_thread(subprocess.run, [COMPLAINTS, "attach", cid, str(tmp_path / "letter.pdf")],
                                   env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [kept] = archive.evidence(cid)
    assert done.stdout.split() == [kept["sha256"]] and kept["attached_by"] == f"cli:{getpass.getuser()}"


async def test_a_manager_puts_a_complaint_under_legal_hold_and_releases_it(
        http: httpx.AsyncClient, archive: Archive) -> None:  # noqa: F811
    cid = await received(http, archive, "CASE-6")
    hold = {"held": True, "by": "m.wang", "reason": "litigation pending"}
    assert (await http.post(f"/complaints/{cid}/legal-hold", json=hold, headers=auth("handler"))).status_code == 403
    assert (await http.post(f"/complaints/{cid}/legal-hold", json=hold, headers=auth("manager"))).status_code == 200
    assert held(archive) == [(cid, "m.wang", "litigation pending")]
    released = await http.post(f"/complaints/{cid}/legal-hold", json={"held": False, "by": "m.wang"},
                               headers=auth("manager"))
    assert released.status_code == 200 and held(archive) == []
    assert (await http.post("/complaints/NO-SUCH/legal-hold", json=hold, headers=auth("manager"))).status_code == 404


def held(archive: Archive) -> list[tuple[str, str, str]]:
    with archive.engine.connect() as db:
        return [tuple(r) for r in db.execute(select(legal_holds.c.complaint_id, legal_holds.c.held_by,
                                                    legal_holds.c.reason))]


async def test_setup_creates_the_retention_and_prevention_schedules_once(dev_client: Client, task_queue: str,
                                                                        dev_worker) -> None:
    """Each schedule once; the prevention schedule's run, triggered, is a PreventionWorkflow this worker completes."""
    policy = Policy.from_mapping({"prevention_every": "12h"})
    try:
        assert await ensure_schedules(dev_client, task_queue, policy) == {RETENTION_SCHEDULE: True,
                                                                          PREVENTION_SCHEDULE: True}
        assert await ensure_schedules(dev_client, task_queue, policy) == {RETENTION_SCHEDULE: False,
                                                                          PREVENTION_SCHEDULE: False}
        retention = await dev_client.get_schedule_handle(RETENTION_SCHEDULE).describe()
        assert retention.schedule.action.workflow == "RetentionWorkflow"
        assert retention.schedule.spec.intervals[0].every == RETENTION_EVERY
        prevention = await dev_client.get_schedule_handle(PREVENTION_SCHEDULE).describe()
        assert prevention.schedule.action.workflow == "PreventionWorkflow"
        assert prevention.schedule.spec.intervals[0].every == timedelta(hours=12)
        await dev_client.get_schedule_handle(PREVENTION_SCHEDULE).trigger()
        for _ in range(100):
            if actions := (await dev_client.get_schedule_handle(PREVENTION_SCHEDULE).describe()).info.recent_actions:
                break
            await asyncio.sleep(0.1)
        run = await dev_client.get_workflow_handle(actions[0].action.workflow_id).result()
        assert run["new"] == [] and run["deliveries"] == []  # an empty archive: nothing to raise
    finally:
        for name in (RETENTION_SCHEDULE, PREVENTION_SCHEDULE):
            await dev_client.get_schedule_handle(name).delete()
