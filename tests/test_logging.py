"""Log masking: personal numbers and addresses are masked wherever they appear, complaint text
and identity fields are withheld, and what operators need (ids, stages, times) survives."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest
import structlog
from pydantic import ValidationError

from complaints.domain.models import Intake
from complaints.infra import logging as logs

PERSONAL = {
    "mobile": "13912345678",
    "mobile, +86 and dashes": "+86 139-1234-5678",
    "landline": "010-62345678",
    "ID number": "11010519491231002X",
    "ID number, small x": "11010519491231002x",
    "bank card, grouped": "6222 0212 3456 7890 123",
    "bank card, plain": "6222021234567890",
    "e-mail": "wang.xiaoming@example.com.cn",
}


@pytest.mark.parametrize("label", PERSONAL)
def test_personal_numbers_and_addresses_are_masked_in_any_text(label: str) -> None:
    value = PERSONAL[label]
    for text in (value, f"客户{value}来电", f"contact: {value}.", f"({value})"):
        masked = logs.mask(text)
        assert value not in masked and "[" in masked, (label, masked)


def test_operational_values_survive() -> None:
    text = ("complaint-C0123456789ABCDE seq 12 at 2026-11-24T23:59:50.123456+00:00 amount 1500.00 "
            "run 0193a3c4-1234-4567-8901-012345678901 deadline 7wd")
    assert logs.mask(text) == text


def test_id_number_is_masked_whole_not_as_a_phone() -> None:
    assert logs.mask("ID 11010519491231002X") == "ID [id-number]"


def test_library_quotes_of_input_are_withheld() -> None:
    try:
        Intake.model_validate({"channel": "phone", "content": "半夜威胁", "complainant": {"name": "王小明",
                                                                                   "phone": "call-me-maybe"}})
    except ValidationError as err:
        validation = str(err)
    assert "call-me-maybe" in validation  # pydantic quotes the input ...
    assert "call-me-maybe" not in logs.mask(validation)  # ... the log does not
    sql = "(sqlite3.IntegrityError) UNIQUE\n[SQL: INSERT INTO complaints]\n[parameters: ('王小明', '半夜]威胁')]\n(Background"
    assert "王小明" not in logs.mask(sql) and "[SQL: INSERT INTO complaints]" in logs.mask(sql)
    reprs = "Complainant(name='王小明', phone=None) {\"content\": \"半夜威胁\", \"seq\": 3}"
    assert "王小明" not in logs.mask(reprs) and "半夜威胁" not in logs.mask(reprs) and '"seq": 3' in logs.mask(reprs)


def test_keys_are_masked_in_urls_and_headers() -> None:
    line = 'POST /codec/k/s3cret-key/decode HTTP/1.1 Authorization: Bearer s3cret-key'
    assert "s3cret" not in logs.mask(line)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The process's real logging set-up (`configure()`), writing to a buffer."""
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    saved_structlog = structlog.get_config()  # the session's set-up: later tests' workers log through it
    monkeypatch.setattr(sys, "stderr", out)
    logs.configure()
    yield out
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    structlog.configure(**saved_structlog)


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_structlog_fields_are_withheld_by_name_and_masked_by_pattern(captured: io.StringIO) -> None:
    logs.log.info("intake from 13912345678", complaint_id="C0123456789ABCDE",
                  intake={"content": "半夜威胁", "complainant": {"name": "王小明"}, "channel": "phone"},
                  Findings="他说要找我家人", note_to_self="mail wang@example.com")
    [line] = lines(captured)
    assert line["event"] == "intake from [phone]"
    assert line["complaint_id"] == "C0123456789ABCDE"
    assert line["intake"] == "[withheld]" and line["Findings"] == "[withheld]"
    assert line["note_to_self"] == "mail [email]"


def test_standard_library_records_and_tracebacks_are_masked(captured: io.StringIO) -> None:
    try:
        raise RuntimeError("could not reach 13912345678 (ID 11010519491231002X)")
    except RuntimeError:
        logging.getLogger("temporalio.activity").warning("activity %s failed for %s", "archive_record",
                                                         "wang@example.com", exc_info=True,
                                                         extra={"temporal_activity": {"phone": "13912345678"}})
    [line] = lines(captured)
    text = json.dumps(line, ensure_ascii=False)
    assert "13912345678" not in text and "11010519491231002X" not in text and "wang@example.com" not in text
    assert line["event"] == "activity archive_record failed for [email]"
    assert "RuntimeError: could not reach [phone] (ID [id-number])" in line["exception"]
    assert line["temporal_activity"] == {"phone": "[withheld]"}
