"""Channel and batch intake from the command line; every path goes through the desk's intake.

    python starter.py --file FILE            one JSON intake body (`-` reads stdin)
    python starter.py --channel phone --content ... --name ... --phone ...
    python starter.py --batch FILE           many, from JSONL (one body a line) or CSV; evidence items
                                             naming files beside it keep their contents
    python starter.py --eml FILE             one e-mail
    python starter.py --maildir DIR          every e-mail in a Maildir

A single complaint prints its id as the last line. A batch prints a summary (started,
already existing, rejected) and writes the rejects file: row, field and reason for each
refused row, never the row's content. Rows and e-mails without a reference get one from
their content (Message-ID for e-mail), so reading the same file or Maildir again files nothing twice.
Exit codes: 0 done, 1 some rows not filed, 2 bad input or no codec key, 5 Temporal unavailable.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import hashlib
import io
import json
import mailbox
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from complaints.casefile import CaseDesk
from complaints.desk import Desk, Invalid, Unavailable, open_desk
from complaints.infra.evidence import Unacceptable
from complaints.infra.settings import SettingError, Settings
from complaints.intake import Filed

CONCURRENCY = 8
CONTENT_MAX = 10_000

COMPLAINANT = ("name", "phone", "email", "id_number", "customer_id")
RESPONDENT = ("kind", "id", "name")
TOP = ("channel", "external_ref", "received_at", "review_of", "subject", "content", "requested_remedy", "evidence")
CSV_COLUMNS = {
    **{c: (c,) for c in TOP},
    **{c: ("complainant", c) for c in COMPLAINANT},
    **{f"complainant.{c}": ("complainant", c) for c in COMPLAINANT},
    **{f"complainant_{c}": ("complainant", c) for c in COMPLAINANT},
    **{f"respondent.{c}": ("respondent", c) for c in RESPONDENT},
    **{f"respondent_{c}": ("respondent", c) for c in RESPONDENT},
}
"""CSV header names and where each goes in the intake body; `evidence` cells separate items with `;`."""


class BadInput(Exception):
    """Input that cannot be read at all (a missing file, a bad CSV header): exit 2."""


@dataclass
class Row:
    """One complaint to file: where it came from, and its body or why it could not be read."""

    label: str
    body: dict[str, Any] | None = None
    problem: tuple[str, str] | None = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    """Attachments to keep as evidence once the complaint is filed (an e-mail's)."""


@dataclass
class Tally:
    started: int = 0
    existing: int = 0
    rejects: list[tuple[str, str, str]] = field(default_factory=list)
    unfiled: set[str] = field(default_factory=set)

    def reject(self, label: str, errors: list[tuple[str, str]]) -> None:
        self.unfiled.add(label)
        self.rejects += [(label, name, reason) for name, reason in errors]


# --- reading the sources --------------------------------------------------------------


def with_reference(body: dict[str, Any], source: str) -> dict[str, Any]:
    """A row without external_ref gets one from its content: re-reading a file files nothing twice."""
    if not body.get("external_ref"):
        canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
        body = {**body, "external_ref": f"{source}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"}
    return body


def jsonl_rows(path: Path) -> Iterator[Row]:
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
        except json.JSONDecodeError:
            yield Row(str(number), problem=("body", "is not valid JSON"))
            continue
        if not isinstance(body, dict):
            yield Row(str(number), problem=("body", "must be a JSON object"))
            continue
        yield Row(str(number), with_reference(body, "batch"))


def with_files(row: Row, folder: Path) -> Row:
    """A batch row whose evidence items name files (relative to the batch file's folder) brings
    their contents, kept as evidence under each file's own name once the complaint is filed."""
    items = (row.body or {}).get("evidence")
    if not isinstance(items, list):
        return row
    paths = {item: folder / item for item in items if isinstance(item, str) and (folder / item).is_file()}
    if not paths:
        return row
    named = [paths[item].name if item in paths else item for item in items]
    return dataclasses.replace(row, body={**(row.body or {}), "evidence": named},
                               files=[(path.name, read_bytes(path)) for path in paths.values()])


def csv_rows(path: Path) -> Iterator[Row]:
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    unknown = [name for name in reader.fieldnames or [] if name not in CSV_COLUMNS]
    if not reader.fieldnames or unknown:
        raise BadInput(f"{path}: unknown column {', '.join(unknown) or '(no header)'}; "
                       f"columns are {', '.join(TOP + COMPLAINANT)}, respondent_kind, respondent_id, respondent_name")
    for number, record in enumerate(reader, start=1):
        if None in record:
            yield Row(str(number), problem=("row", "has more cells than the header"))
            continue
        body: dict[str, Any] = {}
        for column, value in record.items():
            if value is None or not value.strip():
                continue
            *parents, leaf = CSV_COLUMNS[column]
            target = body.setdefault(parents[0], {}) if parents else body
            target[leaf] = [item.strip() for item in value.split(";") if item.strip()] if leaf == "evidence" else value
        yield Row(str(number), with_reference(body, "batch"))


def email_body(raw: bytes) -> dict[str, Any]:
    """Sender -> complainant, subject, body -> content, attachment names -> evidence."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    display, address = parseaddr(str(msg.get("From", "")))
    subject = " ".join(str(msg.get("Subject", "")).split())[:500]
    text = _text_of(msg)
    content = text if len(text) <= CONTENT_MAX else text[: CONTENT_MAX - 20].rstrip() + " [... truncated]"
    body: dict[str, Any] = {
        "channel": "email",
        "external_ref": (str(msg.get("Message-ID", "")).strip()[:200]
                         or "eml:" + hashlib.sha256(raw).hexdigest()[:32]),
        "content": content or subject,
        "complainant": {"name": (display or address.split("@")[0] or "unknown sender")[:100]},
        "evidence": [name[:200] for part in msg.iter_attachments() if (name := part.get_filename())][:50],
    }
    if address:
        body["complainant"]["email"] = address
    if subject:
        body["subject"] = subject
    received = _date_of(str(msg.get("Date", "")))
    if received:
        body["received_at"] = received.isoformat()
    return body


def email_attachments(raw: bytes) -> list[tuple[str, bytes]]:
    """The e-mail's attachments, name and contents, as the complaint's evidence files."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    files = []
    for part in msg.iter_attachments():
        if name := part.get_filename():
            data = part.get_payload(decode=True)  # None for an attached e-mail: kept whole
            files.append((name[:200], data if data is not None else part.get_content().as_bytes()))
    return files[:50]


def email_row(label: str, raw: bytes) -> Row:
    return Row(label, email_body(raw), files=email_attachments(raw))


def _text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):
        text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        text = re.sub(r"<(script|style).*?</\1>|<[^>]+>", " ", text, flags=re.S | re.I)
    return re.sub(r"[ \t]+", " ", text).strip()


def _date_of(header: str) -> datetime | None:
    """When the mail was sent, never later than now (a sender's clock may run fast)."""
    try:
        sent = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=timezone.utc)
    return min(sent, datetime.now(timezone.utc))


def maildir_rows(path: Path) -> Iterator[Row]:
    if not (path / "cur").is_dir() and not (path / "new").is_dir():
        raise BadInput(f"{path}: not a Maildir (no cur/ or new/ folder)")
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.keys()):
        yield email_row(key, box.get_bytes(key))


def read_text(path: Path) -> str:
    try:
        return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeError) as err:
        raise BadInput(f"cannot read {path}: {err.__class__.__name__}") from None


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise BadInput(f"cannot read {path}: {err.__class__.__name__}") from None


def options_body(args: argparse.Namespace) -> dict[str, Any]:
    """An intake body from the command-line options, leaving out what was not given."""
    body: dict[str, Any] = {k: getattr(args, k) for k in TOP if getattr(args, k, None) not in (None, [])}
    who = {k: getattr(args, k) for k in COMPLAINANT if getattr(args, k, None)}
    about = {k: getattr(args, f"respondent_{k}") for k in RESPONDENT if getattr(args, f"respondent_{k}")}
    return body | ({"complainant": who} if who else {}) | ({"respondent": about} if about else {})


# --- filing ---------------------------------------------------------------------------------


async def file_one(body: dict[str, Any], files: list[tuple[str, bytes]]) -> Filed:
    async with open_desk(Settings.from_env()) as desk:
        filed = await desk.file(body)
    await keep_files(filed.complaint_id, files)
    return filed


async def keep_files(complaint_id: str, files: list[tuple[str, bytes]]) -> None:
    """Keep each attachment as evidence (filing again keeps nothing twice); one of a type not kept
    as evidence is named on standard error and left out, the complaint stays filed."""
    if not files:
        return
    cases = CaseDesk.of(Settings.from_env())
    for name, data in files:
        try:
            await cases.keep(complaint_id, [(name, data)], "email intake")
        except Unacceptable as refused:
            print(f"{complaint_id}: attachment not kept: {refused}", file=sys.stderr)


async def file_many(rows: list[Row], tally: Tally) -> None:
    limit = asyncio.Semaphore(CONCURRENCY)
    progress = Progress(TextColumn("filing"), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True))

    async def one(desk: Desk, row: Row, task: Any) -> None:
        async with limit:
            try:
                if row.problem:
                    raise Invalid([row.problem])
                assert row.body is not None
                filed = await desk.file(row.body)
                await keep_files(filed.complaint_id, row.files)
                tally.started += filed.created
                tally.existing += not filed.created
            except Invalid as err:
                tally.reject(row.label, err.errors)
            except Unavailable as err:
                tally.reject(row.label, [("-", f"not filed: {err}")])
            progress.advance(task)

    async with open_desk(Settings.from_env()) as desk:
        with progress:
            task = progress.add_task("filing", total=len(rows))
            await asyncio.gather(*(one(desk, row, task) for row in rows))


def write_rejects(path: Path, tally: Tally) -> None:
    def order(entry: tuple[str, str, str]) -> tuple[int, str]:
        return (int(entry[0]) if entry[0].isdigit() else 0, entry[0])

    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["row", "field", "reason"])
        out.writerows(sorted(tally.rejects, key=order))


def run_batch(rows: list[Row], rejects: Path) -> int:
    tally = Tally()
    asyncio.run(file_many(rows, tally))
    if tally.rejects:
        write_rejects(rejects, tally)
    print(f"started {tally.started}, already existing {tally.existing}, rejected {len(tally.unfiled)}"
          + (f" (why: {rejects})" if tally.rejects else ""))
    return 1 if tally.unfiled else 0


def run_single(body: dict[str, Any], files: list[tuple[str, bytes]] | None = None) -> int:
    filed = asyncio.run(file_one(body, files or []))
    if not filed.created:
        print(f"already filed: {filed.workflow_id}")
    print(filed.complaint_id)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--file", help="JSON file with one intake body, or - for standard input")
    source.add_argument("--batch", type=Path, help="JSONL or CSV file of intake bodies (by extension)")
    source.add_argument("--eml", type=Path, help="one e-mail (.eml) to file as a complaint")
    source.add_argument("--maildir", type=Path, help="a Maildir folder: every message becomes a complaint")
    p.add_argument("--rejects", type=Path, help="where a batch's refused rows go (default: <input>.rejects.csv)")
    single = p.add_argument_group("one complaint from options")
    for name in ("channel", "content", "subject", "external_ref", "received_at", "review_of", "requested_remedy",
                 *COMPLAINANT, *(f"respondent_{k}" for k in RESPONDENT)):
        single.add_argument(f"--{name.replace('_', '-')}", dest=name)
    single.add_argument("--evidence", action="append", default=[], help="an evidence item (repeat for more)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.file:
            text = read_text(Path(args.file))
            try:
                body = json.loads(text)
            except json.JSONDecodeError:
                raise BadInput(f"{args.file}: is not valid JSON") from None
            return run_single(body)
        if args.eml:
            mail = email_row(str(args.eml), read_bytes(args.eml))
            return run_single(mail.body or {}, mail.files)
        if args.batch:
            suffix = args.batch.suffix.lower()
            if suffix not in (".jsonl", ".csv", ".ndjson"):
                raise BadInput(f"{args.batch}: a batch is a .jsonl or .csv file")
            rows = [with_files(row, args.batch.parent)
                    for row in (csv_rows(args.batch) if suffix == ".csv" else jsonl_rows(args.batch))]
            return run_batch(rows, args.rejects or Path(f"{args.batch}.rejects.csv"))
        if args.maildir:
            rows = list(maildir_rows(args.maildir))
            return run_batch(rows, args.rejects or Path(f"{str(args.maildir).rstrip('/')}.rejects.csv"))
        if args.channel or args.content:
            return run_single(options_body(args))
        raise BadInput("nothing to file: give --file, --batch, --eml, --maildir, or --channel and --content")
    except BadInput as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Invalid as err:
        print(f"intake refused: {err}", file=sys.stderr)
        return 2
    except Unavailable as err:
        print(f"not filed: {err}", file=sys.stderr)
        return 5
    except SettingError as err:  # a bad setting, no codec key among them
        print(f"not started: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # see TEMPORAL-NOTES: the SDK's threads can crash a plain interpreter exit
