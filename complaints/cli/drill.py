"""`complaints drill`: an emergency drill through the real process, and its report (table, JSON
file, chart). Exit code 8 when the plan failed the drill: an acknowledgement missed or a staff
notice that did not go out."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from complaints.cli.operate import err, fitted, on_desk, out
from complaints.desk import Desk
from complaints.drills import Drill, Progress, Scenario, draw_drill_chart

FAILED_DRILL = 8


def window_of(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*(s|m)\s*", text)
    if not match or int(match.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r} is not a window like '90s' or '10m'", param_hint="--wait")
    return timedelta(**{"seconds" if match.group(2) == "s" else "minutes": int(match.group(1))})


def drill(
    scenario: Scenario = typer.Option(Scenario.urgent, "--scenario", help="urgent: escalated at receipt; breach: "
                                      "a deadline left to pass; rejection: the solution rejected twice"),
    n: int = typer.Option(1, "--n", min=1, max=20, help="how many drill complaints"),
    wait: str = typer.Option("10m", "--wait", help="the drill window: how long the team has to acknowledge, "
                             "from the start ('90s', '10m')"),
    report_dir: Path = typer.Option(Path("."), "--report-dir", help="where the JSON report and the chart go"),
) -> None:
    """Run an emergency drill: marked complaints through the real process, a real escalation the
    emergency team must acknowledge (`complaints ack ID --lead NAME`), deadlines in minutes; then
    close them and report the times and the notices. The complainant is never written to."""
    window = window_of(wait)
    if not report_dir.is_dir():
        raise typer.BadParameter(f"there is no folder {report_dir}", param_hint="--report-dir")

    async def work(desk: Desk) -> None:
        run = await Drill.start(desk, scenario, n)
        err.print(Text(f"drill {run.drill_id} ({scenario.value}): {n} complaints filed: "
                       f"{', '.join(run.complaint_ids)}; the team acknowledges with `complaints ack ID --lead NAME`"))
        try:
            await run.play()
            await run.watch(window, progress=Shown().show)
        finally:
            await run.end()
        report = await run.report()
        show(report)
        out.print(Text(f"report written to {', '.join(map(str, keep(report, report_dir)))}"))
        if not report["summary"]["passed"]:
            raise typer.Exit(FAILED_DRILL)

    on_desk(work)


class Shown:
    """Progress on standard error: a line when the counts change, and each minute."""

    def __init__(self) -> None:
        self.last: tuple[int, int, int] | None = None

    def show(self, p: Progress) -> None:
        now = (p.escalated, p.acknowledged, int(p.left.total_seconds()) // 60)
        if now != self.last:
            self.last = now
            err.print(Text(f"escalated {p.escalated}/{p.total}, acknowledged {p.acknowledged}/{p.total}; "
                           f"{int(p.left.total_seconds())} s of the window left"))


def keep(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """The report as JSON and as a chart, named after the drill, in `folder`."""
    data, chart = folder / f"drill-{report['drill']['id']}.json", folder / f"drill-{report['drill']['id']}.png"
    data.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    draw_drill_chart(report, str(chart))
    return data, chart


def show(report: dict[str, Any]) -> None:
    """The report's table, on standard output."""
    rows, summary, d = report["complaints"], report["summary"], report["drill"]

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} s"

    out.print(fitted(f"drill {d['id']} ({d['scenario']}, window {d['window_seconds']:.0f} s): "
                     f"{summary['acknowledged']} acknowledged, {summary['missed']} missed", {
                         "complaint": [r["complaint_id"] for r in rows],
                         "acknowledgement": [r["acknowledgement"].upper() if r["acknowledgement"] != "acknowledged"
                                             else "acknowledged" for r in rows],
                         "to escalation": [seconds(r["to_escalation"]) for r in rows],
                         "to acknowledgement": [seconds(r["to_acknowledgement"]) for r in rows],
                         "escalation": [r["escalation"] or "-" for r in rows],
                         "lead": [r["lead"] or "-" for r in rows],
                         "stages": ["\n".join(f"{s['stage']} {seconds(s['at'])}" for s in r["stages"]) for r in rows],
                         "notices": ["\n".join(f"{n['kind']} to {n['recipient']}: {n['status']}" for n in r["notices"])
                                     for r in rows],
                     }))
    out.print(Text(f"staff notices out: {summary['staff_notices_out']} of {summary['staff_notices']}; complainant "
                   f"notices suppressed: {summary['complainant_notices_suppressed']}; "
                   f"drill {'PASSED' if summary['passed'] else 'FAILED'}"))
    for n in summary["staff_notices_not_out"]:
        out.print(Text(f"not out: {n['kind']} to {n['recipient']}, {n['status']}"
                       + (f" ({n['last_error']})" if n["last_error"] else "")))
