"""The report's figures computed straight from generated rows, by the report's written
definitions, one row at a time, without any of the report's code."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from bench.archive_data import Generated
from complaints.domain.models import DEADLINES
from complaints.domain.workdays import SHANGHAI, WorkingCalendar


def shanghai(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def expected_report(data: Generated, start: date, end: date, calendar: WorkingCalendar,
                    top: int = 10) -> dict[str, Any]:
    """The report's figures by its definitions, one generated row at a time."""
    since = datetime.combine(start, time(0), SHANGHAI)
    until = datetime.combine(end + timedelta(days=1), time(0), SHANGHAI)
    inside = lambda moment: moment is not None and since <= moment < until  # noqa: E731
    got = [c for c in data.complaints if inside(c["received_at"])]
    done = [c for c in data.complaints if inside(c["closed_at"])]
    by_id = {c["complaint_id"]: c for c in got}

    states: dict[str, Counter] = defaultdict(Counter)
    for d in data.deadlines:
        owner = by_id.get(d["complaint_id"])
        if owner is None:
            continue
        late = d["met_at"] is not None and d["met_at"] > d["due_at"]
        state = ("breached" if d["breached_at"] or late else "met" if d["met_at"]
                 else "cancelled" if owner["stage"] == "closed" else "open")
        states[d["name"]][state] += 1

    working = cache(calendar.is_working_day)  # chinese_calendar looks each day up slowly
    days = []
    for c in done:
        if c["outcome"] == "resolved":
            r, k = shanghai(c["received_at"]), shanghai(c["closed_at"])
            days.append(sum(working(r + timedelta(days=i)) for i in range(1, (k - r).days + 1)))

    # repeat complainants: complaints joined by a shared customer id or phone, transitively
    groups: dict[str, set[str]] = defaultdict(set)
    for c in got:
        for key in (f"c:{c['customer_id']}" if c["customer_id"] else None,
                    f"p:{c['complainant_phone']}" if c["complainant_phone"] else None):
            if key:
                groups[key].add(c["complaint_id"])
    seen: set[str] = set()
    people = []
    link = defaultdict(list)
    for key, members in groups.items():
        for m in members:
            link[m].append(key)
    for c in got:
        if c["complaint_id"] in seen:
            continue
        todo, person = [c["complaint_id"]], set()
        while todo:
            cid = todo.pop()
            if cid in person:
                continue
            person.add(cid)
            for key in link[cid]:
                todo += groups[key] - person
        seen |= person
        people.append(len(person))

    causes = Counter(c["root_cause"] for c in done if c["root_cause"])
    satisfaction = Counter(str(c["satisfaction"]) if c["satisfaction"] else
                           "unreached" if c["reached"] is False else "not_recorded" for c in done)
    return {
        "received": len(got),
        "closed": len(done),
        "closed_by_outcome": Counter(c["outcome"] for c in done),
        "deadlines": {name: dict(states[name]) for name in DEADLINES},
        "by_category": Counter(c["category"] for c in got),
        "by_channel": Counter(c["channel"] for c in got),
        "by_severity": Counter(c["severity"] for c in got),
        "by_respondent": Counter((c["respondent_kind"], c["respondent_id"]) for c in got if c["respondent_kind"]),
        "escalations_by_source": Counter(e["source"] for e in data.escalations if inside(e["at"])),
        "handling_days": days,
        "median": statistics.median(days) if days else None,
        "p90": statistics.quantiles(days, n=10, method="inclusive")[8] if len(days) > 1 else None,
        "satisfaction": satisfaction,
        "root_causes": sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))[:top],
        "repeat_complainants": {"complainants": sum(1 for n in people if n > 1),
                                "complaints": sum(n for n in people if n > 1)},
        "regulator": {"extensions": sum(c["extensions"] for c in got), "pauses": sum(c["pauses"] for c in got),
                      "merges": sum(1 for c in got if c["merged_into"]),
                      "reviews": sum(1 for c in got if c["review_of"]),
                      "rejections": sum(c["reopen_count"] for c in got)},
        "per_day": Counter((shanghai(c["received_at"]).isoformat(), c["category"]) for c in got),
    }
