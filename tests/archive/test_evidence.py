"""Evidence files: typed by their bytes, kept once per content, sealed in the folder."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

import pytest

from complaints.casefile import CaseDesk
from complaints.infra.archive import Archive
from complaints.infra.codec import parse_keys
from complaints.infra.evidence import MAX_BYTES, Folder, Unacceptable, sniff

from .test_archive import receipt

EMAIL = (b"From: Han Meimei <hmm@example.com>\r\nSubject: threats\r\nDate: Mon, 2 Nov 2026 09:30:00 +0800\r\n\r\n"
         b"hello\r\n")
RECORDING = b"RIFF\x24\x00\x00\x00WAVEfmt " + "录音：催收员说要去你单位".encode() * 50


def office(entry: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(entry, "<xml/>")
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "media_type"), [
    (b"%PDF-1.7\n...", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n....", "image/png"),
    (b"\xff\xd8\xff\xe0....", "image/jpeg"),
    (b"ID3\x04....", "audio/mpeg"),
    (RECORDING, "audio/wav"),
    (b"\x00\x00\x00\x20ftypM4A \x00", "audio/mp4"),
    (b"#!AMR\n....", "audio/amr"),
    (office("word/document.xml"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (office("xl/workbook.xml"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (EMAIL, "message/rfc822"),
])
def test_the_type_comes_from_the_bytes_not_the_name(data: bytes, media_type: str) -> None:
    assert sniff(data, "whatever.bin") == media_type


@pytest.mark.parametrize(("data", "status", "reason"), [
    (b"MZ\x90\x00\x03\x00\x00\x00", 415, "an executable"),
    (b"\x7fELF\x02\x01\x01", 415, "an executable"),
    (office("payload/run.js"), 415, "no office document"),
    (b"just some text, no headers", 415, "not a type kept as evidence"),
    (b"", 415, "empty"),
])
def test_anything_else_is_refused_with_a_reason(data: bytes, status: int, reason: str) -> None:
    with pytest.raises(Unacceptable, match=reason) as refused:
        sniff(data, "statement.pdf")
    assert refused.value.status == status and str(refused.value).startswith("statement.pdf: ")


def test_a_file_over_50_mb_is_refused_as_too_large() -> None:
    with pytest.raises(Unacceptable, match="over the 52428800 bytes") as refused:
        sniff(b"%PDF-" + bytes(MAX_BYTES), "scan.pdf")
    assert refused.value.status == 413


async def test_kept_once_sealed_and_opened_after_a_key_rotation(archive: Archive, tmp_path: Path) -> None:
    archive.write(receipt("C1"))
    archive.write(receipt("C2"))
    folder = tmp_path / "evidence"
    cases = CaseDesk(archive, Folder(folder))
    [first] = await cases.attach("C1", [("call.wav", RECORDING)], "h.zhang")
    await cases.attach("C1", [("call.wav", RECORDING)], "h.zhang")  # sent again: nothing new
    await cases.attach("C2", [("same-call.wav", RECORDING)], "h.li")

    kept = [p for p in folder.rglob("*") if p.is_file()]
    assert [p.name for p in kept] == [first.sha256]
    assert "催收员".encode() not in kept[0].read_bytes() and kept[0].read_bytes().startswith(b"test-1\n")
    assert [(f["name"], f["key_id"], f["media_type"]) for f in archive.evidence("C1")] == [
        ("call.wav", "test-1", "audio/wav")]

    rotated = Archive(archive.engine, parse_keys("test-2:" + base64.b64encode(bytes(32)).decode())
                      | archive.sealer.keys)
    ref, data = await CaseDesk(rotated, Folder(folder)).download("C2", first.sha256, "auditor", "test")
    assert data == RECORDING and ref.name == "same-call.wav" and ref.size == len(RECORDING)
    assert [r["reader"] for r in archive.reads("C2")] == ["auditor"]
