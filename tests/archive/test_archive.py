"""The archive on SQLite and PostgreSQL: migrations, idempotent and ordered writes, moments."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import column, create_engine, func, insert, inspect, select, table

from complaints.domain.models import EscalationEntry, EscalationSource, Intake, Notice, Record, Stage
from complaints.infra.archive import Archive, same_complainant
from complaints.infra.migrations import SchemaBehind, current, downgrade, head, require_current_schema, upgrade
from complaints.infra.schema import audit, complaints, deadlines, escalations, metadata, outbox

ROOT = Path(__file__).resolve().parents[2]
CST = timezone(timedelta(hours=8))
RECEIVED = datetime(2026, 11, 2, 9, 30, tzinfo=CST)  # 01:30 UTC


def tables(archive: Archive) -> set[str]:
    return set(inspect(archive.engine).get_table_names()) - {"alembic_version"}


def receipt(complaint_id: str = "C1") -> Record:
    intake = Intake.model_validate({"channel": "phone", "content": "they called my employer",
                                    "complainant": {"name": "Li Lei", "phone": "13800138000"}})
    return Record(complaint_id=complaint_id, seq=1, at=RECEIVED, actor="phone", kind="received",
                  stage=Stage.receipt, intake=intake, facts={"stage": "receipt", "category": "collection.third_party"},
                  deadlines={"assessment": RECEIVED + timedelta(hours=1)},
                  notices=[Notice(kind="acknowledgement", recipient="complainant", message="received")])


def plain_receipt(archive: Archive, complaint_id: str, **personal: str) -> None:
    """A complaint's row as archives before 0005 wrote it, personal data in plain text."""
    row = {"complaint_id": complaint_id, "channel": "phone", "received_at": RECEIVED, "stage": "receipt",
           "content": "they called my employer", "complainant_name": "Li Lei", "complainant_phone": "13800138000",
           "evidence": "[]", "handlers": "[]", "escalated": False, "interim_measure": False, "reopen_count": 0,
           "extensions": 0, "pauses": 0, "calendar_provisional": False, **personal}
    with archive.engine.begin() as db:
        db.execute(insert(table("complaints", *map(column, row))).values(row))


def escalation(seq: int, complaint_id: str = "C1") -> Record:
    at = RECEIVED + timedelta(minutes=seq)
    return Record(complaint_id=complaint_id, seq=seq, at=at, actor="mgr", kind="escalation", stage=Stage.assessment,
                  facts={"escalated": True},
                  escalation=EscalationEntry(source=EscalationSource.manager, reason="press", by="mgr", at=at),
                  notices=[Notice(kind="emergency", recipient="emergency-team", message="manager: press")])


def count(archive: Archive, table, **where) -> int:  # noqa: ANN001 - a Table
    with archive.engine.connect() as db:
        return db.execute(select(func.count()).select_from(table)
                          .where(*(table.c[k] == v for k, v in where.items()))).scalar_one()


def test_migrations_from_empty_and_round_trip(any_archive: Archive) -> None:
    archive = any_archive
    archive.write(receipt())
    downgrade(archive.engine, "base")
    assert tables(archive) == set() and current(archive.engine) is None
    with pytest.raises(SchemaBehind, match=r"none \(empty\).*run `complaints db upgrade`"):
        require_current_schema(archive.engine)

    upgrade(archive.engine, "0001")
    with pytest.raises(SchemaBehind, match=rf"at schema 0001, this code needs {head()}"):
        require_current_schema(archive.engine)
    plain_receipt(archive, "C1")  # as an archive at 0001 held it: 0005 seals it
    upgrade(archive.engine)
    require_current_schema(archive.engine)
    assert tables(archive) == set(metadata.tables)
    with archive.engine.connect() as db:  # the migrations build exactly the schema the code declares
        assert compare_metadata(MigrationContext.configure(db, opts={"compare_type": True}), metadata) == []
    assert {"ix_complaints_closed_at"} <= {i["name"] for i in inspect(archive.engine).get_indexes("complaints")}
    downgrade(archive.engine, "0001")
    assert "ix_complaints_closed_at" not in {i["name"] for i in inspect(archive.engine).get_indexes("complaints")}
    upgrade(archive.engine)
    assert archive.complaint("C1")["content"] == "they called my employer"  # sealed, opened, sealed again


def test_moments_round_trip_as_the_same_instant(any_archive: Archive) -> None:
    archive = any_archive
    archive.write(receipt())
    closed = "2026-11-20T23:30:00+08:00"  # facts travel as ISO text through Temporal's JSON
    archive.write(Record(complaint_id="C1", seq=2, at=datetime(2026, 11, 20, 15, 30, tzinfo=timezone.utc),
                         actor="h", kind="action", action="summarize", stage=Stage.closed,
                         facts={"stage": "closed", "closed_at": closed}, met=["assessment"]))
    row = archive.complaint("C1")
    assert row["received_at"] == RECEIVED and row["received_at"].utcoffset() == timedelta(0)
    assert row["closed_at"] == datetime.fromisoformat(closed)
    trail = archive.audit_trail("C1")
    assert [e["at"] for e in trail] == [RECEIVED, datetime(2026, 11, 20, 15, 30, tzinfo=timezone.utc)]
    assert all(e["at"].tzinfo is not None for e in trail)
    with archive.engine.connect() as db:  # found by an instant in another zone, as the report does
        assert db.execute(select(func.count()).where(
            complaints.c.received_at >= datetime(2026, 11, 2, 1, 30, tzinfo=timezone.utc),
            complaints.c.received_at < datetime(2026, 11, 2, 9, 30, 1, tzinfo=CST))).scalar_one() == 1


def test_writes_are_idempotent(any_archive: Archive) -> None:
    archive = any_archive
    for record in (receipt(), receipt(), escalation(2), escalation(2)):
        archive.write(record)  # a retried activity writes the same record again
    assert count(archive, complaints) == 1
    assert count(archive, audit, complaint_id="C1") == 2
    assert count(archive, escalations, complaint_id="C1") == 1
    assert count(archive, outbox, complaint_id="C1", seq=1) == 1
    assert count(archive, outbox, complaint_id="C1", seq=2) == 1
    assert archive.complaint("C1")["escalated"] is True


def test_an_entry_left_by_a_lost_workflow_task_gives_way_to_the_record_the_history_holds(
    any_archive: Archive,
) -> None:
    """A timed-out workflow task's local activity wrote a warning as entry 2; the task that ran
    instead, later, found the deadline passed and journalled the breach as entry 2. The later
    moment is the history's, whichever write arrives last."""
    archive = any_archive
    archive.write(receipt())
    warning = Record(complaint_id="C1", seq=2, at=RECEIVED + timedelta(minutes=48), actor="system", kind="warning",
                     stage=Stage.assessment, details={"deadline": "assessment"},
                     notices=[Notice(kind="warning", recipient="handler:h", message="80% gone")])
    breach = Record(complaint_id="C1", seq=2, at=RECEIVED + timedelta(minutes=61), actor="system", kind="breach",
                    stage=Stage.assessment, details={"deadline": "assessment"}, breached=["assessment"])
    assert archive.write(warning) is None
    assert archive.write(breach) == "warning"
    assert archive.write(breach) is None  # its own retry changes nothing
    assert archive.write(warning) is None  # the lost task's write, late (another worker): the earlier record
    assert [(e["seq"], e["kind"]) for e in archive.audit_trail("C1")] == [(1, "received"), (2, "breach")]
    assert count(archive, outbox, complaint_id="C1", seq=2) == 0  # the lost task's notice went with it
    with archive.engine.connect() as db:
        assert db.execute(select(deadlines.c.breached_at).where(deadlines.c.complaint_id == "C1")).scalar_one() \
            == RECEIVED + timedelta(minutes=61)


def test_audit_trail_reads_in_sequence_order(any_archive: Archive) -> None:
    archive = any_archive
    archive.write(receipt())
    for seq in (3, 5, 2, 4):  # stored out of order, so insertion order cannot pass for it
        archive.write(escalation(seq))
    assert [e["seq"] for e in archive.audit_trail("C1")] == [1, 2, 3, 4, 5]
    assert archive.audit_trail("unknown") == []


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("pg_schema")


def run_worker(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COMPLAINTS_DB_URL": url, "TEMPORAL_ADDRESS": "127.0.0.1:1"}
    return subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_worker_refuses_an_archive_that_is_behind(empty_db_url: str) -> None:
    empty = run_worker(empty_db_url)
    assert empty.returncode == 2, empty.stderr
    assert "worker not started" in empty.stderr and "run `complaints db upgrade`" in empty.stderr
    assert "none (empty)" in empty.stderr

    engine = create_engine(empty_db_url)
    upgrade(engine, "0001")
    engine.dispose()
    behind = run_worker(empty_db_url)
    assert behind.returncode == 2
    assert f"is at schema 0001, this code needs {head()}: run `complaints db upgrade`" in behind.stderr


def test_concurrent_attempts_of_one_record_write_it_once(any_archive: Archive) -> None:
    """An activity retried while its first attempt is still running: both write, one wins."""
    archive = any_archive
    archive.write(receipt())
    with ThreadPoolExecutor(max_workers=6) as pool:
        for attempt in [pool.submit(archive.write, escalation(2)) for _ in range(6)]:
            attempt.result()  # none raises
    assert count(archive, audit, complaint_id="C1", seq=2) == 1
    assert count(archive, escalations, complaint_id="C1") == 1
    assert count(archive, outbox, complaint_id="C1", seq=2) == 1


def test_the_receipts_duplicate_lookup_reads_indexes_not_the_whole_archive(archive: Archive) -> None:
    """Every receipt asks for the complainant's other open complaints: a scan of the archive
    would make each intake slower than the last."""
    intake = Intake.model_validate({"channel": "phone", "content": "they called my employer",
                                    "complainant": {"name": "Li Lei", "phone": "13800138000", "customer_id": "K-1"}})
    query = same_complainant("C2", intake, archive.sealer)
    assert query is not None
    compiled = query.compile(archive.engine, compile_kwargs={"literal_binds": True})
    with archive.engine.connect() as db:
        plan = " / ".join(row[-1] for row in db.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert "ix_complaints_complainant_phone_hash" in plan and "ix_complaints_customer_id_hash" in plan, plan
    assert "SCAN complaints" not in plan, plan
