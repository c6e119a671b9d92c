"""The operators' commands: `serve`, `status`, `list`, `escalate`, `act`, `cases`, `ack`.

Each is a thin shell over `complaints.desk.Desk`, like the HTTP API: a missing complaint,
a refused action or a bad field is one line on standard error and an exit code
(2 bad input, 3 not found, 4 refused, 5 Temporal or archive unavailable), never a traceback.
`db reconcile` ends with 6 when it finds complaints to look into, so a scheduled run can alert.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Optional

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from complaints.desk import (Desk, DeskError, Filters, Invalid, Listed, NotFound, Refused, Stranded, Unavailable,
                             open_desk)
from complaints.domain.models import ACTION_INPUTS, ComplaintStatus, OpenCases
from complaints.domain.workdays import local_time
from complaints.infra.settings import Settings

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
EXIT_CODES: dict[type[DeskError], int] = {Invalid: 2, NotFound: 3, Refused: 4, Unavailable: 5}
STRANDED_FOUND = 6
LABELS: dict[type[DeskError], str] = {Invalid: "invalid", NotFound: "not found", Refused: "refused",
                                      Unavailable: "unavailable"}


def on_desk(work: Callable[[Desk], Awaitable[None]]) -> None:
    """Run `work` on a desk; a desk error becomes one line on standard error and an exit code."""

    async def go() -> None:
        async with open_desk(Settings.from_env()) as desk:
            await work(desk)

    try:
        asyncio.run(go())
    except DeskError as error:
        fail(type(error), str(error))


def fail(kind: type[DeskError], message: str) -> None:
    err.print(Text(f"{LABELS[kind]}: {message}"), soft_wrap=True)
    raise typer.Exit(EXIT_CODES[kind])


def local(moment: datetime | None) -> str:
    return local_time(moment) if moment else "-"


def dump(value: BaseModel | list[Any]) -> None:
    data = [v.model_dump(mode="json") for v in value] if isinstance(value, list) else value.model_dump(mode="json")
    out.print_json(json.dumps(data, ensure_ascii=False))


def serve(host: str = typer.Option("127.0.0.1", envvar="COMPLAINTS_API_HOST", help="address to listen on")) -> None:
    """Run the HTTP API on COMPLAINTS_API_PORT (default 8000); docs at /docs."""
    import uvicorn

    from complaints.api.app import create_app
    from complaints.infra import logging as logs

    settings = Settings.from_env()
    logs.configure()
    uvicorn.run(create_app(settings), host=host, port=settings.api_port, log_config=None)


def status(complaint_id: str, as_json: bool = typer.Option(False, "--json", help="print the raw status")) -> None:
    """Show a complaint: stage, deadlines, escalations, and the actions its stage accepts."""

    async def work(desk: Desk) -> None:
        s = await desk.status(complaint_id)
        dump(s) if as_json else show_status(s)

    on_desk(work)


def show_status(s: ComplaintStatus) -> None:
    out.print(Text.assemble(("Complaint ", ""), (s.complaint_id, "bold"), "  stage ", (s.stage.value, "bold cyan"),
                            f"  ({s.channel.value}, {s.category or '-'}, {s.severity or '-'})"))
    facts = [f"received {local(s.received_at)}", f"handler {s.handler or '-'}"]
    facts += [f"lead {s.lead}"] if s.lead else []
    facts += [f"outcome {s.outcome.value}"] if s.outcome else []
    facts += ["paused"] if s.paused else []
    facts += ["calendar provisional"] if s.calendar_provisional else []
    out.print(Text("; ".join(facts)))
    deadlines = Table("deadline", "due (Asia/Shanghai)", "state", title="Deadlines", title_justify="left")
    for name, due in s.deadlines.items():
        state = ("BREACHED" if name in s.breaches else f"met {local(s.met[name])}" if name in s.met
                 else "next" if name == s.next_deadline else "open")
        deadlines.add_row(name, local(due), Text(state, style="red" if state == "BREACHED" else ""))
    out.print(deadlines)
    if s.escalations:
        escalations = Table("source", "by", "at", "reason", title="Escalations", title_justify="left")
        for e in s.escalations:
            escalations.add_row(e.source.value, e.by, local(e.at), e.reason)
        out.print(escalations)
    if s.reviews:
        out.print(Text(f"reviews: {', '.join(s.reviews)}"))
    out.print(Text(f"accepts now: {', '.join(s.accepts) or 'nothing'}"))


def list_complaints(
    stage: Optional[str] = typer.Option(None, help="receipt, assessment, ..., closed"),
    category: Optional[str] = typer.Option(None, help="e.g. collection.abusive"),
    severity: Optional[str] = typer.Option(None, help="urgent, high or normal"),
    channel: Optional[str] = typer.Option(None, help="phone, email, sms, ..."),
    escalated: Optional[bool] = typer.Option(None, "--escalated/--not-escalated"),
    breached: Optional[bool] = typer.Option(None, "--breached/--not-breached"),
    limit: int = typer.Option(100, help="at most this many rows"),
    as_json: bool = typer.Option(False, "--json", help="print the rows as JSON"),
) -> None:
    """List complaints from Temporal visibility, filtered as the API's GET /complaints."""

    async def work(desk: Desk) -> None:
        filters = Filters.parse(dict(stage=stage, category=category, severity=severity, channel=channel,
                                     escalated=escalated, breached=breached, limit=limit))
        rows = await desk.list(filters)
        dump(rows) if as_json else show_list(rows)

    on_desk(work)


def show_list(rows: list[Listed]) -> None:
    table = Table("complaint", "stage", "category", "severity", "channel", "escalated", "breached",
                  "next deadline (Asia/Shanghai)", "filed", title=f"{len(rows)} complaints", title_justify="left")
    for r in rows:
        table.add_row(r.complaint_id, r.stage or "-", r.category or "-", r.severity or "-", r.channel or "-",
                      "yes" if r.escalated else "", "yes" if r.breached else "", local(r.next_deadline),
                      local(r.started_at))
    out.print(table)


def escalate(complaint_id: str, reason: str = typer.Option(..., help="why the emergency team must act"),
             by: str = typer.Option(..., help="the escalating manager")) -> None:
    """Escalate a complaint to the emergency team (as a manager)."""

    async def work(desk: Desk) -> None:
        await desk.escalate(complaint_id, {"reason": reason, "by": by})
        out.print(Text(f"{complaint_id}: escalated to the emergency team"))

    on_desk(work)


def act(
    complaint_id: str,
    update: str = typer.Argument(..., help=f"one of {', '.join(ACTION_INPUTS)}"),
    fields: list[str] = typer.Argument(None, help="key=value pairs; repeat a key for a list"),
    payload_json: Optional[str] = typer.Option(None, "--json", help="the whole payload as a JSON object"),
) -> None:
    """Take a handler action: `act C123 assess handler=h.zhang category=service.fees severity=normal`."""
    payload = parse_payload(update, fields or [], payload_json)

    async def work(desk: Desk) -> None:
        s = await desk.act(complaint_id, update, payload)
        out.print(Text(f"{complaint_id}: {update} accepted; stage {s.stage.value}; "
                       f"accepts now: {', '.join(s.accepts) or 'nothing'}"))

    on_desk(work)


def parse_payload(update: str, fields: list[str], payload_json: str | None) -> dict[str, Any]:
    """The update's payload from --json and key=value pairs, typed by the update's own model."""
    payload: dict[str, Any] = {}
    if payload_json:
        try:
            payload = json.loads(payload_json)
        except json.JSONDecodeError:
            fail(Invalid, "--json: is not valid JSON")
        if not isinstance(payload, dict):
            fail(Invalid, "--json: must be a JSON object")
    model = ACTION_INPUTS.get(update)
    props = model.model_json_schema().get("properties", {}) if model else {}
    for item in fields:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            fail(Invalid, f"{item.split('=')[0] or item}: write key=value")
        spec = props.get(key, {})
        kinds = {spec.get("type")} | {alt.get("type") for alt in spec.get("anyOf", [])}
        if "array" in kinds:
            values = _json_or(raw, None) if raw.startswith("[") else None
            payload[key] = values if isinstance(values, list) else [*payload.get(key, []), raw]
        elif kinds & {"boolean", "integer", "number"} or raw[:1] in "{[":
            payload[key] = _json_or(raw, raw)
        else:
            payload[key] = raw
    return payload


def _json_or(raw: str, fallback: Any) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return fallback


def cases(as_json: bool = typer.Option(False, "--json", help="print the cases as JSON")) -> None:
    """The emergency team's open cases, oldest escalation first."""

    async def work(desk: Desk) -> None:
        found = await desk.open_cases()
        dump(found) if as_json else show_cases(found)

    on_desk(work)


def show_cases(found: OpenCases) -> None:
    table = Table("complaint", "severity", "category", "stage", "first escalated", "sources", "lead",
                  title=f"{len(found.cases)} open emergency cases", title_justify="left")
    for c in found.cases:
        table.add_row(c.complaint_id, c.severity or "-", c.category or "-", c.stage or "-",
                      local(c.first_escalated_at), ", ".join(sorted({e.source.value for e in c.escalations})),
                      c.lead or "-")
    out.print(table)


def ack(complaint_id: str, lead: str = typer.Option(..., help="who leads the case")) -> None:
    """Acknowledge an emergency case and name its lead (as the emergency team)."""

    async def work(desk: Desk) -> None:
        case = await desk.acknowledge(complaint_id, lead)
        out.print(Text(f"{case.complaint_id}: lead {case.lead}"))

    on_desk(work)


def reconcile(as_json: bool = typer.Option(False, "--json", help="print the complaints as JSON")) -> None:
    """Archived-open complaints whose workflow will not close them: terminated, failed, timed
    out, gone, or reset in the Web UI. Exit code 6 when there are any, 0 when none."""

    async def work(desk: Desk) -> None:
        found = await desk.reconcile()
        dump(found) if as_json else show_stranded(found)
        if found:
            raise typer.Exit(STRANDED_FOUND)

    on_desk(work)


def show_stranded(found: list[Stranded]) -> None:
    table = Table("complaint", "archived stage", "received", "workflow", "ended",
                  title=f"{len(found)} archived-open complaints whose workflow will not close them",
                  title_justify="left")
    for s in found:
        table.add_row(s.complaint_id, s.archived_stage, local(s.received_at), s.workflow, local(s.ended_at))
    out.print(table)


def register(app: typer.Typer) -> None:
    for command, name in ((serve, "serve"), (status, "status"), (list_complaints, "list"), (escalate, "escalate"),
                          (act, "act"), (cases, "cases"), (ack, "ack")):
        app.command(name)(command)
