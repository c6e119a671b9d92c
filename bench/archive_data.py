"""A generated archive with known contents, for the report's benchmark and its tests.

Rows go in through SQLAlchemy Core in batches (executemany), the way a bulk load would, or
with `fast` through each driver's bulk path for the 100,000-complaint archives.
"""

from __future__ import annotations

import json
import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from itertools import accumulate
from typing import Any

from sqlalchemy import JSON, Engine, insert

from complaints.domain.codes import CodeTable
from complaints.domain.models import DEADLINES, Category, Channel, EscalationSource, RespondentKind, Severity
from complaints.infra.schema import complaints, deadlines, escalations

OPEN_STAGES = ("assessment", "investigation", "solution", "feedback", "revisit", "summary")
ROOT_CAUSES = [f"root cause {letter}" for letter in "ABCDEFGHIJKL"]
DUE_AFTER = {"assessment": timedelta(hours=1), "investigation": timedelta(hours=24), "plan": timedelta(hours=48),
             "execution": timedelta(days=9), "summary": timedelta(days=21), "decision": timedelta(days=15)}


@dataclass
class Generated:
    complaints: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)


CHANNELS, CATEGORIES, SOURCES = [c.value for c in Channel], [c.value for c in Category], [s.value for s in EscalationSource]
SEVERITIES = [s.value for s in Severity]


def generate(n: int, first: datetime, last: datetime, seed: int = 5) -> Generated:
    """`n` complaints received between `first` and `last`, in every state the archive knows."""
    rnd = random.Random(seed)

    @cache
    def table(options: tuple[Any, ...], weights: tuple[int, ...]) -> tuple[tuple[Any, ...], list[int], int]:
        return options, list(accumulate(weights)), sum(weights)

    def pick(options: list[Any], *weights: int) -> Any:
        values, cumulative, total = table(tuple(options), weights)
        return values[bisect(cumulative, rnd.random() * total)]

    out = Generated()
    span = (last - first).total_seconds()
    people = max(2, int(n * 0.8))  # fewer people than complaints: some complain twice
    respondents = [(kind, f"{kind}-{i}") for kind in RespondentKind for i in range(3)]
    codes = CodeTable.load()
    for i in range(n):
        cid = f"G{i:07d}"
        received = first + timedelta(seconds=rnd.uniform(0, span))
        fate = pick(["open", "resolved", "withdrawn", "merged"], 30, 55, 10, 5)
        closed = received + timedelta(hours=rnd.uniform(0.5, 24 * 35)) if fate != "open" else None
        reached = rnd.random() < 0.8 if fate == "resolved" else None
        respondent = rnd.choice(respondents) if rnd.random() < 0.7 else (None, None)
        person = rnd.randrange(people)
        extensions = pick([0, 1, 2], 85, 12, 3)
        channel = rnd.choice(CHANNELS)  # drawn in the order they always were, so a seed gives the same rows
        stage = "closed" if closed else rnd.choice(OPEN_STAGES)
        category = rnd.choice(CATEGORIES)
        row = {
            "complaint_id": cid, "channel": channel, "received_at": received, "stage": stage, "category": category,
            "severity": pick(SEVERITIES, 5, 25, 70),
            "outcome": None if fate == "open" else fate, "content": "generated", "evidence": [],
            "complainant_name": "generated",
            "complainant_phone": f"138{person:08d}" if rnd.random() < 0.9 else None,
            "customer_id": f"CUST{person}" if rnd.random() < 0.5 else None,
            "respondent_kind": respondent[0] and respondent[0].value, "respondent_id": respondent[1],
            "handlers": [], "escalated": False, "interim_measure": False,
            "root_cause": rnd.choice(ROOT_CAUSES[: rnd.randint(1, len(ROOT_CAUSES))]) if fate == "resolved" else None,
            "reached": reached, "satisfaction": rnd.randint(1, 5) if reached else None,
            "reopen_count": pick([0, 1, 2], 90, 8, 2), "extensions": extensions,
            "pauses": pick([0, 1], 92, 8), "review_of": "G0000000" if rnd.random() < 0.03 else None,
            "merged_into": "G0000001" if fate == "merged" else None, "calendar_provisional": False,
            "decided_at": closed, "closed_at": closed,
            **codes.propose(Channel(channel), None, Category(category)),  # codes as proposed: no draw
        }
        # stand-ins for the keyed hashes: equal exactly when the values are, as the hashes are
        row |= {"complainant_phone_hash": row["complainant_phone"], "customer_id_hash": row["customer_id"]}
        out.complaints.append(row)
        for name in DEADLINES:
            due = received + DUE_AFTER[name]
            state = pick(["met", "late", "breached", "none"], 60, 10, 10, 20)
            out.deadlines.append({
                "complaint_id": cid, "name": name, "due_at": due,
                "met_at": {"met": due - timedelta(minutes=rnd.randint(1, 50)),
                           "late": due + timedelta(minutes=rnd.randint(1, 600))}.get(state),
                "breached_at": due if state in ("late", "breached") and rnd.random() < 0.9 else None,
            })
        for seq in range(pick([0, 1, 2], 80, 15, 5)):
            out.escalations.append({
                "complaint_id": cid, "seq": seq + 2, "source": rnd.choice(SOURCES),
                "reason": "generated", "by": "system", "at": received + timedelta(hours=rnd.uniform(0, 24 * 20)),
            })
            out.complaints[-1]["escalated"] = True
    return out


def load(engine: Engine, data: Generated, batch: int = 20_000, fast: bool = False) -> None:
    """Bulk insert, parents before children: Core executemany through the archive's own types,
    or with `fast` the driver's bulk path (executemany on SQLite, COPY on PostgreSQL) with
    values already in the stored form, for the 100,000-complaint archives."""
    tables = ((complaints, data.complaints), (deadlines, data.deadlines), (escalations, data.escalations))
    if fast:
        return _load_fast(engine, tables)
    with engine.begin() as db:
        for table, rows in tables:
            for at in range(0, len(rows), batch):
                db.execute(insert(table), rows[at:at + batch])


def _load_fast(engine: Engine, tables: Any) -> None:
    sqlite = engine.dialect.name == "sqlite"

    def column(table: Any, name: str, rows: list[dict[str, Any]]) -> list[Any]:
        """One column's values in the stored form, converted a column at a time (fast)."""
        values = [row.get(name) for row in rows]
        kind = table.c[name].type
        if isinstance(kind, JSON):
            return [None if v is None else json.dumps(v) for v in values]
        if sqlite and kind.python_type is datetime:  # generated moments are UTC already
            return [None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f") for v in values]
        return values

    with engine.begin() as db:
        for table, rows in tables:
            names = [c.name for c in table.columns if c.name in rows[0]]
            values = list(zip(*(column(table, name, rows) for name in names)))
            quoted = ", ".join(f'"{name}"' for name in names)
            if sqlite:
                db.exec_driver_sql(f"INSERT INTO {table.name} ({quoted}) VALUES ({', '.join('?' * len(names))})",
                                   values)
            else:
                with db.connection.dbapi_connection.cursor() as cursor:
                    with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
                        for value in values:
                            copy.write_row(value)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)
