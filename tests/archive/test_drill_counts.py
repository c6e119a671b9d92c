"""Drill complaints are in the archive but in no report: the management report and the regulator's
return of an archive are the same with a drill's complaints, escalations and notices added."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert

from bench.archive_data import Generated, generate, load, utc
from complaints.domain.codes import CodeTable
from complaints.infra.archive import Archive
from complaints.infra.schema import outbox
from complaints.regulatory import Quarter, build_return
from complaints.reports import Period, build_report

PERIOD = Period(date(2026, 10, 1), date(2026, 12, 31))


def drills_like(seed: int) -> Generated:
    """Complaints as varied as real ones (the same people, so repeat complainants too), marked drills."""
    data = generate(60, utc(2026, 10, 1), utc(2026, 12, 20), seed=seed)
    for rows in (data.complaints, data.deadlines, data.escalations):
        for row in rows:
            row["complaint_id"] = "D" + row["complaint_id"]
    for row in data.complaints:
        row["drill"] = True
    return data


def test_reports_and_returns_leave_drills_out(any_archive: Archive) -> None:
    load(any_archive.engine, generate(120, utc(2026, 10, 1), utc(2026, 12, 20)))
    with any_archive.engine.begin() as db:
        db.execute(insert(outbox), [{"complaint_id": "G0000003", "seq": 1, "kind": "acknowledgement",
                                     "recipient": "complainant", "message": "-", "created_at": utc(2026, 10, 5),
                                     "status": "sent"}])
    table = CodeTable.load()
    report = build_report(any_archive.engine, PERIOD)
    regulatory = build_return(any_archive.engine, Quarter(2026, 4), table, "firm")

    drilled = drills_like(seed=9)
    load(any_archive.engine, drilled)
    with any_archive.engine.begin() as db:
        db.execute(insert(outbox), [{"complaint_id": row["complaint_id"], "seq": 1, "kind": "emergency",
                                     "recipient": "emergency-team", "message": "-", "created_at": row["received_at"],
                                     "status": "sent"} for row in drilled.complaints])

    assert any_archive.complaint("DG0000000")["drill"] is True
    assert any_archive.complaint("G0000000")["drill"] is False
    assert build_report(any_archive.engine, PERIOD) == report
    assert build_return(any_archive.engine, Quarter(2026, 4), table, "firm") == regulatory
    assert report["received"] == 120 and sum(report["escalations_by_source"].values()) > 0
