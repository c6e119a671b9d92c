"""`complaints report`: the management report of a period, as a table, JSON or CSV, and a chart.

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

from complaints.domain.workdays import HolidayFileError, WorkingCalendar, parse_holiday_file
from complaints.infra.db import engine_for
from complaints.infra.migrations import SchemaBehind, require_current_schema
from complaints.infra.settings import Settings
from complaints.reports import Period, build_report, csv_rows, draw_chart


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


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
    start: str = typer.Option(..., "--from", help="First day of the period, YYYY-MM-DD (Asia/Shanghai)."),
    end: str = typer.Option(..., "--to", help="Last day of the period, YYYY-MM-DD, included."),
    output: Format = typer.Option(Format.table, "--format", help="table, json or csv."),
    chart: Path | None = typer.Option(None, "--chart", help="Also draw the charts into this PNG file."),
    top: int = typer.Option(10, "--top", min=1, help="How many root causes to list."),
) -> None:
    """Management report: volumes, deadline compliance, escalations, handling time, satisfaction."""
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
