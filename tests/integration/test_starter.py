"""starter.py: one complaint from options or a file, batches from JSONL and CSV, e-mail and Maildir."""

from __future__ import annotations

import asyncio
import csv
import json
import mailbox
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

import starter
from complaints.casefile import CaseDesk
from complaints.desk import Desk, Filters, desk_for
from complaints.infra.evidence import Folder
from complaints.infra.settings import Settings
from tests.integration.apihelp import api_settings, eventually, intake  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
BAD_PHONE = "12-not-a-phone-34"


@pytest.fixture
def env(api_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"TEMPORAL_ADDRESS": api_settings.temporal_address, "COMPLAINTS_TASK_QUEUE": api_settings.task_queue,
              "COMPLAINTS_DB_URL": api_settings.db_url, "COMPLAINTS_CODEC_KEYS": api_settings.codec_keys or "",
              "COMPLAINTS_EVIDENCE_DIR": str(api_settings.evidence_dir)}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return {**os.environ, **values}


@pytest.fixture
def desk(api_settings: Settings, dev_client, dev_worker) -> Desk:
    return desk_for(api_settings, dev_client)


async def start(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    """Run starter.main in a thread (it runs its own event loop); exit code, stdout lines, stderr."""
    code = await asyncio.to_thread(starter.main, list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out.strip().splitlines(), err


def rejects_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


async def archived(archive, complaint_id: str) -> dict:
    """The complaint's archive row, once the worker has written it."""
    return await eventually(lambda: asyncio.to_thread(archive.complaint, complaint_id), lambda r: r is not None)


async def listed(desk: Desk, count: int) -> list[str]:
    rows = await eventually(lambda: desk.list(Filters()), lambda rows: len(rows) >= count)
    return sorted(r.complaint_id for r in rows)


async def test_jsonl_batch_files_good_rows_once_and_explains_bad_ones(desk, env, capsys, tmp_path: Path) -> None:
    batch = tmp_path / "calls.jsonl"
    lines = [json.dumps(intake("CALL-7")), json.dumps(intake(content="Second complaint.")), "",
             "{this is not json", json.dumps(intake(complainant={"name": "Test Person", "phone": BAD_PHONE})),
             json.dumps(intake(content="Third complaint.", channel="sms")), json.dumps({"channel": "phone"}), "[1, 2]"]
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, _ = await start(capsys, "--batch", str(batch))
    assert code == 1
    assert out[-1] == f"started 3, already existing 0, rejected 4 (why: {batch}.rejects.csv)"
    rejects = rejects_of(Path(f"{batch}.rejects.csv"))
    assert [(r["row"], r["field"]) for r in rejects] == [
        ("4", "body"), ("5", "complainant.phone"), ("7", "content"), ("7", "complainant"), ("8", "body")]
    assert BAD_PHONE not in Path(f"{batch}.rejects.csv").read_text()  # reasons, never the data
    first = await listed(desk, 3)
    code, out, _ = await start(capsys, "--batch", str(batch))
    assert out[-1].startswith("started 0, already existing 3, rejected 4")  # rows without a reference too
    assert await listed(desk, 3) == first


async def test_a_batch_row_pointing_at_files_keeps_their_contents(desk, env, capsys, tmp_path: Path, archive,
                                                                  api_settings: Settings) -> None:
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans" / "letter.pdf").write_bytes(b"%PDF-1.4 the agency's letter")
    batch = tmp_path / "calls.jsonl"
    batch.write_text(json.dumps(intake("CALL-9", evidence=["scans/letter.pdf", "call recording 3"])) + "\n",
                     encoding="utf-8")
    code, out, _ = await start(capsys, "--batch", str(batch))
    assert code == 0 and out[-1] == "started 1, already existing 0, rejected 0"
    (cid,) = await listed(desk, 1)
    assert (await archived(archive, cid))["evidence"] == ["letter.pdf", "call recording 3"]
    [kept] = archive.evidence(cid)
    _, data = await CaseDesk(archive, Folder(api_settings.evidence_dir)).download(cid, kept["sha256"], "a", "t")
    assert data == b"%PDF-1.4 the agency's letter"


async def test_csv_batch_maps_columns_into_the_intake_body(desk, env, capsys, tmp_path: Path, archive) -> None:
    batch = tmp_path / "letters.csv"
    header = ["channel", "external_ref", "content", "name", "phone", "email", "evidence", "respondent_kind",
              "respondent_id"]
    rows = [
        ["letter", "L-1", "Agency called my mother.\nTwice, at night.", "Test Person", "13800000000", "",
         "scan-1.pdf; scan-2.pdf", "agency", "AG-9"],
        ["pigeon", "L-2", "Bad channel.", "Test Person", "13800000000", "", "", "", ""],
        ["letter", "L-3", "Bad e-mail.", "Test Person", "", "not-an-address", "", "", ""],
        ["letter", "L-4", "Too many cells.", "Test Person", "13800000000", "", "", "", "", "extra"],
    ]
    with batch.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    code, out, _ = await start(capsys, "--batch", str(batch), "--rejects", str(tmp_path / "why.csv"))
    assert code == 1 and out[-1].startswith("started 1, already existing 0, rejected 3")
    assert [(r["row"], r["field"]) for r in rejects_of(tmp_path / "why.csv")] == [
        ("2", "channel"), ("3", "complainant.email"), ("4", "row")]
    (cid,) = await listed(desk, 1)
    row = await archived(archive, cid)
    assert row["evidence"] == ["scan-1.pdf", "scan-2.pdf"] and row["respondent_id"] == "AG-9"
    assert row["channel"] == "letter" and row["external_ref"] == "L-1"
    assert row["content"] == "Agency called my mother.\nTwice, at night."  # a quoted cell may hold lines


async def test_unusable_input_is_exit_2_with_a_clear_message(env, capsys, tmp_path: Path) -> None:
    bad_header = tmp_path / "x.csv"
    bad_header.write_text("channel,colour\nphone,blue\n", encoding="utf-8")
    bad_body = tmp_path / "one.json"
    bad_body.write_text(json.dumps(intake(complainant={"name": "Test Person", "phone": BAD_PHONE})), encoding="utf-8")
    cases = [(["--batch", str(bad_header)], "unknown column colour"),
             (["--batch", str(tmp_path / "calls.txt")], "a batch is a .jsonl or .csv file"),
             (["--file", str(tmp_path / "missing.json")], "cannot read"),
             (["--file", str(bad_body)], "intake refused: complainant.phone: is not a valid phone number"),
             (["--maildir", str(tmp_path)], "not a Maildir"),
             ([], "nothing to file")]
    for argv, message in cases:
        code, _, err = await start(capsys, *argv)
        assert code == 2 and message in err, argv
        assert BAD_PHONE not in err


def email(sender: str, subject: str, body: str, attachments: tuple[str, ...] = (), message_id: str | None = None,
          html: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "complaints@bank.example", subject
    msg["Date"] = "Mon, 23 Nov 2026 10:00:00 +0800"
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(body, subtype="html" if html else "plain")
    for name in attachments:
        msg.add_attachment(b"%PDF-1.4 " + name.encode(), maintype="application", subtype="pdf", filename=name)
    return bytes(msg)


async def test_eml_becomes_a_complaint_once_its_attachments_kept(desk, env, capsys, tmp_path: Path, archive,
                                                                  api_settings: Settings) -> None:
    eml = tmp_path / "mail.eml"
    eml.write_bytes(email("Test Person <test.person@example.com>", "Card charged twice",
                          "My card was charged twice for one purchase.", ("receipt.pdf", "statement.pdf"),
                          "<m-1@mail.example.com>"))
    code, out, _ = await start(capsys, "--eml", str(eml))
    assert code == 0
    cid = out[-1]
    row = await archived(archive, cid)
    assert (row["channel"], row["complainant_email"], row["complainant_name"]) == (
        "email", "test.person@example.com", "Test Person")
    assert row["subject"] == "Card charged twice" and row["content"] == "My card was charged twice for one purchase."
    assert row["evidence"] == ["receipt.pdf", "statement.pdf"] and row["external_ref"] == "<m-1@mail.example.com>"
    assert row["received_at"].isoformat().startswith("2026-11-23T02:00")
    code, out, _ = await start(capsys, "--eml", str(eml))
    assert code == 0 and out[-2:] == [f"already filed: complaint-{cid}", cid]

    cases = CaseDesk(archive, Folder(api_settings.evidence_dir))  # the attachments' contents, kept once
    assert [(f["name"], f["media_type"]) for f in archive.evidence(cid)] == [
        ("receipt.pdf", "application/pdf"), ("statement.pdf", "application/pdf")]
    _, kept = await cases.download(cid, archive.evidence(cid)[1]["sha256"], "auditor", "test")
    assert kept == b"%PDF-1.4 statement.pdf"


async def test_maildir_is_read_idempotently_with_rejects(desk, env, capsys, tmp_path: Path, archive) -> None:
    box = mailbox.Maildir(tmp_path / "inbox", create=True)
    box.add(email("Test Person <a.person@example.com>", "Fees", "A fee I never agreed to.", message_id="<a@x>"))
    box.add(email("b.person@example.com", "Collector", "<p>They called at <b>midnight</b>.</p>", html=True))
    box.add(email("nobody", "No address", "Who am I?", message_id="<c@x>"))
    code, out, _ = await start(capsys, "--maildir", str(tmp_path / "inbox"))
    assert code == 1 and out[-1] == f"started 2, already existing 0, rejected 1 (why: {tmp_path / 'inbox'}.rejects.csv)"
    (reject,) = rejects_of(Path(f"{tmp_path / 'inbox'}.rejects.csv"))
    assert reject["field"] == "complainant.email" and "nobody" not in reject["reason"]
    ids = await listed(desk, 2)
    rows = [await archived(archive, cid) for cid in ids]
    html = next(r for r in rows if r["subject"] == "Collector")
    assert html["content"] == "They called at midnight ." and html["complainant_name"] == "b.person"
    code, out, _ = await start(capsys, "--maildir", str(tmp_path / "inbox"))
    assert out[-1].startswith("started 0, already existing 2, rejected 1")


async def test_one_complaint_from_options(desk, env, capsys) -> None:
    code, out, _ = await start(capsys, "--channel", "walk_in", "--content", "Rude staff at the branch.",
                               "--name", "Test Person", "--email", "test.person@example.com",
                               "--respondent-kind", "branch", "--respondent-id", "BR-12", "--evidence", "note.txt")
    assert code == 0
    status = await desk.status(out[-1])
    assert status.channel.value == "walk_in" and status.respondent and status.respondent.id == "BR-12"


async def test_file_from_stdin_prints_the_id_last_and_exits_cleanly(desk, env) -> None:
    """The contract's smoke test, as a real process, several at once: os._exit keeps every exit clean."""
    def run(ref: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(ROOT / "starter.py"), "--file", "-"], cwd=ROOT, env=env,
                              input=json.dumps(intake(ref)), capture_output=True, text=True, timeout=60)

    runs = await asyncio.gather(*(asyncio.to_thread(run, ref) for ref in ("S-1", "S-2", "S-1")))
    assert [r.returncode for r in runs] == [0, 0, 0], [r.stderr for r in runs]
    ids = [r.stdout.strip().splitlines()[-1] for r in runs]
    assert ids[0] == ids[2] != ids[1]
    assert (await desk.status(ids[1])).complaint_id == ids[1]
