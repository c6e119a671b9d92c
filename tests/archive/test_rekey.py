"""Key rotation: a new current key, old rows and files still read, and `db reencrypt` moving them over."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine

from complaints.casefile import CaseDesk
from complaints.infra.archive import Archive
from complaints.infra.codec import load_keys, parse_keys
from complaints.infra.evidence import Folder
from complaints.infra.migrations import upgrade
from complaints.infra.rekey import reseal_files, reseal_rows
from tests.conftest import TEST_KEY, TEST_KEYS

from .test_evidence import RECORDING
from .test_sealed_archive import NAME, PHONE, file, intake, stored

NEW = parse_keys("test-2:" + base64.b64encode(b"complaintflow-second-key-32-byte").decode())
COMPLAINTS = str(Path(sys.executable).parent / "complaints")


def test_reencrypt_moves_rows_to_the_new_key_in_batches_and_a_second_run_moves_none(any_archive: Archive) -> None:
    for n in range(3):
        file(any_archive, f"C{n}", phone=f"1391234567{n}")
    rotated = Archive(any_archive.engine, NEW | TEST_KEYS)
    steps = list(reseal_rows(rotated, batch=2))
    assert [(s.done, s.moved, s.total) for s in steps] == [(2, 2, 3), (3, 3, 3)]
    assert all(v is None or v.startswith("sealed:test-2:") for v in stored(rotated, "C1").values())

    retired = Archive(any_archive.engine, NEW)  # the old key can go now
    assert retired.complaint("C1")["complainant_name"] == NAME
    assert retired.open_complaint_of("C9", intake(phone="13912345671")) == "C1"
    assert [s.moved for s in reseal_rows(rotated, batch=2)] == [0, 0]


async def test_reencrypt_moves_evidence_files_to_the_new_key(archive: Archive, tmp_path: Path) -> None:
    file(archive, "C1", phone=PHONE)
    folder = Folder(tmp_path / "evidence")
    [ref] = await CaseDesk(archive, folder).attach("C1", [("call.wav", RECORDING)], "h")
    rotated = Archive(archive.engine, NEW | TEST_KEYS)
    assert [(s.done, s.total) for s in reseal_files(rotated, folder)] == [(1, 1)]
    assert folder.path(ref.sha256).read_bytes().startswith(b"test-2\n")
    assert archive.evidence("C1")[0]["key_id"] == "test-2"
    _, data = await CaseDesk(Archive(archive.engine, NEW), folder).download("C1", ref.sha256, "a", "test")
    assert data == RECORDING


def test_keys_rotate_then_db_reencrypt_from_the_command_line(tmp_path: Path) -> None:
    key_file, url = tmp_path / "codec.keys", f"sqlite:///{tmp_path / 'archive.db'}"
    key_file.write_text(TEST_KEY + "\n")
    engine = create_engine(url)
    upgrade(engine)
    file(Archive(engine, TEST_KEYS), "C1", phone=PHONE)
    env = {k: v for k, v in os.environ.items() if k != "COMPLAINTS_CODEC_KEYS"} | {
        "COMPLAINTS_CODEC_KEY_FILE": str(key_file), "COMPLAINTS_DB_URL": url,
        "COMPLAINTS_EVIDENCE_DIR": str(tmp_path / "evidence")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([COMPLAINTS, *args], env=env, capture_output=True, text=True, timeout=60)

    rotated = run("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    keys = load_keys(None, key_file)
    new = next(iter(keys))
    assert list(keys) == [new, "test-1"] and new in rotated.stdout and oct(key_file.stat().st_mode)[-3:] == "600"

    moved = run("db", "reencrypt", "--batch", "10")
    assert moved.returncode == 0, moved.stderr
    assert "complaints: 1/1 read, 1 re-sealed" in moved.stderr
    assert moved.stdout.strip() == f"re-sealed under key {new}: 1 complaints, 0 evidence files"
    assert stored(Archive(engine, keys), "C1")["content"].startswith(f"sealed:{new}:")
