"""`complaints show`, `audit` and `attach`: the case file, its trail and its evidence files.

They need only the archive and the evidence folder, no Temporal connection; `show` is a read
of personal data and is recorded as such, under the operating-system user who ran it.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from complaints.casefile import CaseDesk
from complaints.cli.operate import dump, err, fail, local, out
from complaints.desk import DeskError, Invalid
from complaints.domain.models import CaseEvent, CaseFile
from complaints.infra.evidence import MAX_BYTES, Unacceptable
from complaints.infra.settings import Settings


def on_cases(work: Callable[[CaseDesk], Awaitable[Any]]) -> Any:
    try:
        return asyncio.run(work(CaseDesk.of(Settings.from_env())))
    except DeskError as error:
        fail(type(error), str(error))
    except Unacceptable as refused:
        fail(Invalid, str(refused))


def reader() -> str:
    return f"cli:{getpass.getuser()}"


def show(complaint_id: str, as_json: bool = typer.Option(False, "--json", help="print the raw case file")) -> None:
    """Read a complaint's case file: text, remedy, contact details, respondent, evidence, history (audited)."""
    case = on_cases(lambda cases: cases.read(complaint_id, reader(), "complaints show"))
    dump(case) if as_json else show_case(case)


def show_case(c: CaseFile) -> None:
    out.print(Text.assemble("Complaint ", (c.complaint_id, "bold"), "  stage ", (c.stage.value, "bold cyan"),
                            f"  ({c.channel.value}, {c.category or '-'}, {c.severity or '-'})"))
    who = c.complainant
    lines = [("received", local(c.received_at)), ("subject", c.subject), ("requested remedy", c.requested_remedy),
             ("complainant", who.name), ("phone", who.phone), ("e-mail", who.email), ("ID number", who.id_number),
             ("customer id", who.customer_id),
             ("respondent", c.respondent and " ".join(filter(None, (c.respondent.kind, c.respondent.id,
                                                                    c.respondent.name)))),
             ("evidence", "; ".join(f"{e.name} ({e.media_type}, {e.size} bytes, {e.sha256})" if e.sha256 else e.name
                                    for e in c.evidence) or None)]
    for label, value in lines:
        if value:
            out.print(Text.assemble((f"{label}: ", "bold"), str(value)))
    out.print(Text("\n" + c.content + "\n"))
    trail_table(c.history, "history")


def audit(complaint_id: str, as_json: bool = typer.Option(False, "--json", help="print the raw trail")) -> None:
    """A complaint's trail: every change the workflow recorded and every read of its case file, in order."""
    events = on_cases(lambda cases: cases.trail(complaint_id))
    dump(events) if as_json else trail_table(events, f"trail of {complaint_id}")


def trail_table(events: list[CaseEvent], title: str) -> None:
    table = Table("at", "who", "what", "stage", "route", title=title, title_justify="left")
    for e in events:
        table.add_row(local(e.at), e.who, e.action or e.kind, e.stage.value if e.stage else "",
                      e.route or e.evidence or "")
    out.print(table)


def attach(complaint_id: str, files: list[Path] = typer.Argument(..., help="the files, each up to 50 MB")) -> None:
    """Keep evidence files for a complaint (sealed, by SHA-256) and list them in its case file."""
    read = []
    for path in files:
        if not path.is_file():
            fail(Invalid, f"{path}: no such file")
        if path.stat().st_size > MAX_BYTES:
            fail(Invalid, f"{path.name}: {path.stat().st_size} bytes, over the {MAX_BYTES} an evidence file may have")
        read.append((path.name, path.read_bytes()))
    for ref in on_cases(lambda cases: cases.attach(complaint_id, read, reader())):
        err.print(Text(f"kept {ref.name}: {ref.media_type}, {ref.size} bytes"))
        out.print(ref.sha256)


def register(app: typer.Typer) -> None:
    app.command("show")(show)
    app.command("audit")(audit)
    app.command("attach")(attach)
