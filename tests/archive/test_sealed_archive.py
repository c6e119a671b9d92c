"""Personal data sealed at rest: on disk no plain name, phone or text; duplicates still found;
rows written before a key rotation still read; plain rows of older archives sealed by 0005."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import column, create_engine, select, table

from complaints.domain.models import Intake
from complaints.infra.archive import Archive
from complaints.infra.codec import parse_keys
from complaints.infra.migrations import downgrade, upgrade
from complaints.infra.settings import SettingError
from tests.conftest import TEST_KEYS

from .test_archive import plain_receipt, receipt

NAME, PHONE, ID_NUMBER, CUSTOMER = "韩梅梅", "13912345678", "11010519491231002X", "CUST-77310"
TEXT = "催收员凌晨两点打电话威胁我的家人"
NEW_KEY = "test-2:" + base64.b64encode(b"complaintflow-second-key-32-byte").decode()
PERSONAL = ("subject", "content", "requested_remedy", "complainant_name", "complainant_phone", "complainant_email",
            "complainant_id_number", "customer_id")


def intake(**complainant: str) -> Intake:
    return Intake.model_validate({"channel": "phone", "content": TEXT, "subject": "夜间催收", "requested_remedy": "道歉",
                                  "complainant": {"name": NAME, **complainant}})


def file(archive: Archive, complaint_id: str, **complainant: str) -> None:
    archive.write(receipt(complaint_id).model_copy(update={"intake": intake(**complainant)}))


def stored(archive: Archive, complaint_id: str) -> dict[str, str | None]:
    """The row's personal columns as the database holds them, past the sealing type."""
    raw = table("complaints", column("complaint_id"), *map(column, PERSONAL))
    with archive.engine.connect() as db:
        row = db.execute(select(*(raw.c[c] for c in PERSONAL)).where(raw.c.complaint_id == complaint_id))
        return dict(row.mappings().one())


def test_the_sqlite_file_holds_no_plain_personal_data(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine)
    archive = Archive(engine, TEST_KEYS)
    file(archive, "C1", phone=PHONE, id_number=ID_NUMBER, customer_id=CUSTOMER, email="hmm@example.com")
    row = archive.complaint("C1")
    assert (row["complainant_name"], row["complainant_phone"], row["content"]) == (NAME, PHONE, TEXT)
    engine.dispose()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("archive.db*"))
    for plain in (NAME, PHONE, ID_NUMBER, CUSTOMER, TEXT, "hmm@example.com", "夜间催收"):
        assert plain.encode() not in on_disk, plain
    assert b"sealed:test-1:" in on_disk


def test_text_that_looks_sealed_is_sealed_too(archive: Archive) -> None:
    archive.write(receipt("C1").model_copy(update={"intake": Intake.model_validate(
        {"channel": "phone", "content": "sealed:test-1:not really", "complainant": {"name": NAME, "phone": PHONE}})}))
    assert stored(archive, "C1")["content"] != "sealed:test-1:not really"
    assert archive.complaint("C1")["content"] == "sealed:test-1:not really"


def test_a_repeat_is_found_by_phone_id_number_or_customer_id(any_archive: Archive) -> None:
    archive = any_archive
    file(archive, "C1", phone=PHONE, id_number=ID_NUMBER)
    file(archive, "C2", phone="+86 139-8765-4321", customer_id=CUSTOMER)
    assert archive.open_complaint_of("C3", intake(phone="+86 139 1234 5678")) == "C1"
    assert archive.open_complaint_of("C3", intake(email="x@example.com", id_number=ID_NUMBER)) == "C1"
    assert archive.open_complaint_of("C3", intake(email="x@example.com", customer_id=CUSTOMER)) == "C2"
    assert archive.open_complaint_of("C3", intake(phone="13700000000")) is None


def test_rows_sealed_before_a_rotation_stay_readable_and_found(any_archive: Archive) -> None:
    file(any_archive, "C1", phone=PHONE)
    rotated = Archive(any_archive.engine, parse_keys(NEW_KEY) | TEST_KEYS)  # the new key first: current
    file(rotated, "C2", phone="13700000000")
    assert stored(rotated, "C1")["content"].startswith("sealed:test-1:")
    assert stored(rotated, "C2")["content"].startswith("sealed:test-2:")
    assert rotated.complaint("C1")["complainant_name"] == NAME
    assert rotated.open_complaint_of("C3", intake(phone=PHONE)) == "C1"

    retired = Archive(any_archive.engine, parse_keys(NEW_KEY))  # the old key dropped too early
    with pytest.raises(SettingError, match="sealed with key id 'test-1'"):
        retired.complaint("C1")


def test_migration_seals_the_plain_rows_of_an_older_archive_and_unseals_them_going_back(any_archive: Archive
                                                                                         ) -> None:
    archive = any_archive
    downgrade(archive.engine, "0002")
    plain_receipt(archive, "C1", complainant_phone="13800138000", customer_id="K-1", subject="calls at work")
    plain_receipt(archive, "C2", complainant_name="Han Meimei", complainant_phone="13900000000")
    upgrade(archive.engine)

    for complaint_id in ("C1", "C2"):
        assert all(v is None or v.startswith("sealed:test-1:") for v in stored(archive, complaint_id).values())
    c1 = archive.complaint("C1")
    assert (c1["complainant_name"], c1["subject"], c1["customer_id"]) == ("Li Lei", "calls at work", "K-1")
    assert archive.open_complaint_of("C3", intake(phone="138-0013-8000")) == "C1"
    assert archive.open_complaint_of("C3", intake(email="x@example.com", customer_id="K-1")) == "C1"

    downgrade(archive.engine, "0002")
    assert stored(archive, "C2")["complainant_name"] == "Han Meimei"
