"""`complaints prevention`: the alarms the `complaints-prevention` schedule raised, with their
figures and the complaints behind them; `complaints prevention ack ALARM --plan --review`
records the manager's action plan and the date the schedule checks whether the rate came down.

Exit codes as the operators' commands: 2 bad input, 3 no such alarm, 4 refused.
"""

from __future__ import annotations

import getpass
import json
from datetime import date, datetime, timezone

import typer
from rich.text import Text

from complaints.cli.operate import err, fitted, local, out
from complaints.domain.prevention import AlarmState
from complaints.domain.workdays import SHANGHAI
from complaints.infra.archive import Archive, archive_for
from complaints.infra.migrations import SchemaBehind, require_current_schema
from complaints.infra.settings import Settings

app = typer.Typer(help="Prevention alarms: rises, new kinds and substantiated complaints, per respondent, "
                       "category and channel.")


def opened() -> Archive:
    archive = archive_for(Settings.from_env())
    try:
        require_current_schema(archive.engine)
    except SchemaBehind as behind:
        stop(str(behind), 5)
    return archive


def stop(message: str, code: int) -> None:
    err.print(Text(message), soft_wrap=True)
    raise typer.Exit(code)


@app.callback(invoke_without_command=True)
def alarms(ctx: typer.Context,
           every: bool = typer.Option(False, "--all", help="also the alarms whose review found they came down"),
           as_json: bool = typer.Option(False, "--json", help="print the alarms as JSON")) -> None:
    """The alarms still to deal with (open, acknowledged, or not come down at review), newest first."""
    if ctx.invoked_subcommand:
        return
    found = opened().alarms(settled=every)
    if as_json:
        out.print_json(json.dumps([a.model_dump(mode="json") | {"state": a.state} for a in found],
                                  ensure_ascii=False))
        return
    show(found)


def show(found: list[AlarmState]) -> None:
    out.print(fitted(f"{len(found)} prevention alarms (times Asia/Shanghai)", {
        "alarm": [a.alarm_id for a in found],
        "state": [a.state for a in found],
        "kind": [f"{a.kind.value} {a.category}" if a.category else a.kind.value for a in found],
        "subject": [f"{a.dimension.value} {a.subject}" for a in found],
        "count": [str(a.count) for a in found],
        "baseline": [f"{a.baseline_mean:.2f}" for a in found],
        "p": [f"{a.p_value:.2g}" if a.p_value is not None else "-" for a in found],
        "complaints": ["\n".join(", ".join(a.complaint_ids[i:i + 3]) for i in range(0, len(a.complaint_ids), 3))
                       for a in found],
        "plan": [f"{a.plan}\n(review {a.review_on}, {a.acknowledged_by})" if a.plan else "-" for a in found],
        "at review": [str(a.review_count) if a.reviewed_at else "-" for a in found],
        "raised": [local(a.raised_at) for a in found],
    }))


@app.command("ack")
def ack(alarm_id: str = typer.Argument(..., metavar="ALARM", help="the alarm's id, e.g. P3F9A0C12DE"),
        plan: str = typer.Option(..., help="the action plan: what is done about it"),
        review: str = typer.Option(..., help="when the schedule checks whether the rate came down, YYYY-MM-DD"),
        by: str = typer.Option(default_factory=getpass.getuser, help="who acknowledges (default: this login)")) -> None:
    """Acknowledge an alarm with an action plan and a review date (after today, Asia/Shanghai)."""
    try:
        review_on = date.fromisoformat(review)
    except ValueError:
        raise typer.BadParameter(f"{review!r} is not a date YYYY-MM-DD", param_hint="--review") from None
    now = datetime.now(timezone.utc)
    if review_on <= now.astimezone(SHANGHAI).date():
        raise typer.BadParameter(f"{review_on} is not after today", param_hint="--review")
    if not plan.strip() or len(plan) > 2000:
        raise typer.BadParameter("an action plan of 1 to 2,000 characters", param_hint="--plan")
    archive = opened()
    found = archive.alarm(alarm_id)
    if found is None:
        stop(f"not found: no prevention alarm {alarm_id}", 3)
    if not archive.acknowledge_alarm(alarm_id, by, plan.strip(), review_on, now):
        stop(f"refused: alarm {alarm_id} was acknowledged already by {found['acknowledged_by']}", 4)
    out.print(Text(f"{alarm_id}: acknowledged by {by}; review on {review_on}"))
