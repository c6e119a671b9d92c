"""The regulator's quarterly return: complaints counted by JR/T 0169-2018 codes, A x B x C.

Like the management report (complaints/reports.py), every count is a SQL aggregate over the
archive whose result grows with the number of code combinations, never with the number of
complaints; Python rolls the combinations up the code table's hierarchy (a 中类 counts its
小类, a 大类 its 中类) and lays them out as a supervisor's template does.

Populations, in Asia/Shanghai dates of the quarter, the management report's own:
- *received* in the quarter: received, overdue (the `decision` deadline breached or met late:
  the management report's `breached` of `decision`), extended (at least one extension),
  escalated, substantiated, reviews (review complaints filed);
- *closed* in the quarter: closed (every outcome), closed within the statutory time (the
  decision told by its deadline as extended, or the complaint closed before it fell due), and
  the average days to decision (calendar days from the receipt date to the decision date).
Complaints archived before they carried codes count under "(none)", so totals never lose one.
An emergency drill's complaints are not counted (`complaints.reports.counted`).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select, true

from complaints.domain.codes import AXES, AXIS_NAMES, CodeTable
from complaints.infra.schema import complaints, deadlines
from complaints.reports import Period, as_date, counted, shanghai_date

MEASURES = ("received", "closed", "closed_in_time", "overdue", "extended", "escalated", "substantiated", "reviews",
            "avg_days_to_decision")
HEADINGS = {
    "received": ("受理", "received"), "closed": ("办结", "closed"),
    "closed_in_time": ("法定时限内办结", "closed within the statutory time"), "overdue": ("逾期", "overdue"),
    "extended": ("延期", "extended"), "escalated": ("升级处理", "escalated"), "substantiated": ("属实", "substantiated"),
    "reviews": ("申请复核", "reviews"), "avg_days_to_decision": ("平均处理天数", "average days to decision"),
}
NONE = "(none)"
"""The code of complaints archived before they carried one."""

_QUARTER = re.compile(r"^\s*(\d{4})\s*[Qq]([1-4])\s*$")


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a quarter like 2026Q4")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def period(self) -> Period:
        first = date(self.year, 3 * self.number - 2, 1)
        after = date(self.year + 1, 1, 1) if self.number == 4 else date(self.year, 3 * self.number + 1, 1)
        return Period(first, date.fromordinal(after.toordinal() - 1))

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def build_return(engine: Engine, quarter: Quarter, table: CodeTable, institution: str) -> dict[str, Any]:
    """Every figure of the quarterly return, as plain JSON-ready values."""
    c = complaints.c
    codes = (c.code_a, c.code_b, c.code_c)
    respondents = (c.respondent_kind, c.respondent_id)
    period = quarter.period
    with engine.connect() as db:
        cross = _figures(db, period, codes)
        by_respondent = _figures(db, period, respondents, known=c.respondent_kind.is_not(None))
    totals: Counter[str] = sum(cross.values(), Counter())
    return {
        "quarter": str(quarter),
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat(), "timezone": "Asia/Shanghai"},
        "institution": institution,
        "edition": table.edition,
        "totals": _shown(totals),
        "axes": {axis: _axis(table, axis, i, cross) for i, axis in enumerate(AXES)},
        "cross": [{"code_a": a, "code_b": b, "code_c": cc, **_shown(n)} for (a, b, cc), n in sorted(cross.items())],
        "by_respondent": [{"kind": kind, "id": rid, **_shown(n)} for (kind, rid), n in
                          sorted(by_respondent.items(), key=lambda item: (-item[1]["received"], item[0]))],
    }


def _figures(db: Any, period: Period, keys: tuple[Any, ...], known: Any = None) -> dict[tuple[str, ...], Counter]:
    """The counts per value of `keys`, from three GROUP BYs: received, closed, decided."""
    decision = deadlines.alias("decision")
    c, d = complaints.c, decision.c
    rows = complaints.outerjoin(decision, and_(d.complaint_id == c.complaint_id, d.name == "decision"))
    late = or_(d.breached_at.is_not(None), and_(d.met_at.is_not(None), d.met_at > d.due_at))
    in_time = and_(d.breached_at.is_(None), or_(and_(d.met_at.is_not(None), d.met_at <= d.due_at),
                                                and_(d.met_at.is_(None), c.closed_at <= d.due_at)))

    def count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    def grouped(where: Any, *measures: Any, by: tuple[Any, ...] = ()) -> list[Any]:
        columns = (*keys, *by)
        return db.execute(select(*columns, *measures).select_from(rows)
                          .where(counted(where), true() if known is None else known).group_by(*columns)).all()

    figures: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    width = len(keys)

    def tally(row: Any) -> Counter:
        return figures[tuple(NONE if k is None else str(k) for k in row[:width])]

    def add(found: Iterable[Any], names: tuple[str, ...]) -> None:
        for row in found:
            tally(row).update({name: int(n or 0) for name, n in zip(names, row[width:])})

    add(grouped(period.holds(c.received_at), func.count(), count(late), count(c.extensions > 0),
                count(c.escalated.is_(True)), count(c.substantiated.is_(True)), func.count(c.review_of)),
        ("received", "overdue", "extended", "escalated", "substantiated", "reviews"))
    add(grouped(period.holds(c.closed_at), func.count(), count(in_time)), ("closed", "closed_in_time"))
    dates = (shanghai_date(c.received_at), shanghai_date(c.decided_at))
    for row in grouped(and_(period.holds(c.closed_at), c.decided_at.is_not(None)), func.count(), by=dates):
        got, decided, n = as_date(row[width]), as_date(row[width + 1]), int(row[width + 2])
        tally(row).update(decided=n, decision_days=n * (decided - got).days)
    return figures


def _shown(tally: Counter) -> dict[str, Any]:
    """A tally's published measures: counts, and the average of the decided ones' days."""
    shown: dict[str, Any] = {name: tally[name] for name in MEASURES[:-1]}
    shown["avg_days_to_decision"] = round(tally["decision_days"] / tally["decided"], 1) if tally["decided"] else None
    return shown


def _axis(table: CodeTable, axis: str, position: int, cross: dict[tuple[str, ...], Counter]) -> list[dict[str, Any]]:
    """Every code of one axis in the table's order, each counting its descendants, then any
    code the table does not hold (none yet, or dropped from a replaced table)."""
    rolled: dict[str, Counter] = defaultdict(Counter)
    for key, tally in cross.items():
        code = key[position]
        for node in table.lineage(axis, code) or [code]:
            rolled[node].update(tally)
    listed = [{"code": code.code, "name": code.name, "gloss": code.gloss, "depth": len(table.lineage(axis, code.code)),
               **_shown(rolled[code.code])} for code in table.codes[axis].values()]
    listed += [{"code": code, "name": "", "gloss": "not in the code table" if code != NONE else "not coded",
                "depth": 1, **_shown(rolled[code])} for code in sorted(set(rolled) - set(table.codes[axis]))]
    return listed


# --- output ------------------------------------------------------------------------------

CSV_HEADER = ("table", "code_a", "code_b", "code_c", "respondent", *MEASURES)


def csv_rows(figures: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The return as one CSV table: totals, each axis, the cross table, the respondents."""
    def values(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple("" if row[m] is None else row[m] for m in MEASURES)

    rows: list[tuple[Any, ...]] = [("total", "", "", "", "", *values(figures["totals"]))]
    for i, axis in enumerate(AXES):
        for row in figures["axes"][axis]:
            codes = ["", "", ""]
            codes[i] = row["code"]
            rows.append((axis, *codes, "", *values(row)))
    rows += [("cross", r["code_a"], r["code_b"], r["code_c"], "", *values(r)) for r in figures["cross"]]
    rows += [("respondent", "", "", "", f"{r['kind']}:{r['id']}", *values(r)) for r in figures["by_respondent"]]
    return rows


def csv_text(figures: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(figures))
    return out.getvalue()


def xlsx_bytes(figures: dict[str, Any], table: CodeTable) -> bytes:
    """The return as a workbook: one sheet per axis, the cross table, the respondents; each
    under the header rows of a supervisor's template (title, institution, quarter, units)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.remove(book.active)
    measures = [f"{HEADINGS[m][0]}\n{HEADINGS[m][1]}" for m in MEASURES]

    def sheet(title: str, subject: str, columns: list[str], rows: list[list[Any]],
              total: str = "合计 Total") -> None:
        ws = book.create_sheet(title)
        p = figures["period"]
        ws.append([f"金融消费者投诉统计表 Financial consumer complaints ({figures['edition']}): {subject}"])
        ws.append(["填报机构 Institution", figures["institution"]])
        ws.append(["统计期间 Quarter", figures["quarter"], f"{p['from']} 至 {p['to']} ({p['timezone']})"])
        ws.append(["单位 Units", "件 (complaints); 平均处理天数: 天 (calendar days from receipt to decision)"])
        ws.append([])
        ws.append(columns + measures)
        ws["A1"].font = Font(bold=True, size=13)
        for cell in ws[6]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in rows:
            ws.append(row)
        ws.append([total] + [""] * (len(columns) - 1) + [figures["totals"][m] for m in MEASURES])
        ws[ws.max_row][0].font = Font(bold=True)
        ws.freeze_panes = "A7"
        ws.column_dimensions["A"].width = 14
        ws.column_dimensions["B"].width = 26

    def counts(row: dict[str, Any]) -> list[Any]:
        return [row[m] for m in MEASURES]

    for axis in AXES:
        sheet(f"{axis} {AXIS_NAMES[axis].split(' ')[0]}", f"{axis} {AXIS_NAMES[axis]}",
              ["编码 Code", "名称 Name", "English"],
              [[r["code"], "　" * (r["depth"] - 1) + r["name"], r["gloss"], *counts(r)] for r in figures["axes"][axis]])

    def name(axis: str, code: str) -> str:
        entry = table.codes[axis].get(code)
        return entry.name if entry else code

    sheet("A×B×C", "A × B × C", ["A", "B", "C", "A 名称", "B 名称", "C 名称"],
          [[r["code_a"], r["code_b"], r["code_c"], name("A", r["code_a"]), name("B", r["code_b"]),
            name("C", r["code_c"]), *counts(r)] for r in figures["cross"]])
    sheet("被投诉对象 Respondents", "被投诉对象 by respondent (where known)", ["类型 Kind", "编号 Id"],
          [[r["kind"], r["id"], *counts(r)] for r in figures["by_respondent"]],
          total="合计 Total (all complaints, respondent known or not)")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
