"""The outbox as auditors read it: each notice's delivery state, a recorded success final,
failures counted in the report, and `complaints outbox` over the archive alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from complaints.domain.models import DeliveryOutcome
from complaints.infra.archive import Archive
from complaints.reports import Period, build_report

from .test_archive import RECEIVED, escalation, receipt


def outcome(status: str, seq: int = 1, kind: str = "acknowledgement", **more) -> DeliveryOutcome:
    return DeliveryOutcome(complaint_id="C1", seq=seq, kind=kind, status=status, at=RECEIVED + timedelta(minutes=5),
                           **more)


def test_a_notice_goes_pending_then_sent_and_a_recorded_success_is_final(any_archive: Archive) -> None:
    any_archive.write(receipt())
    assert any_archive.delivery("C1", 1, "acknowledgement") == {"status": "pending", "attempts": 0,
                                                                "provider_id": None, "channel": None}
    any_archive.record_delivery(outcome("pending", channel="email", attempts=2, error="smtp: server answered 421"))
    any_archive.record_delivery(outcome("sent", channel="email", attempts=3, provider_id="<C1-1-acknowledgement@f>"))
    any_archive.record_delivery(outcome("failed", error="a late report"))  # never overwrites the success
    [row] = any_archive.deliveries()
    assert (row["status"], row["attempts"], row["last_error"], row["provider_id"]) == (
        "sent", 3, None, "<C1-1-acknowledgement@f>")
    assert row["sent_at"] is not None


def test_the_failed_filter_and_the_report_count_failed_deliveries(any_archive: Archive) -> None:
    any_archive.write(receipt())
    any_archive.write(escalation(2))
    any_archive.record_delivery(outcome("failed", seq=2, kind="emergency", channel="emergency", attempts=40,
                                        error="emergency webhook: receiver answered 503"))
    assert [(n["seq"], n["kind"]) for n in any_archive.deliveries("failed")] == [(2, "emergency")]
    report = build_report(any_archive.engine, Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert report["deliveries"] == {"pending": 1, "sent": 0, "failed": 1}


def test_complaints_outbox_lists_failed_notices_without_their_text(archive: Archive, tmp_path: Path) -> None:
    archive.write(receipt())
    archive.write(escalation(2))
    archive.record_delivery(outcome("failed", seq=2, kind="emergency", channel="emergency", attempts=40,
                                    error="emergency webhook: receiver answered 503"))
    url = str(archive.engine.url)
    run = subprocess.run([str(Path(sys.executable).parent / "complaints"), "outbox", "--failed", "--json"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "COMPLAINTS_DB_URL": url, "TEMPORAL_ADDRESS": "127.0.0.1:1"})
    assert run.returncode == 0, run.stderr
    [notice] = json.loads(run.stdout)
    assert (notice["complaint_id"], notice["kind"], notice["status"], notice["attempts"]) == ("C1", "emergency",
                                                                                             "failed", 40)
    assert notice["last_error"] == "emergency webhook: receiver answered 503" and "message" not in notice
    env = {name: value for name, value in os.environ.items() if "SMTP" not in name and "WEBHOOK" not in name}
    table = subprocess.run([str(Path(sys.executable).parent / "complaints"), "outbox"], capture_output=True,
                           text=True, timeout=120, env={**env, "COMPLAINTS_DB_URL": url, "COLUMNS": "200",
                                                        "COMPLAINTS_SMTP_URL": "smtp://127.0.0.1:25"})
    assert "2 notices" in table.stdout and "pending" in table.stdout and "Li Lei" not in table.stdout
    assert "COMPLAINTS_SMS_WEBHOOK_URL" in table.stderr and "COMPLAINTS_SMTP_URL" not in table.stderr
