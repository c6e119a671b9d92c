"""The management report against figures computed independently from generated data."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event

from bench.archive_data import Generated, generate, load, utc
from complaints.domain.models import DEADLINES
from complaints.domain.workdays import WorkingCalendar
from complaints.infra.archive import Archive
from complaints.reports import Period, WorkingDayCounter, build_report, draw_chart

from .expected import expected_report

# National Day 2026 (1-7 October, with make-up working days) falls inside the period.
PERIOD = Period(date(2026, 9, 15), date(2026, 10, 31))


def generated_archive(archive: Archive, n: int) -> Generated:
    data = generate(n, utc(2026, 8, 1), utc(2026, 11, 30))
    # the period starts at 00:00 Shanghai time, 16:00 UTC the day before
    data.complaints[0]["received_at"] = utc(2026, 9, 14, 16, 0)   # first moment inside
    data.complaints[1]["received_at"] = utc(2026, 9, 14, 15, 59)  # last minute outside
    data.complaints[2]["received_at"] = utc(2026, 10, 31, 15, 59)  # last minute inside
    data.complaints[3]["received_at"] = utc(2026, 10, 31, 16, 0)   # first moment outside
    load(archive.engine, data)
    return data


def assert_matches(report: dict, want: dict) -> None:
    assert report["received"] == want["received"]
    assert report["closed"] == want["closed"]
    assert report["closed_by_outcome"] == {k: want["closed_by_outcome"].get(k, 0) for k in report["closed_by_outcome"]}
    assert sum(report["closed_by_outcome"].values()) == want["closed"]
    assert list(report["deadlines"]) == list(DEADLINES)
    for name in DEADLINES:
        got = report["deadlines"][name]
        counts = want["deadlines"][name]
        for state in ("met", "breached", "open", "cancelled"):
            assert got[state] == counts.get(state, 0), (name, state)
            assert got[f"{state}_rate"] == pytest.approx(counts.get(state, 0) / want["received"], abs=1e-4)
        assert got["total"] == want["received"]
        assert got["compliance"] == pytest.approx(
            counts.get("met", 0) / (counts.get("met", 0) + counts.get("breached", 0)), abs=1e-4)
    for section in ("by_category", "by_channel", "by_severity", "escalations_by_source", "satisfaction"):
        assert {k: v for k, v in report[section].items() if v} == dict(want[section]), section
    assert {(r["kind"], r["id"]): r["complaints"] for r in report["by_respondent"]} == dict(want["by_respondent"])
    handling = report["handling_working_days"]
    assert handling["complaints"] == len(want["handling_days"])
    assert handling["max"] == max(want["handling_days"])
    assert handling["median"] == pytest.approx(want["median"], abs=0.01)
    assert handling["p90"] == pytest.approx(want["p90"], abs=0.01)
    assert [(r["root_cause"], r["complaints"]) for r in report["root_causes"]] == want["root_causes"]
    assert report["repeat_complainants"] == want["repeat_complainants"]
    assert report["regulator"] == want["regulator"]
    assert {(r["date"], r["category"]): r["complaints"] for r in report["received_per_day"]} == dict(want["per_day"])


def test_report_figures_match_the_generated_archive(any_archive: Archive) -> None:
    data = generated_archive(any_archive, 3000)
    report = build_report(any_archive.engine, PERIOD, WorkingCalendar())
    want = expected_report(data, PERIOD.start, PERIOD.end, WorkingCalendar())
    assert want["repeat_complainants"]["complainants"] > 0 and want["handling_days"], "the data must exercise both"
    assert_matches(report, want)
    assert report["handling_working_days"]["calendar_provisional"] is False  # 2026 is published
    # the boundary complaints: inside at 00:00 Shanghai time on the first day, outside at 00:00 after the last
    assert want["received"] == sum(1 for c in data.complaints
                                   if utc(2026, 9, 14, 16) <= c["received_at"] < utc(2026, 10, 31, 16))


def test_an_empty_period_reports_zeros_not_errors(any_archive: Archive, tmp_path: Path) -> None:
    report = build_report(any_archive.engine, Period(date(2030, 1, 1), date(2030, 1, 31)))
    assert report["received"] == 0 and report["closed"] == 0
    assert report["deadlines"]["summary"]["compliance"] is None
    assert report["handling_working_days"] == {"complaints": 0, "median": None, "p90": None, "max": None,
                                               "calendar_provisional": False}
    draw_chart(report, str(tmp_path / "empty.png"))
    assert (tmp_path / "empty.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def large() -> tuple[Generated, dict]:
    """100,000 complaints (600,000 deadlines) and their figures, made once for both databases."""
    data = generate(100_000, utc(2026, 8, 1), utc(2026, 11, 30), seed=100)
    return data, expected_report(data, PERIOD.start, PERIOD.end, WorkingCalendar())


def test_report_on_100k_complaints_is_computed_in_sql(any_archive: Archive, large: tuple[Generated, dict]) -> None:
    data, want = large
    load(any_archive.engine, data, fast=True)
    statements: list[str] = []
    event.listen(any_archive.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))
    started = time.perf_counter()
    report = build_report(any_archive.engine, PERIOD, WorkingCalendar())
    print(f"100k report on {any_archive.engine.dialect.name}: {time.perf_counter() - started:.2f}s")
    assert_matches(report, want)
    # every query of the complaints is an aggregate: no row of a complaint is fetched as such (the
    # prevention alarms' rows are read whole: a few per respondent, category and channel a week)
    queries = [q for q in statements if q.lstrip().upper().startswith("SELECT") and "prevention_alarms" not in q]
    assert len(queries) == len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) - 1
    assert queries and all(re.search(r"\bcount\(|\bsum\(|GROUP BY", q, re.IGNORECASE) for q in queries), queries


@pytest.mark.parametrize(("received", "closed", "days"), [
    (date(2026, 9, 30), date(2026, 9, 30), 0),   # closed the day it came
    (date(2026, 9, 30), date(2026, 10, 9), 2),   # National Day: 1-7 October off, 8 and 9 worked
    (date(2026, 10, 9), date(2026, 10, 12), 2),  # Saturday 10 October is a make-up working day
    (date(2026, 10, 16), date(2026, 10, 19), 1),  # over an ordinary weekend
])
def test_handling_time_counts_mainland_working_days(received: date, closed: date, days: int) -> None:
    counter = WorkingDayCounter(WorkingCalendar())
    assert counter.between(received, closed) == days
    assert counter.between(date(2026, 1, 5), date(2026, 1, 9)) == 4  # earlier than cached: still right


def test_a_year_the_calendar_does_not_know_is_counted_and_flagged(any_archive: Archive) -> None:
    data = generate(200, utc(2030, 1, 1), utc(2030, 1, 31))
    load(any_archive.engine, data)
    period = Period(date(2030, 1, 1), date(2030, 3, 31))
    report = build_report(any_archive.engine, period, WorkingCalendar())
    assert report["handling_working_days"]["complaints"] > 0
    assert report["handling_working_days"]["calendar_provisional"] is True
    assert_matches(report, expected_report(data, period.start, period.end, WorkingCalendar()))
