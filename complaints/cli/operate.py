"""The operators' commands: `serve`, `status`, `list`, `escalate`, `act`, `cases`, `ack`.

Each is a thin shell over `complaints.desk.Desk`, like the HTTP API: a missing complaint,
a refused action or a bad field is one line on standard error and an exit code
(2 bad input, 3 not found, 4 refused, 5 Temporal or archive unavailable, 6 an action queued
because no worker answered in time), never a traceback. `db reconcile` ends with 7 when it finds
complaints to look into, so a scheduled run can alert.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any, NoReturn, Optional

import click
import typer
from pydantic import BaseModel
from rich.cells import cell_len
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text
from typer.core import TyperCommand

from complaints.desk import (
    ID_PATTERN,
    Desk,
    DeskError,
    Filters,
    Invalid,
    Listed,
    NotFound,
    Queued,
    Refused,
    Stranded,
    Unavailable,
    notices_of,
    open_desk,
    update_key,
)
from complaints.domain.models import ACTION_INPUTS, ACTION_ROLES, ComplaintStatus, NoticeState, OpenCases, Stage
from complaints.domain.people import ACTING_FIELD, NotThePerson, on_behalf
from complaints.domain.workdays import local_time
from complaints.infra.archive import archive_for
from complaints.infra.settings import SettingError, Settings, people_of, unconfigured_channels
from complaints.infra.temporal import codec_for, connect
from complaints.readiness import NOTICES, OK, failing, readiness

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
EXIT_CODES: dict[type[DeskError], int] = {Invalid: 2, NotFound: 3, Refused: 4, Unavailable: 5, Queued: 6}
STRANDED_FOUND = 7
LABELS: dict[type[DeskError], str] = {Invalid: "invalid", NotFound: "not found", Refused: "refused",
                                      Unavailable: "unavailable", Queued: "queued"}


def on_desk(work: Callable[[Desk], Awaitable[None]]) -> None:
    """Run `work` on a desk; a desk error becomes one line on standard error and an exit code."""

    async def go() -> None:
        async with open_desk(Settings.from_env()) as desk:
            await work(desk)

    try:
        asyncio.run(go())
    except DeskError as error:
        fail(type(error), str(error))


def fail(kind: type[DeskError], message: str) -> NoReturn:
    err.print(Text(f"{LABELS[kind]}: {message}"), soft_wrap=True)
    raise typer.Exit(EXIT_CODES[kind])


def local(moment: datetime | None, deadline: bool = False) -> str:
    return local_time(moment, deadline) if moment else "-"


def dump(value: BaseModel | list[Any]) -> None:
    data = [v.model_dump(mode="json") for v in value] if isinstance(value, list) else value.model_dump(mode="json")
    out.print_json(json.dumps(data, ensure_ascii=False))


def fitted(title: str, columns: dict[str, list[str]]) -> Table:
    """A table of the columns, most wanted first, that fit the terminal whole; the first (the
    complaint id) always. Rich would rather squeeze every column, the id too, into `C12AB…`."""
    width = {name: max(cell_len(line) for value in [name, *values] for line in value.splitlines() or [""])
             for name, values in columns.items()}
    shown: list[str] = []
    for name in columns:
        if not shown or sum(width[n] + 3 for n in [*shown, name]) + 1 <= out.width:
            shown.append(name)
    left_out = [name for name in columns if name not in shown]
    if left_out and any(columns.values()):
        title += f"; not shown: {', '.join(left_out)} (a wider terminal or --json shows them)"
    table = Table(title=title, title_justify="left")
    for name in shown:
        table.add_column(name, overflow="fold")
    for row in zip(*(columns[name] for name in shown)):
        table.add_row(*map(Text, row))
    return table


def serve(host: str = typer.Option("127.0.0.1", envvar="COMPLAINTS_API_HOST", help="address to listen on")) -> None:
    """Run the HTTP API on COMPLAINTS_API_PORT (default 8000); docs at /docs."""
    import uvicorn

    from complaints.api.app import create_app
    from complaints.infra import logging as logs
    from complaints.infra import tracing

    settings = Settings.from_env()
    logs.configure()
    tracing.from_env("complaintflow-api")
    uvicorn.run(create_app(settings), host=host, port=settings.api_port, log_config=None)


def status(complaint_id: Optional[str] = typer.Argument(None, help="a complaint id; none: the service's readiness"),
           as_json: bool = typer.Option(False, "--json", help="print the raw status")) -> None:
    """Show a complaint: stage, deadlines, escalations, and the actions its stage accepts. Without an
    id, the readiness checks of `/readyz` (exit 5 when a part is not ready)."""
    if complaint_id is None:
        return show_readiness(as_json)

    async def work(desk: Desk) -> None:
        s = await desk.status(complaint_id)
        dump(s) if as_json else show_status(s)

    on_desk(work)


def show_readiness(as_json: bool) -> None:
    settings = Settings.from_env()

    async def check() -> dict[str, str]:
        try:
            client = await connect(settings)
        except RuntimeError:
            client = None
        return await readiness(client, archive_for(settings), codec_for(settings), settings)

    checks = asyncio.run(check())
    if as_json:
        out.print_json(json.dumps(checks))
    else:
        for part, state in checks.items():
            colour = "green" if state == OK else "yellow" if part == NOTICES else "red"
            out.print(Text.assemble((f"{part:<9} ", "bold"), (state, colour)))
    if failing(checks):
        raise typer.Exit(EXIT_CODES[Unavailable])


def show_status(s: ComplaintStatus) -> None:
    out.print(Text.assemble(("Complaint ", ""), (s.complaint_id, "bold"), "  stage ", (s.stage.value, "bold cyan"),
                            f"  ({s.channel.value}, {s.category or '-'}, {s.severity or '-'})"))
    facts = [f"received {local(s.received_at)}", f"handler {s.handler or '-'}"]
    facts += [f"lead {s.lead}"] if s.lead else []
    facts += [f"outcome {s.outcome.value}"] if s.outcome else []
    facts += ["paused"] if s.paused else []
    facts += ["calendar provisional"] if s.calendar_provisional else []
    out.print(Text("; ".join(facts)))
    codes = [f"{axis} {code}" for axis, code in (("A", s.code_a), ("B", s.code_b), ("C", s.code_c)) if code]
    out.print(Text(f"JR/T 0169-2018 codes: {', '.join(codes) or 'none yet'}"))
    for label, ids in (("possible duplicate of", [s.possible_duplicate_of]), ("merged into", [s.merged_into]),
                       ("repeats merged into it", s.merged), ("review of", [s.review_of]), ("reviews", s.reviews)):
        if any(ids):
            out.print(Text(f"{label}: {', '.join(filter(None, ids))}"))
    deadlines = Table("deadline", "due (Asia/Shanghai)", "state", title="Deadlines", title_justify="left")
    for name, due in s.deadlines.items():
        state = deadline_state(s, name)
        deadlines.add_row(name, local(due, deadline=True), Text(state, style="red" if state == "BREACHED" else ""))
    out.print(deadlines)
    if s.extensions:
        extensions = Table("approver", "role", "days", "decision due", "reason", title="Extensions",
                           title_justify="left")
        for x in s.extensions:
            extensions.add_row(Text(x.approver), x.approver_role.value, str(x.days), local(x.decision_due),
                               Text(x.reason))
        out.print(extensions)
    if s.pauses:
        pauses = Table("by", "from", "until", "reason", title="Pauses", title_justify="left")
        for p in s.pauses:
            pauses.add_row(Text(p.by), local(p.started_at), local(p.resumed_at) if p.resumed_at else "still paused",
                           Text(p.reason))
        out.print(pauses)
    if s.escalations:
        escalations = Table("source", "by", "at", "reason", title="Escalations", title_justify="left")
        for e in s.escalations:
            escalations.add_row(e.source.value, Text(e.by), local(e.at), Text(e.reason))
        out.print(escalations)
    out.print(Text(f"accepts now: {', '.join(s.accepts) or 'nothing'}"))


def deadline_state(s: ComplaintStatus, name: str) -> str:
    """A deadline's state as the desk reads it: a closed complaint's unmet deadlines were cancelled
    with it (merged, withdrawn), they are no longer open."""
    if name in s.breaches:
        return "BREACHED"
    if name in s.met:
        return f"met {local(s.met[name])}"
    if s.stage is Stage.closed:
        return "cancelled"
    if name == "decision" and s.paused:
        return "paused"
    return "next" if name == s.next_deadline else "open"


def list_complaints(
    stage: Optional[str] = typer.Option(None, help="receipt, assessment, ..., closed"),
    category: Optional[str] = typer.Option(None, help="e.g. collection.abusive"),
    severity: Optional[str] = typer.Option(None, help="urgent, high or normal"),
    channel: Optional[str] = typer.Option(None, help="phone, email, sms, ..."),
    escalated: Optional[bool] = typer.Option(None, "--escalated/--not-escalated"),
    breached: Optional[bool] = typer.Option(None, "--breached/--not-breached"),
    code: Optional[str] = typer.Option(None, help="a JR/T 0169-2018 code with its axis, e.g. B:0302"),
    handler: Optional[str] = typer.Option(None, help="the person id holding the complaints (a people file)"),
    limit: int = typer.Option(100, help="at most this many rows"),
    as_json: bool = typer.Option(False, "--json", help="print the rows as JSON"),
) -> None:
    """List complaints from Temporal visibility, filtered as the API's GET /complaints."""

    async def work(desk: Desk) -> None:
        filters = Filters.parse(dict(stage=stage, category=category, severity=severity, channel=channel,
                                     escalated=escalated, breached=breached, code=code, handler=handler,
                                     limit=limit))
        rows = await desk.list(filters)
        dump(rows) if as_json else show_list(rows)

    on_desk(work)


def show_list(rows: list[Listed]) -> None:
    out.print(fitted(f"{len(rows)} complaints (times Asia/Shanghai)", {
        "complaint": [r.complaint_id for r in rows],
        "stage": [r.stage or "-" for r in rows],
        "next deadline": [local(r.next_deadline, deadline=True) for r in rows],
        "flags": ["\n".join(flag for flag, on in (("escalated", r.escalated), ("breached", r.breached),
                                                  ("paused", r.paused)) if on) for r in rows],
        "severity": [r.severity or "-" for r in rows],
        "category": [r.category or "-" for r in rows],
        "channel": [r.channel or "-" for r in rows],
        "codes": [" ".join(r.codes) or "-" for r in rows],
        "filed": [local(r.started_at) for r in rows],
    }))


def escalate(complaint_id: str, reason: str = typer.Option(..., help="why the emergency team must act"),
             by: str = typer.Option(..., help="the escalating manager (a person id with a people file)")) -> None:
    """Escalate a complaint to the emergency team (as a manager)."""
    payload = as_person("escalate", {"reason": reason}, by, "--by")

    async def work(desk: Desk) -> None:
        await desk.escalate(complaint_id, payload)
        out.print(Text(f"{complaint_id}: escalated to the emergency team"))

    on_desk(work)


def act(
    complaint_id: str,
    update: str = typer.Argument(..., help=f"one of {', '.join(ACTION_INPUTS)}"),
    fields: list[str] = typer.Argument(None, help="key=value pairs; repeat a key for a list; "
                                                  "parent.key=value for a nested field"),
    payload_json: Optional[str] = typer.Option(None, "--json", help="the whole payload as a JSON object"),
    key: Optional[str] = typer.Option(None, "--key", help="the action's Idempotency-Key: give the key a queued or "
                                      "unanswered action printed to see its outcome; it is never applied twice"),
    person: Optional[str] = typer.Option(None, "--as", help="who acts, by person id: required with "
                                         "COMPLAINTS_PEOPLE_FILE and checked against it; fills handler (by for assign)"),
) -> None:
    """Take a handler action: `act C123 assess handler=h.zhang category=service.fees severity=normal`.

    `complaints act ACTION --help` lists the fields of that action.
    """
    payload = as_person(update, parse_payload(update, fields or [], payload_json), person)

    async def work(desk: Desk) -> None:
        sent = update_key(key)
        again = f"to see its outcome or retry without applying it twice, repeat this command with --key {sent}"
        try:
            s = await desk.act(complaint_id, update, payload, sent)
        except Queued:
            fail(Queued, f"{update} on {complaint_id} is not yet checked or applied: no worker answered in time; "
                         f"{again}")
        except Unavailable as error:
            fail(Unavailable, f"{error}; {again}")
        out.print(Text(f"{complaint_id}: {update} accepted; stage {s.stage.value}; "
                       f"accepts now: {', '.join(s.accepts) or 'nothing'}"))

    on_desk(work)


def as_person(action: str, payload: dict[str, Any], person_id: str | None, option: str = "--as") -> dict[str, Any]:
    """The payload as `person_id` sends it. With a people file the person must be there with the
    action's role, and the payload is checked and filled as the API does for a person's key; without
    one, `person_id` only fills the acting field (handler, by, lead)."""
    field = ACTING_FIELD.get(action, "handler")
    try:
        people = people_of(Settings.from_env().people_file)
    except SettingError as error:
        fail(Invalid, str(error))
    if people is None:
        if person_id and payload.get(field, person_id) != person_id:
            fail(Refused, f"{field}: must be {person_id}, the person {option} names, or be left out")
        return {field: person_id, **payload} if person_id else payload
    role = ACTION_ROLES.get(action, "handler")
    who = people.person(person_id) if person_id else None
    if who is None or who.role != role:
        fail(Refused, f"{option}: {action} needs a {role} of COMPLAINTS_PEOPLE_FILE, named by person id")
    try:
        return on_behalf(people, who, action, payload)
    except NotThePerson as error:
        fail(Refused, str(error))


def parse_payload(update: str, fields: list[str], payload_json: str | None) -> dict[str, Any]:
    """The update's payload from --json and key=value pairs, typed by the update's own model."""
    model = ACTION_INPUTS.get(update)
    if model is None:
        fail(Invalid, f"unknown action {update!r}; actions are {', '.join(ACTION_INPUTS)}")
    payload: dict[str, Any] = {}
    if payload_json:
        try:
            payload = json.loads(payload_json)
        except json.JSONDecodeError:
            fail(Invalid, "--json: is not valid JSON")
        if not isinstance(payload, dict):
            fail(Invalid, "--json: must be a JSON object")
    specs = {name: spec for name, spec, _ in action_fields(model)}
    for item in fields:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            fail(Invalid, f"{item.split('=')[0] or item}: write key=value")
        *parents, leaf = key.split(".")
        target = payload
        for depth, parent in enumerate(parents):
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                fail(Invalid, f"{'.'.join(parents[:depth + 1])}: is not an object, so it has no {leaf}")
        kind = specs.get(key, {}).get("type")
        if kind == "array":
            values = _json_or(raw, None) if raw.startswith("[") else None
            target[leaf] = values if isinstance(values, list) else [*target.get(leaf, []), raw]
        elif kind in ("boolean", "integer", "number") or raw[:1] in "{[":
            target[leaf] = _json_or(raw, raw)
        else:
            target[leaf] = raw
    return payload


def _json_or(raw: str, fallback: Any) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return fallback


def action_fields(model: type[BaseModel]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Each field of an action's model as (name, JSON schema, required): nested fields as
    `parent.child`, optional values and references resolved to the schema they stand for."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})

    def resolved(spec: dict[str, Any]) -> dict[str, Any]:
        alternatives = [alt for alt in spec.get("anyOf", [spec]) if alt.get("type") != "null"]
        one = alternatives[0] if len(alternatives) == 1 else spec
        return {**defs.get(one.get("$ref", "").rsplit("/", 1)[-1], one), **spec}

    def walk(node: dict[str, Any], prefix: str, optional_parent: str) -> Iterator[tuple[str, dict[str, Any], str]]:
        for name, spec in node.get("properties", {}).items():
            spec, needed = resolved(spec), name in node.get("required", [])
            if "properties" in spec:
                yield from walk(spec, f"{prefix}{name}.", optional_parent or ("" if needed else prefix + name))
            else:
                yield prefix + name, spec, "no" if not needed else f"with {optional_parent}" if optional_parent else "yes"

    yield from walk(schema, "", "")


def describe_field(spec: dict[str, Any]) -> tuple[str, str]:
    """A field's type, and its description with what it accepts, in the words a handler reads."""
    kind = spec.get("type")
    if "enum" in spec:
        kind, limits = "choice", [f"one of {', '.join(map(str, spec['enum']))}"]
    elif kind == "array":
        kind, limits = "list", [_bounds(spec["items"], "minLength", "maxLength", "characters each"),
                                _bounds(spec, "minItems", "maxItems", "items")]
    elif kind == "boolean":
        kind, limits = "true|false", []
    elif kind in ("integer", "number"):
        limits = [_bounds(spec, "minimum", "maximum", "")]
    else:
        kind, limits = "text", ["a complaint id" if spec.get("pattern") == ID_PATTERN
                                else _bounds(spec, "minLength", "maxLength", "characters")]
    if spec.get("default") not in (None, []):
        limits.append(f"default {json.dumps(spec['default'])}")
    return kind, " ".join(filter(None, [spec.get("description"), "; ".join(filter(None, limits))]))


def _bounds(spec: dict[str, Any], low: str, high: str, unit: str) -> str:
    least, most = spec.get(low), spec.get(high)
    span = f"{least:g} to {most:g}" if least is not None and most is not None else \
        f"at least {least:g}" if least is not None else f"at most {most:g}" if most is not None else ""
    return f"{span} {unit}".strip()


def show_action_help(action: str) -> None:
    model = ACTION_INPUTS[action]
    out.print(Text(f"Usage: complaints act COMPLAINT_ID {action} [FIELD=VALUE]... [--json OBJECT]"))
    out.print(Text(f"\nThe fields of {action} (a list field: repeat the key; a nested one: parent.field=value):"))
    table = Table("field", "type", "required", Column("description", overflow="fold"))
    for name, spec, required in action_fields(model):
        kind, description = describe_field(spec)
        table.add_row(name, kind, required, Text(description))
    out.print(table)


class ActCommand(TyperCommand):
    """`act`, whose --help names the fields of the action on its command line, if there is one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["action"] = next((arg for arg in args if arg in ACTION_INPUTS), None)
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        action = ctx.meta.get("action")
        show_action_help(action) if action else super().format_help(ctx, formatter)


def cases(as_json: bool = typer.Option(False, "--json", help="print the cases as JSON")) -> None:
    """The emergency team's open cases, oldest escalation first."""

    async def work(desk: Desk) -> None:
        found = await desk.open_cases()
        dump(found) if as_json else show_cases(found)

    on_desk(work)


def show_cases(found: OpenCases) -> None:
    cases = found.cases
    out.print(fitted(f"{len(cases)} open emergency cases (times Asia/Shanghai)", {
        "complaint": [c.complaint_id + ("\n[DRILL]" if c.drill else "") for c in cases],
        "stage": [c.stage or "-" for c in cases],
        "severity": [c.severity or "-" for c in cases],
        "sources": ["\n".join(sorted({e.source.value for e in c.escalations})) for c in cases],
        "lead": [c.lead or "-" for c in cases],
        "first escalated": [local(c.first_escalated_at) for c in cases],
        "category": [c.category or "-" for c in cases],
    }))


def ack(complaint_id: str, lead: str = typer.Option(..., help="who leads the case (a person id with a people file)")
        ) -> None:
    """Acknowledge an emergency case and name its lead (as the emergency team)."""
    lead = as_person("acknowledge", {}, lead, "--lead")["lead"]

    async def work(desk: Desk) -> None:
        case = await desk.acknowledge(complaint_id, lead)
        out.print(Text(f"{case.complaint_id}: lead {case.lead}"))

    on_desk(work)


def reconcile(as_json: bool = typer.Option(False, "--json", help="print the complaints as JSON")) -> None:
    """Archived-open complaints whose workflow will not close them: terminated, failed, timed
    out, gone, or reset in the Web UI. Exit code 7 when there are any, 0 when none."""

    async def work(desk: Desk) -> None:
        found = await desk.reconcile()
        dump(found) if as_json else show_stranded(found)
        if found:
            raise typer.Exit(STRANDED_FOUND)

    on_desk(work)


def show_stranded(found: list[Stranded]) -> None:
    out.print(fitted(f"{len(found)} archived-open complaints whose workflow will not close them", {
        "complaint": [s.complaint_id for s in found],
        "workflow": [s.workflow for s in found],
        "archived stage": [s.archived_stage for s in found],
        "ended": [local(s.ended_at) for s in found],
        "received": [local(s.received_at) for s in found],
    }))


def outbox(failed: bool = typer.Option(False, "--failed", help="only the notices that failed"),
           as_json: bool = typer.Option(False, "--json", help="print the notices as JSON")) -> None:
    """Every notice and what became of it: pending (with the reason), sent, or failed after a
    day of retries. Reads the archive only; names on standard error the delivery settings
    missing from this environment."""
    settings = Settings.from_env()
    try:
        found = asyncio.run(notices_of(archive_for(settings), "failed" if failed else None))
    except DeskError as error:
        fail(type(error), str(error))
    dump(found) if as_json else show_notices(found)
    missing = unconfigured_channels(settings)
    if missing:  # their notices stay pending: say so where people look
        err.print(Text(f"channels not configured here (their notices stay pending): {', '.join(missing)}"))


def show_notices(found: list[NoticeState]) -> None:
    out.print(fitted(f"{len(found)} notices (times Asia/Shanghai)", {
        "complaint": [n.complaint_id for n in found],
        "notice": [f"{n.seq} {n.kind}" for n in found],
        "state": [n.status for n in found],
        "to": [n.recipient for n in found],
        "channel": [n.channel or "-" for n in found],
        "attempts": [str(n.attempts) for n in found],
        "last error": [n.last_error or "-" for n in found],
        "written": [local(n.created_at) for n in found],
        "sent": [local(n.sent_at) for n in found],
    }))


def register(app: typer.Typer) -> None:
    for command, name in ((serve, "serve"), (status, "status"), (list_complaints, "list"), (escalate, "escalate"),
                          (act, "act"), (cases, "cases"), (ack, "ack"), (outbox, "outbox")):
        app.command(name, cls=ActCommand if command is act else None)(command)
