"""Management reports over the archive, computed by SQL aggregates.

Every figure comes from a GROUP BY whose result grows with the number of distinct values
(days, categories, deadline states), never with the number of complaints, so a month of a
large archive reports as fast as a small one. Python only finishes what SQL cannot do
portably: working days between two dates (the mainland calendar) and percentiles.

Populations, all in Asia/Shanghai dates, both ends inclusive:
- complaints *received* in the period: deadlines, categories, channels, severities,
  respondents, regulator actions, repeat complainants, categories over time;
- complaints *closed* in the period: outcomes, satisfaction, root causes, and the handling
  time of the resolved ones;
- escalations *raised* in the period, by source;
- notices *written* in the period, by delivery state (a failed one never reached its person);
- prevention alarms *raised* in the period, with their figures, the complaints behind them,
  the manager's plan and what the review found.

An emergency drill's complaints (`complaints drill`) are in none of them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, and_, case, func, literal_column, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from complaints.domain.models import DEADLINES, Category, Channel, EscalationSource, Outcome, Severity
from complaints.domain.workdays import SHANGHAI, WorkingCalendar
from complaints.infra.archive import alarms_where
from complaints.infra.schema import complaints, deadlines, escalations, outbox, prevention_alarms

DEADLINE_STATES = ("met", "breached", "open", "cancelled")
"""met on time; breached (recorded breach, or met after it was due); still running; and
cancelled: the complaint closed (withdrawn, merged, its workflow cancelled) before the
deadline was met or passed."""


class shanghai_date(FunctionElement):  # noqa: N801 - reads as the SQL function it renders
    """The Asia/Shanghai calendar date of a stored UTC moment, in each dialect's SQL."""

    inherit_cache = True


@compiles(shanghai_date, "postgresql")
def _shanghai_date_pg(element: shanghai_date, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'Asia/Shanghai' AS DATE)"


@compiles(shanghai_date)
def _shanghai_date_sqlite(element: shanghai_date, compiler: Any, **kw: Any) -> str:
    # Shanghai has kept UTC+8 without daylight saving since 1991; SQLite stores UTC text.
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


def as_date(value: date | str) -> date:
    """A date as SQL returns it: a date on PostgreSQL, ISO text on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(value)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"--to {self.end} is before --from {self.start}")

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(0), SHANGHAI).astimezone(timezone.utc)

    @property
    def until(self) -> datetime:
        """Exclusive: 24:00 Shanghai time at the end of the last day."""
        return datetime.combine(self.end + timedelta(days=1), time(0), SHANGHAI).astimezone(timezone.utc)

    def holds(self, column: ColumnElement) -> ColumnElement[bool]:
        return and_(column >= self.since, column < self.until)


def percentile(distribution: dict[int, int], p: float) -> float | None:
    """The p-quantile (0..1) of a {value: count} distribution, interpolated linearly between
    ranks as numpy's default and `statistics.quantiles(method="inclusive")` do."""
    n = sum(distribution.values())
    if n == 0:
        return None

    def at(rank: int) -> int:
        below = 0
        for value in sorted(distribution):
            below += distribution[value]
            if rank < below:
                return value
        raise AssertionError("rank beyond the distribution")

    position = p * (n - 1)
    low = math.floor(position)
    return at(low) + (at(math.ceil(position)) - at(low)) * (position - low)


class WorkingDayCounter:
    """Working days between two dates, each calendar day looked up once (the calendar's own
    lookup is slow, and a large period has thousands of (received, closed) pairs)."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar
        self.start: date | None = None
        self.upto: list[int] = []  # upto[i]: working days in (start, start + i]

    def cover(self, first: date, last: date) -> None:
        """Look up every day from `first` to `last` that is not looked up yet."""
        if self.start is None or first < self.start:
            self.start, self.upto = first, [0]
        while self.start + timedelta(days=len(self.upto) - 1) < last:
            day = self.start + timedelta(days=len(self.upto))
            self.upto.append(self.upto[-1] + self.calendar.is_working_day(day))

    def between(self, received: date, closed: date) -> int:
        """Working days after the receipt date up to the closing date: closed the same day is
        0, by the end of the 15th working day at most 15 (the `summary` deadline's measure)."""
        if closed <= received:
            return 0
        self.cover(received, closed)
        assert self.start is not None
        return self.upto[(closed - self.start).days] - self.upto[(received - self.start).days]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _counts(rows: Any, known: tuple[str, ...] = ()) -> dict[str, int]:
    """{key: count} with every known key present (zero when absent) and unknowns after them."""
    found = {("(none)" if key is None else str(key)): int(n) for key, n in rows}
    return {key: found.get(key, 0) for key in known} | {k: v for k, v in sorted(found.items()) if k not in known}


def counted(population: ColumnElement[bool]) -> ColumnElement[bool]:
    """The complaints of `population` a report counts: not an emergency drill's. The one place the
    management report and the regulator's return (complaints.regulatory) leave drills out."""
    return and_(population, complaints.c.drill.is_(False))


def of_counted(column: ColumnElement) -> ColumnElement[bool]:
    """Rows of another table (escalations, notices) whose complaint a report counts."""
    return column.not_in(select(complaints.c.complaint_id).where(complaints.c.drill.is_(True)))


def build_report(engine: Engine, period: Period, calendar: WorkingCalendar | None = None,
                 top: int = 10) -> dict[str, Any]:
    """Every figure of the management report for `period`, as plain JSON-ready values."""
    calendar = calendar or WorkingCalendar()
    c = complaints.c
    received = counted(period.holds(c.received_at))
    closed = counted(period.holds(c.closed_at))
    with engine.connect() as db:
        def grouped(*columns: Any, where: Any = received) -> list[Any]:
            return db.execute(select(*columns, func.count()).where(where).group_by(*columns)).all()

        received_n = db.execute(select(func.count()).where(received)).scalar_one()
        closed_rows = grouped(c.outcome, where=closed)
        report: dict[str, Any] = {
            "period": {"from": period.start.isoformat(), "to": period.end.isoformat(), "timezone": "Asia/Shanghai"},
            "received": received_n,
            "closed": sum(n for _, n in closed_rows),
            "closed_by_outcome": _counts(closed_rows, tuple(Outcome)),
            "deadlines": _deadline_compliance(db, received),
            "by_category": _counts(grouped(c.category), tuple(Category)),
            "by_channel": _counts(grouped(c.channel), tuple(Channel)),
            "by_severity": _counts(grouped(c.severity), tuple(Severity)),
            "by_respondent": [
                {"kind": kind, "id": rid, "complaints": n}
                for kind, rid, n in sorted(grouped(c.respondent_kind, c.respondent_id,
                                                   where=and_(received, c.respondent_kind.is_not(None))),
                                           key=lambda row: (-row[2], row[0], row[1]))
            ],
            "escalations_by_source": _counts(
                db.execute(select(escalations.c.source, func.count())
                           .where(period.holds(escalations.c.at), of_counted(escalations.c.complaint_id))
                           .group_by(escalations.c.source)).all(), tuple(EscalationSource)),
            "deliveries": _counts(
                db.execute(select(outbox.c.status, func.count())
                           .where(period.holds(outbox.c.created_at), of_counted(outbox.c.complaint_id))
                           .group_by(outbox.c.status)).all(), ("pending", "sent", "failed")),
            "handling_working_days": _handling_time(db, closed, calendar),
            "satisfaction": _satisfaction(grouped(c.reached, c.satisfaction, where=closed)),
            "root_causes": [
                {"root_cause": cause, "complaints": n} for cause, n in db.execute(
                    select(c.root_cause, func.count().label("n")).where(closed, c.root_cause.is_not(None))
                    .group_by(c.root_cause).order_by(literal_column("n").desc(), c.root_cause).limit(top)
                )
            ],
            "repeat_complainants": _repeat_complainants(db, received),
            "regulator": _regulator(db, received),
            "received_per_day": [
                {"date": as_date(day).isoformat(), "category": category, "complaints": n}
                for day, category, n in sorted(grouped(shanghai_date(c.received_at), c.category),
                                               key=lambda row: (str(row[0]), str(row[1])))
            ],
            "prevention_alarms": [
                alarm.model_dump(mode="json", exclude={"window_start", "acknowledged_at", "reviewed_at"})
                | {"state": alarm.state, "description": alarm.describe()}
                for alarm in alarms_where(db, period.holds(prevention_alarms.c.raised_at))
            ],
        }
    return report


def _deadline_compliance(db: Any, received: Any) -> dict[str, dict[str, Any]]:
    d = deadlines.c
    state = case(
        (or_(d.breached_at.is_not(None), and_(d.met_at.is_not(None), d.met_at > d.due_at)), "breached"),
        (d.met_at.is_not(None), "met"),
        (complaints.c.stage == "closed", "cancelled"),
        else_="open",
    ).label("state")
    rows = db.execute(
        select(d.name, state, func.count())
        .select_from(complaints.join(deadlines, d.complaint_id == complaints.c.complaint_id))
        .where(received).group_by(d.name, state)
    ).all()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(DEADLINE_STATES, 0))
    for name, st, n in rows:
        counts[name][st] += n
    result = {}
    for name in [*DEADLINES, *sorted(set(counts) - set(DEADLINES))]:
        figures: dict[str, Any] = dict(counts[name])
        total = sum(figures.values())
        figures["total"] = total
        figures.update({f"{st}_rate": _rate(figures[st], total) for st in DEADLINE_STATES})
        figures["compliance"] = _rate(figures["met"], figures["met"] + figures["breached"])
        result[name] = figures
    return result


def _handling_time(db: Any, closed: Any, calendar: WorkingCalendar) -> dict[str, Any]:
    """Median and 90th percentile over resolved complaints closed in the period: SQL counts
    complaints per (received date, closed date); working days are computed once per pair."""
    c = complaints.c
    pairs = shanghai_date(c.received_at), shanghai_date(c.closed_at)
    rows = db.execute(select(*pairs, func.count()).where(closed, c.outcome == Outcome.resolved.value)
                      .group_by(*pairs)).all()
    pairs_seen = [(as_date(got), as_date(done), n) for got, done, n in rows]
    counter = WorkingDayCounter(calendar)
    years: set[int] = set()
    if pairs_seen:  # one pass over the calendar from the earliest receipt to the latest closing
        first, last = min(p[0] for p in pairs_seen), max(p[1] for p in pairs_seen)
        counter.cover(first, last)
        years = set(range(first.year, last.year + 1))
    distribution: dict[int, int] = defaultdict(int)
    for got, done, n in pairs_seen:
        distribution[counter.between(got, done)] += n
    median, p90 = percentile(distribution, 0.5), percentile(distribution, 0.9)
    return {"complaints": sum(distribution.values()),
            "median": None if median is None else round(median, 2), "p90": None if p90 is None else round(p90, 2),
            "max": max(distribution, default=None),
            # a year neither chinesecalendar nor the holiday file knows counts weekends only
            "calendar_provisional": any(not calendar.knows(year) for year in years)}


def _satisfaction(rows: list[Any]) -> dict[str, int]:
    """Scores 1-5 of the complainants reached, `unreached`, and `not_recorded` (closed
    without a revisit, e.g. withdrawn or merged)."""
    result = dict.fromkeys(["1", "2", "3", "4", "5", "unreached", "not_recorded"], 0)
    for reached, score, n in rows:
        key = str(score) if score is not None else "unreached" if reached is False else "not_recorded"
        result[key] = result.get(key, 0) + n
    return result


def _repeat_complainants(db: Any, received: Any) -> dict[str, int]:
    """Complainants with more than one complaint received in the period, one complainant
    being every complaint linked by a shared customer id or phone (so one person who gave
    the customer id once and only the phone another time still counts once). SQL returns
    only the (customer id, phone) keyed-hash pairs involved in a repeat, with their counts (the
    values themselves are sealed); the pairs stay in memory to be joined up and are never printed."""
    c = complaints.c
    repeated = [
        column.in_(select(column).where(received, column.is_not(None)).group_by(column).having(func.count() > 1))
        for column in (c.customer_id_hash, c.complainant_phone_hash)
    ]
    rows = db.execute(select(c.customer_id_hash, c.complainant_phone_hash, func.count())
                      .where(received, or_(*repeated)).group_by(c.customer_id_hash, c.complainant_phone_hash)).all()
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    links = []
    for customer, phone, n in rows:
        nodes = [f"c:{customer}"] * (customer is not None) + [f"p:{phone}"] * (phone is not None)
        for other in nodes[1:]:
            parent[root(other)] = root(nodes[0])
        links.append((nodes[0], n))
    per_person: dict[str, int] = defaultdict(int)
    for node, n in links:
        per_person[root(node)] += n
    repeaters = [n for n in per_person.values() if n > 1]
    return {"complainants": len(repeaters), "complaints": sum(repeaters)}


def _regulator(db: Any, received: Any) -> dict[str, int]:
    c = complaints.c
    row = db.execute(select(
        func.coalesce(func.sum(c.extensions), 0),
        func.coalesce(func.sum(c.pauses), 0),
        func.count(c.merged_into),
        func.count(c.review_of),
        func.coalesce(func.sum(c.reopen_count), 0),
    ).where(received)).one()
    return dict(zip(("extensions", "pauses", "merges", "reviews", "rejections"), (int(v) for v in row)))


def csv_rows(report: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """The report flattened to (section, item, measure, value) rows for a spreadsheet."""
    rows: list[tuple[str, str, str, Any]] = [
        ("period", "from", "date", report["period"]["from"]), ("period", "to", "date", report["period"]["to"]),
        ("complaints", "received", "count", report["received"]), ("complaints", "closed", "count", report["closed"]),
    ]
    rows += [("closed_by_outcome", k, "count", v) for k, v in report["closed_by_outcome"].items()]
    for name, figures in report["deadlines"].items():
        rows += [("deadline", name, measure, value) for measure, value in figures.items()]
    for section in ("by_category", "by_channel", "by_severity", "escalations_by_source", "deliveries", "satisfaction"):
        rows += [(section, k, "count", v) for k, v in report[section].items()]
    rows += [("by_respondent", f"{r['kind']}:{r['id']}", "count", r["complaints"]) for r in report["by_respondent"]]
    rows += [("handling_working_days", "resolved", k, v) for k, v in report["handling_working_days"].items()]
    rows += [("root_causes", r["root_cause"], "count", r["complaints"]) for r in report["root_causes"]]
    rows += [("repeat_complainants", k, "count", v) for k, v in report["repeat_complainants"].items()]
    rows += [("regulator", k, "count", v) for k, v in report["regulator"].items()]
    for a in report["prevention_alarms"]:
        rows += [("prevention_alarms", a["alarm_id"], measure, a[measure]) for measure in (
            "kind", "dimension", "subject", "category", "count", "baseline_mean", "p_value", "state", "plan",
            "review_on", "review_count")]
        rows.append(("prevention_alarms", a["alarm_id"], "complaint_ids", " ".join(a["complaint_ids"])))
    return rows



def _buckets(report: dict[str, Any]) -> tuple[str, Any]:
    """Days for a period up to ~6 weeks, weeks (from Monday) up to ~6 months, else months."""
    start, end = date.fromisoformat(report["period"]["from"]), date.fromisoformat(report["period"]["to"])
    if (end - start).days <= 45:
        return "day", lambda d: d
    if (end - start).days <= 200:
        return "week", lambda d: d - timedelta(days=d.weekday())
    return "month", lambda d: d.replace(day=1)


def pyplot() -> Any:
    """matplotlib's pyplot drawing to files only (a server has no display); imported when a chart
    is asked for, as it takes a second."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_chart(report: dict[str, Any], path: str, top_categories: int = 6) -> None:
    """Deadline compliance per deadline, and complaints per category over time, in one PNG."""
    plt = pyplot()
    fig, (above, below) = plt.subplots(2, 1, figsize=(12, 10), gridspec_kw={"height_ratios": [1, 1.2]})
    period = f"{report['period']['from']} to {report['period']['to']} (Asia/Shanghai)"
    fig.suptitle(f"Complaints {period}: {report['received']} received, {report['closed']} closed",
                 fontsize=14, fontweight="bold")

    names = list(report["deadlines"])
    colours = {"met": "#2e7d32", "breached": "#c62828", "open": "#90a4ae", "cancelled": "#e0e0e0"}
    left = [0.0] * len(names)
    for state in DEADLINE_STATES:
        shares = [100 * (report["deadlines"][n][f"{state}_rate"] or 0) for n in names]
        bars = above.barh(names, shares, left=left, color=colours[state], label=state, edgecolor="white")
        for bar, name, share in zip(bars, names, shares):
            if share >= 6:
                above.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2,
                           f"{report['deadlines'][name][state]}", ha="center", va="center", fontsize=9,
                           color="white" if state in ("met", "breached") else "black")
        left = [a + b for a, b in zip(left, shares)]
    for y, name in enumerate(names):
        compliance = report["deadlines"][name]["compliance"]
        above.text(101, y, "n/a" if compliance is None else f"{compliance:.0%} on time", va="center", fontsize=10)
    above.set_xlim(0, 115)
    above.invert_yaxis()
    above.set_xlabel("share of complaints received in the period (%)")
    above.set_title("Deadline compliance per deadline (counts in the bars; on time = met / (met + breached))")
    above.set_xticks(range(0, 101, 20))
    above.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    unit, bucket = _buckets(report)
    totals: Counter[str] = Counter()
    series: dict[str, Counter[date]] = defaultdict(Counter)
    for row in report["received_per_day"]:
        totals[row["category"]] += row["complaints"]
    shown = [name for name, _ in totals.most_common(top_categories)]
    for row in report["received_per_day"]:
        name = row["category"] if row["category"] in shown else "other categories"
        series[name][bucket(date.fromisoformat(row["date"]))] += row["complaints"]
    start, end = date.fromisoformat(report["period"]["from"]), date.fromisoformat(report["period"]["to"])
    xs = sorted({bucket(start + timedelta(days=i)) for i in range((end - start).days + 1)})
    for name in shown:
        below.plot(xs, [series[name][x] for x in xs], marker="o", markersize=3, linewidth=1.8, label=name)
    if len(totals) > len(shown):
        below.plot(xs, [series["other categories"][x] for x in xs], color="grey", linestyle="--", linewidth=1.2,
                   label=f"other {len(totals) - len(shown)} categories")
    partial = unit != "day" and (bucket(start) != start or bucket(end + timedelta(days=1)) != end + timedelta(days=1))
    below.set_title(f"Complaints received per {unit}, by category (top {len(shown)})"
                    + (f"; first and last {unit} partly outside the period" if partial else ""))
    below.set_ylabel(f"complaints per {unit}")
    below.grid(alpha=0.3)
    if totals:
        below.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        below.text(0.5, 0.5, "no complaints received in the period", transform=below.transAxes, ha="center")
    below.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
