"""`complaints report`: the management report of a period, as a table, JSON or CSV, and a chart;
with `--regulatory --quarter 2026Q4`, the regulator's quarterly return in JR/T 0169-2018 codes,
as a table, JSON, CSV or an XLSX workbook.

Only counts and codes are printed (categories, channels, respondents' kinds and ids, root
causes): no complainant appears, not even among the repeat complainants.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import typer

from complaints.domain.codes import CodeError, CodeTable
from complaints.domain.workdays import HolidayFileError, WorkingCalendar, parse_holiday_file
from complaints.infra.db import engine_for
from complaints.infra.migrations import SchemaBehind, require_current_schema
from complaints.infra.settings import Settings
from complaints.regulatory import MEASURES, Quarter, build_return, csv_text, xlsx_bytes
from complaints.reports import Period, build_report, csv_rows, draw_chart


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date YYYY-MM-DD", param_hint=option) from None


def _calendar(holiday_file: str | None) -> WorkingCalendar:
    if not holiday_file:
        return WorkingCalendar()
    try:
        return WorkingCalendar(parse_holiday_file(Path(holiday_file).read_text(encoding="utf-8")))
    except (OSError, HolidayFileError) as err:
        raise typer.BadParameter(f"{holiday_file}: {err}", param_hint="COMPLAINTS_HOLIDAY_FILE") from None


def report(
    start: str | None = typer.Option(None, "--from", help="First day of the period, YYYY-MM-DD (Asia/Shanghai)."),
    end: str | None = typer.Option(None, "--to", help="Last day of the period, YYYY-MM-DD, included."),
    output: Format = typer.Option(Format.table, "--format", help="table, json or csv; with --regulatory also xlsx."),
    chart: Path | None = typer.Option(None, "--chart", help="Also draw the charts into this PNG file."),
    top: int = typer.Option(10, "--top", min=1, help="How many root causes to list."),
    regulatory: bool = typer.Option(False, "--regulatory",
                                    help="The regulator's quarterly return in JR/T 0169-2018 codes instead."),
    quarter: str | None = typer.Option(None, "--quarter", help="With --regulatory: the quarter, e.g. 2026Q4."),
    destination: Path | None = typer.Option(None, "--output", help="With --regulatory: write to this file "
                                            "instead of standard output (an xlsx workbook needs one)."),
) -> None:
    """Management report: volumes, deadline compliance, escalations, handling time, satisfaction;
    with --regulatory --quarter, the regulator's quarterly return."""
    if regulatory:
        return regulatory_return(quarter, output, destination)
    for given, option in ((quarter, "--quarter"), (destination, "--output")):
        if given is not None:
            raise typer.BadParameter("only with --regulatory", param_hint=option)
    if output is Format.xlsx:
        raise typer.BadParameter("xlsx only with --regulatory (the management report: table, json or csv)",
                                 param_hint="--format")
    if start is None or end is None:
        raise typer.BadParameter("the period's first and last day are needed (or --regulatory --quarter)",
                                 param_hint="--from" if start is None else "--to")
    first, last = _date(start, "--from"), _date(end, "--to")
    if last < first:
        raise typer.BadParameter(f"{last} is before --from {first}", param_hint="--to")
    if chart and not chart.parent.is_dir():
        _stop(f"report not made: --chart: there is no folder {chart.parent}")
    settings = Settings.from_env()
    calendar = _calendar(settings.holiday_file)
    engine = engine_for(settings.db_url)
    try:
        require_current_schema(engine)
    except SchemaBehind as err:
        _stop(f"report not made: {err}")
    figures = build_report(engine, Period(first, last), calendar, top=top)
    if output is Format.json:
        typer.echo(json.dumps(figures, indent=2, ensure_ascii=False))
    elif output is Format.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(("section", "item", "measure", "value"))
        writer.writerows(csv_rows(figures))
    else:
        _print_tables(figures)
    if chart:
        try:
            draw_chart(figures, str(chart))
        except OSError as err:
            _stop(f"chart not written: {chart}: {err.strerror or err}")
        typer.echo(f"chart written to {chart}", err=output is not Format.table)


def regulatory_return(quarter: str | None, output: Format, destination: Path | None) -> None:
    """The quarterly return of `complaints report --regulatory --quarter 2026Q4`."""
    if quarter is None:
        raise typer.BadParameter("the quarter to report, e.g. 2026Q4", param_hint="--quarter")
    try:
        which = Quarter.parse(quarter)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--quarter") from None
    if output is Format.xlsx and destination is None:
        raise typer.BadParameter("an xlsx workbook needs a file to go to", param_hint="--output")
    if destination and not destination.parent.is_dir():
        _stop(f"return not made: --output: there is no folder {destination.parent}")
    settings = Settings.from_env()
    try:
        table = CodeTable.load(settings.codes_file)
    except CodeError as err:
        _stop(f"return not made: {err}")
    engine = engine_for(settings.db_url)
    try:
        require_current_schema(engine)
    except SchemaBehind as err:
        _stop(f"return not made: {err}")
    figures = build_return(engine, which, table, settings.institution_name)
    if output is Format.xlsx:
        content: str | bytes = xlsx_bytes(figures, table)
    elif output is Format.json:
        content = json.dumps(figures, indent=2, ensure_ascii=False) + "\n"
    elif output is Format.csv:
        content = csv_text(figures)
    elif destination is None:
        return _print_return(figures)
    else:
        raise typer.BadParameter("a table goes to the terminal; to a file: csv, json or xlsx", param_hint="--format")
    if destination is None:
        typer.echo(content, nl=False)
        return
    try:
        destination.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    except OSError as err:
        _stop(f"return not written: {destination}: {err.strerror or err}")
    typer.echo(f"{which} return written to {destination}", err=True)


def _print_return(r: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    p = r["period"]
    console.print(f"[bold]{r['institution']}: quarterly return {r['quarter']}[/] ({p['from']} to {p['to']}, "
                  f"{p['timezone']}; codes of {r['edition']})")
    for axis, rows in r["axes"].items():
        t = Table(title=f"Axis {axis}")
        t.add_column("code")
        t.add_column("name")
        for m in MEASURES:
            t.add_column(m.replace("_", " "), justify="right")
        for row in [*rows, {"code": "total", "name": "", "depth": 1, **r["totals"]}]:
            t.add_row(row["code"], "  " * (row["depth"] - 1) + row["name"],
                      *("–" if row[m] is None else str(row[m]) for m in MEASURES))
        console.print(t)
    console.print(f"{len(r['cross'])} combinations of A x B x C and {len(r['by_respondent'])} respondents: "
                  "--format csv, json or xlsx lists them")


def _stop(reason: str) -> NoReturn:
    """One line on standard error and exit code 2 (bad input), never a traceback."""
    typer.echo(reason, err=True)
    raise typer.Exit(2)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _print_tables(r: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    p = r["period"]
    console.print(f"[bold]Complaints report {p['from']} to {p['to']}[/] ({p['timezone']} dates, both included)")
    outcomes = ", ".join(f"{k} {v}" for k, v in r["closed_by_outcome"].items())
    console.print(f"received {r['received']}, closed {r['closed']} ({outcomes})")

    t = Table(title="Deadline compliance (complaints received in the period)")
    for col in ("deadline", "met", "breached", "open", "cancelled", "met %", "breached %", "open %", "on time"):
        t.add_column(col, justify="left" if col == "deadline" else "right")
    for name, d in r["deadlines"].items():
        t.add_row(name, *(str(d[s]) for s in ("met", "breached", "open", "cancelled")),
                  _pct(d["met_rate"]), _pct(d["breached_rate"]), _pct(d["open_rate"]), _pct(d["compliance"]))
    console.print(t)

    def counts(title: str, values: dict[str, int], key: str, unit: str = "complaints", limit: int = 0) -> None:
        table = Table(title=title)
        table.add_column(key)
        table.add_column(unit, justify="right")
        shown = list(values.items())[:limit] if limit else list(values.items())
        for k, v in shown:
            table.add_row(k, str(v))
        if len(shown) < len(values):
            table.add_row(f"... {len(values) - len(shown)} more (--format json or csv lists all)", "")
        console.print(table)

    counts("By category (received)", r["by_category"], "category")
    counts("By channel (received)", r["by_channel"], "channel")
    counts("By severity (received)", r["by_severity"], "severity")
    counts("By respondent (received)", {f"{x['kind']} {x['id']}": x["complaints"] for x in r["by_respondent"]},
           "respondent", limit=20)
    counts("Escalations raised, by source", r["escalations_by_source"], "source", unit="escalations")
    counts("Notices written, by delivery (failed: never reached their person)", r["deliveries"], "state",
           unit="notices")
    counts("Satisfaction (closed)", r["satisfaction"], "score")
    counts("Top root causes (closed)", {x["root_cause"]: x["complaints"] for x in r["root_causes"]}, "root cause")
    h = r["handling_working_days"]
    console.print(f"Handling time of the {h['complaints']} resolved complaints closed in the period, in working "
                  f"days: median {h['median']}, 90th percentile {h['p90']}, longest {h['max']}"
                  + (" (provisional: a year the calendar does not know yet counts weekends only)"
                     if h["calendar_provisional"] else ""))
    rep = r["repeat_complainants"]
    console.print(f"Repeat complainants: {rep['complainants']} people filed {rep['complaints']} complaints")
    counts("Regulator's clock (received)", r["regulator"], "action", unit="count")
    t = Table(title="Prevention alarms raised (`complaints prevention` lists those still open)")
    for col in ("alarm", "state", "found", "complaints", "plan"):
        t.add_column(col)
    for a in r["prevention_alarms"]:
        t.add_row(a["alarm_id"], a["state"], a["description"], ", ".join(a["complaint_ids"]),
                  f"{a['plan']} (review {a['review_on']})" if a["plan"] else "-")
    console.print(t)
