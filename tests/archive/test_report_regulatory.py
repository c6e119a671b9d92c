"""The regulator's quarterly return on a generated archive of two quarters, on SQLite and
PostgreSQL: its figures by their written definitions, its totals against the management
report's, and the workbook read back."""

from __future__ import annotations

import csv
import dataclasses
import io
import random
import re
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bench.archive_data import Generated, generate, load, utc
from complaints.api.app import create_app
from complaints.cli.main import app
from complaints.domain.codes import CodeTable
from complaints.domain.models import Category, Channel
from complaints.domain.workdays import SHANGHAI, WorkingCalendar
from complaints.infra.archive import Archive
from complaints.infra.settings import Settings
from complaints.regulatory import CSV_HEADER, MEASURES, NONE, Quarter, build_return, csv_rows, xlsx_bytes
from complaints.reports import build_report

TABLE = CodeTable.load()
QUARTERS = (Quarter(2026, 3), Quarter(2026, 4))


def coded_archive(archive: Archive, n: int = 400) -> Generated:
    """`n` complaints over 2026Q3 and 2026Q4 with codes as the workflow leaves them: proposed,
    some corrected by a handler, a few archived before complaints carried codes."""
    data = generate(n, utc(2026, 6, 25), utc(2026, 12, 31, 15, 59), seed=11)
    rnd = random.Random(3)
    leaves = {axis: [c for c in TABLE.codes[axis] if TABLE.is_leaf(axis, c)] for axis in "ABC"}
    for row in data.complaints:
        row["substantiated"] = rnd.random() < 0.6 if row["outcome"] == "resolved" else None
        proposed = TABLE.propose(Channel(row["channel"]), None, Category(row["category"]))
        uncoded = rnd.random() < 0.05  # archived before complaints carried codes: counted under (none)
        for axis in "abc":
            row[f"code_{axis}"] = (None if uncoded else rnd.choice(leaves[axis.upper()]) if rnd.random() < 0.2
                                   else proposed[f"code_{axis}"])
    load(archive.engine, data)
    return data


def expected_return(data: Generated, quarter: Quarter) -> dict[tuple[str, str, str], Counter]:
    """The cross table by the return's written definitions, one generated row at a time."""
    period = quarter.period
    since = datetime.combine(period.start, time(0), SHANGHAI)
    until = datetime.combine(period.end + timedelta(days=1), time(0), SHANGHAI)
    inside = lambda moment: moment is not None and since <= moment < until  # noqa: E731
    decision = {d["complaint_id"]: d for d in data.deadlines if d["name"] == "decision"}
    day = lambda moment: moment.astimezone(SHANGHAI).date()  # noqa: E731
    cells: dict[tuple[str, str, str], Counter] = defaultdict(Counter)
    for c in data.complaints:
        key = tuple(c.get(f"code_{axis}") or NONE for axis in "abc")
        d = decision[c["complaint_id"]]
        late = d["breached_at"] is not None or (d["met_at"] is not None and d["met_at"] > d["due_at"])
        if inside(c["received_at"]):
            cells[key].update(received=1, overdue=late, extended=c["extensions"] > 0, escalated=c["escalated"],
                              substantiated=bool(c.get("substantiated")), reviews=c["review_of"] is not None)
        if inside(c["closed_at"]):
            on_time = d["met_at"] <= d["due_at"] if d["met_at"] else c["closed_at"] <= d["due_at"]
            cells[key].update(closed=1, closed_in_time=on_time and d["breached_at"] is None,
                              decided=1, days=(day(c["decided_at"]) - day(c["received_at"])).days)
    return cells


def shown(cell: Counter) -> dict[str, Any]:
    return {**{m: cell[m] for m in MEASURES[:-1]},
            "avg_days_to_decision": round(cell["days"] / cell["decided"], 1) if cell["decided"] else None}


@pytest.mark.parametrize("quarter", QUARTERS, ids=str)
def test_the_return_counts_each_code_combination_and_matches_the_management_report(
        any_archive: Archive, quarter: Quarter) -> None:
    data = coded_archive(any_archive)
    figures = build_return(any_archive.engine, quarter, TABLE, "Example Bank")
    want = expected_return(data, quarter)
    assert {(r["code_a"], r["code_b"], r["code_c"]): {m: r[m] for m in MEASURES} for r in figures["cross"]} == {
        key: shown(cell) for key, cell in want.items()}
    assert any(r["code_a"] == NONE for r in figures["cross"]) and figures["totals"]["received"] > 100

    # the management report of the same period: the same complaints, the same totals
    report = build_report(any_archive.engine, quarter.period, WorkingCalendar())
    totals = figures["totals"]
    assert totals["received"] == report["received"] and totals["closed"] == report["closed"]
    assert totals["overdue"] == report["deadlines"]["decision"]["breached"]
    assert totals["reviews"] == report["regulator"]["reviews"]
    assert {(r["kind"], r["id"]): r["received"] for r in figures["by_respondent"]} == {
        (r["kind"], r["id"]): r["complaints"] for r in report["by_respondent"]}
    # each axis: its top level adds up to the totals, each heading to its children
    for axis in "ABC":
        rows = {r["code"]: r for r in figures["axes"][axis]}
        top = [r for r in figures["axes"][axis] if r["depth"] == 1]
        for measure in MEASURES[:-1]:
            assert sum(r[measure] for r in top) == totals[measure], (axis, measure)
        for code in TABLE.codes[axis].values():
            children = TABLE.children(axis, code.code)
            if children:
                assert rows[code.code]["received"] == sum(rows[c.code]["received"] for c in children)


def test_the_workbook_reads_back_with_the_templates_header_and_the_figures(any_archive: Archive) -> None:
    coded_archive(any_archive, 300)
    figures = build_return(any_archive.engine, Quarter(2026, 4), TABLE, "Example Bank")
    book = load_workbook(BytesIO(xlsx_bytes(figures, TABLE)))
    assert book.sheetnames == ["A 投诉业务办理渠道", "B 投诉业务类型", "C 投诉原因", "A×B×C", "被投诉对象 Respondents"]
    b = book["B 投诉业务类型"]
    assert b["B2"].value == "Example Bank" and b["B3"].value == "2026Q4" and b["A4"].value == "单位 Units"
    assert b["C3"].value.startswith("2026-10-01 至 2026-12-31")
    header = [cell.value for cell in b[6]]
    assert header[:3] == ["编码 Code", "名称 Name", "English"] and header[3].startswith("受理")
    rows = {r[0]: r for r in b.iter_rows(min_row=7, values_only=True)}
    cards = next(r for r in figures["axes"]["B"] if r["code"] == "03")
    assert list(rows["03"][3:]) == [cards[m] for m in MEASURES] and rows["03"][1] == "银行卡"
    assert list(rows["合计 Total"][3:]) == [figures["totals"][m] for m in MEASURES]
    cross = list(book["A×B×C"].iter_rows(min_row=7, values_only=True))
    assert sum(r[6] for r in cross[:-1]) == figures["totals"]["received"]


def test_the_csv_has_one_row_per_code_and_combination(archive: Archive) -> None:
    coded_archive(archive, 200)
    figures = build_return(archive.engine, Quarter(2026, 3), TABLE, "Example Bank")
    rows = csv_rows(figures)
    assert rows[0][:1] == ("total",) and rows[0][5] == figures["totals"]["received"]
    assert sum(1 for r in rows if r[0] == "cross") == len(figures["cross"])
    assert {r[1] for r in rows if r[0] == "A"} >= set(TABLE.codes["A"])


@pytest.mark.parametrize("text", ["2026Q5", "2026-Q4", "Q4 2026", ""])
def test_a_malformed_quarter_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a quarter like 2026Q4"):
        Quarter.parse(text)


def test_quarters_span_their_three_months() -> None:
    assert Quarter.parse("2026q1").period.end == date(2026, 3, 31)
    assert Quarter.parse("2026Q4").period.start == date(2026, 10, 1)
    assert Quarter.parse(" 2024Q1 ").period.end == date(2024, 3, 31)


def test_the_cli_writes_the_return_as_csv_and_as_a_workbook(archive: Archive, tmp_path: Path) -> None:
    coded_archive(archive, 200)
    url = str(archive.engine.url)
    env = {"COMPLAINTS_DB_URL": url, "COMPLAINTS_INSTITUTION_NAME": "示例银行 Example Bank", "COLUMNS": "200"}
    figures = build_return(archive.engine, Quarter(2026, 4), TABLE, "示例银行 Example Bank")

    done = CliRunner().invoke(app, ["report", "--regulatory", "--quarter", "2026Q4", "--format", "csv"], env=env)
    assert done.exit_code == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert tuple(rows[0]) == CSV_HEADER and rows[1][0] == "total"
    assert [int(v) for v in rows[1][5:13]] == [figures["totals"][m] for m in MEASURES[:-1]]

    workbook = tmp_path / "2026Q4.xlsx"
    done = CliRunner().invoke(app, ["report", "--regulatory", "--quarter", "2026Q4", "--format", "xlsx",
                                    "--output", str(workbook)], env=env)
    assert done.exit_code == 0, done.stderr
    sheet = load_workbook(workbook)["A×B×C"]
    assert sheet["B2"].value == "示例银行 Example Bank" and sheet["B3"].value == "2026Q4"
    assert len(list(sheet.iter_rows(min_row=7))) == len(figures["cross"]) + 1  # and the total

    table = CliRunner().invoke(app, ["report", "--regulatory", "--quarter", "2026Q4"], env=env)
    assert table.exit_code == 0 and "quarterly return 2026Q4" in table.stdout and "银行卡" in table.stdout


@pytest.mark.parametrize("args, message", [
    (["--regulatory"], "--quarter: the quarter to report, e.g. 2026Q4"),
    (["--regulatory", "--quarter", "2026Q5"], "--quarter: '2026Q5' is not a quarter like 2026Q4"),
    (["--regulatory", "--quarter", "2026Q4", "--format", "xlsx"], "--output: an xlsx workbook needs a file"),
    (["--quarter", "2026Q4"], "--quarter: only with --regulatory"),
    (["--from", "2026-10-01", "--to", "2026-12-31", "--format", "xlsx"], "--format: xlsx only with --regulatory"),
])
def test_bad_options_of_the_return_are_named(archive: Archive, args: list[str], message: str) -> None:
    done = CliRunner().invoke(app, ["report", *args], env={"COMPLAINTS_DB_URL": str(archive.engine.url),
                                                           "COLUMNS": "200"})
    assert done.exit_code == 2
    assert message in " ".join(re.sub(r"[│╭╮╰╯─]", " ", done.stderr).split())


async def test_managers_and_auditors_get_the_return_from_the_api(archive: Archive, settings: Settings) -> None:
    coded_archive(archive, 200)
    keys = {"manager": "k-m", "auditor": "k-a", "handler": "k-h"}
    api = create_app(dataclasses.replace(settings, db_url=str(archive.engine.url), institution_name="Example Bank",
                                         api_keys=",".join(f"{k}:{role}" for role, k in keys.items())))
    figures = build_return(archive.engine, Quarter(2026, 3), TABLE, "Example Bank")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://api") as http:
        def get(role: str, query: str) -> Any:
            return http.get(f"/reports/regulatory?{query}", headers={"Authorization": f"Bearer {keys[role]}"})

        answer = await get("auditor", "quarter=2026Q3")
        assert answer.status_code == 200 and answer.json() == figures
        workbook = await get("manager", "quarter=2026Q3&format=xlsx")
        assert workbook.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert 'filename="complaints-2026Q3.xlsx"' in workbook.headers["content-disposition"]
        assert load_workbook(BytesIO(workbook.content))["A 投诉业务办理渠道"]["B2"].value == "Example Bank"
        table = list(csv.reader(io.StringIO((await get("manager", "quarter=2026Q3&format=csv")).text)))
        assert tuple(table[0]) == CSV_HEADER and len(table) == 1 + len(csv_rows(figures))
        assert (await get("handler", "quarter=2026Q3")).status_code == 403
        refused = await get("manager", "quarter=2026-3")
        assert refused.status_code == 422
        assert refused.json()["detail"] == [{"field": "quarter", "reason": "'2026-3' is not a quarter like 2026Q4"}]
