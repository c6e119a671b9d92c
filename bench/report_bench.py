"""How long `complaints report` (and its quarterly return) takes on a large archive, on SQLite and PostgreSQL.

    python bench/report_bench.py                      # 100,000 complaints, both databases
    python bench/report_bench.py --complaints 500000 --skip-postgresql

Generates the archive (six deadlines per complaint, escalations), bulk-loads it into a
fresh SQLite file and a fresh PostgreSQL schema (dropped afterwards), and times the report
for one month and for the whole four months, and the regulator's quarterly return for 2026Q4
with its workbook, best of `--repeat` runs. Prints figures only;
the tests hold the correctness.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from sqlalchemy import Engine, create_engine, text  # noqa: E402

from bench.archive_data import generate, load, utc  # noqa: E402
from complaints.domain.codes import CodeTable  # noqa: E402
from complaints.domain.workdays import WorkingCalendar  # noqa: E402
from complaints.infra.migrations import upgrade  # noqa: E402
from complaints.regulatory import Quarter, build_return, xlsx_bytes  # noqa: E402
from complaints.reports import Period, build_report  # noqa: E402

PERIODS = {"month (Oct 2026)": Period(date(2026, 10, 1), date(2026, 10, 31)),
           "four months": Period(date(2026, 8, 1), date(2026, 11, 30))}
DEFAULT_PG = os.environ.get("COMPLAINTS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def best_of(repeat: int, engine: Engine, period: Period, calendar: WorkingCalendar) -> tuple[float, int]:
    times, received = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        received = build_report(engine, period, calendar)["received"]
        times.append(time.perf_counter() - started)
    return min(times), received


def measure(name: str, engine: Engine, data, repeat: int) -> None:  # noqa: ANN001 - a Generated
    upgrade(engine)
    started = time.perf_counter()
    load(engine, data, fast=True)
    loaded = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.begin() as db:
            db.execute(text("ANALYZE"))
    calendar = WorkingCalendar()
    best_of(1, engine, PERIODS["month (Oct 2026)"], calendar)  # warm the cache as a server would be
    print(f"{name}: bulk load {loaded:.1f} s")
    for label, period in PERIODS.items():
        seconds, received = best_of(repeat, engine, period, calendar)
        print(f"  report, {label:<17} {received:>7} complaints received: {seconds:6.2f} s")
    table, times = CodeTable.load(), []
    for _ in range(repeat):
        started = time.perf_counter()
        figures = build_return(engine, Quarter(2026, 4), table, "bench")
        built = time.perf_counter()
        workbook = xlsx_bytes(figures, table)
        times.append((built - started, time.perf_counter() - built))
    counted, written = min(times)
    print(f"  return, 2026Q4 {figures['totals']['received']:>7} complaints received, {len(figures['cross'])} "
          f"combinations: counted {counted:6.2f} s, workbook ({len(workbook) // 1024} KiB) {written:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgresql-url", default=DEFAULT_PG)
    parser.add_argument("--skip-postgresql", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    data = generate(args.complaints, utc(2026, 8, 1), utc(2026, 11, 30), seed=100)
    print(f"generated {len(data.complaints)} complaints, {len(data.deadlines)} deadlines, "
          f"{len(data.escalations)} escalations in {time.perf_counter() - started:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'archive.db'}")
        measure("SQLite", engine, data, args.repeat)
        engine.dispose()

    if not args.skip_postgresql:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(args.postgresql_url)
        with admin.begin() as db:
            db.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            engine = create_engine(f"{args.postgresql_url}?options=-csearch_path%3D{schema}")
            measure("PostgreSQL", engine, data, args.repeat)
            engine.dispose()
        finally:
            with admin.begin() as db:
                db.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
