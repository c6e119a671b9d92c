"""Emergency drills (预案演练): made-up complaints through the real process, to see whether the
emergency plan works, then revise it.

A drill files marked complaints (`NewComplaint.drill`, search attribute `ComplaintDrill = 'yes'`)
that run the real workflow with the drill policy's deadlines (minutes, policy.DRILL_DEADLINES): the
emergency team gets a real escalation and must acknowledge it as it would any other. The driver
plays the handler `drill` through the desk where a scenario needs one, waits up to the drill
window for the team, then closes its complaints (withdrawn, "drill ended") and reports what it
measured: time from intake to escalation and to the team's acknowledgement, time to each stage,
and what became of every notice. Its complainant is never written to (those notices are archived
as suppressed), and reports and returns do not count it (complaints.reports.counted).
"""

from __future__ import annotations

import asyncio
import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from complaints.desk import Desk, Refused
from complaints.domain.models import ComplaintStatus, Intake, OpenCase, workflow_id
from complaints.reports import pyplot

HANDLER = "drill"
"""Who a drill's handler actions are recorded as."""
ENDED = "drill ended"
"""The reason a drill's complaints are withdrawn with when it ends."""
MARK = "【演练 DRILL】应急预案演练，不是真实投诉。This is an emergency drill, not a real complaint. "


class Scenario(StrEnum):
    urgent = "urgent"
    """An urgent complaint (media exposure): escalated at receipt."""
    breach = "breach"
    """Nobody assesses it: the drill's assessment deadline passes, the breach is escalated."""
    rejection = "rejection"
    """The drill handler's solution is rejected twice: a customer-rejection escalation."""


STORY = {
    Scenario.urgent: "客户称要向媒体曝光。The customer says they will go to the media.",
    Scenario.breach: "无人评估，让评估时限超期。Left unassessed, so the assessment deadline passes.",
    Scenario.rejection: "客户两次拒绝解决方案。The customer rejects the solution twice.",
}


def drill_intake(scenario: Scenario, drill_id: str, number: int) -> Intake:
    """A made-up complaint that says it is a drill; its reference makes it one per drill and number."""
    return Intake.model_validate({
        "channel": "phone", "external_ref": f"drill-{drill_id}-{number}", "content": MARK + STORY[scenario],
        "complainant": {"name": "演练 Drill", "email": f"drill-{drill_id}-{number}@drill.invalid"},
    })


REJECTION_STEPS: list[tuple[str, dict[str, Any]]] = [
    ("investigate", {"findings": "drill", "root_cause": "drill", "substantiated": False}),
    *[step for _ in range(2) for step in (
        ("propose_solution", {"plan": "drill plan", "remedies": ["drill remedy"]}),
        ("record_execution", {"result": "drill"}),
        ("record_feedback", {"accepted": False}),
    )],
]
"""After the assessment: the solution proposed, carried out and rejected, twice."""


@dataclass
class Progress:
    escalated: int
    acknowledged: int
    total: int
    left: timedelta


@dataclass
class Drill:
    desk: Desk
    scenario: Scenario
    drill_id: str
    complaint_ids: list[str]
    started_at: datetime
    window: timedelta = timedelta(0)
    statuses: dict[str, ComplaintStatus] = field(default_factory=dict)
    cases: dict[str, OpenCase] = field(default_factory=dict)

    @classmethod
    async def start(cls, desk: Desk, scenario: Scenario, n: int = 1) -> Drill:
        """File `n` drill complaints (the scenario's handler actions are `play`'s)."""
        drill_id = uuid.uuid4().hex[:8]
        started_at = datetime.now(timezone.utc)
        ids = [(await desk.file(drill_intake(scenario, drill_id, i + 1), drill=True)).complaint_id for i in range(n)]
        return cls(desk, scenario, drill_id, ids, started_at)

    async def play(self) -> None:
        """The handler's part of the scenario, as the handler `drill`: in `rejection`, each complaint
        assessed, investigated, and its solution rejected twice; the other scenarios have none."""
        if self.scenario is not Scenario.rejection:
            return
        for complaint_id in self.complaint_ids:
            status = await self.desk.status(complaint_id)
            await self.desk.act(complaint_id, "assess", {"handler": HANDLER, "category": status.category,
                                                         "severity": "normal"})
            for action, payload in REJECTION_STEPS:
                await self.desk.act(complaint_id, action, {"handler": HANDLER, **payload})

    async def watch(self, window: timedelta, poll: float = 1.0,
                    progress: Callable[[Progress], None] | None = None) -> None:
        """Wait until the team has acknowledged every drill complaint, or the window (counted from
        the drill's start, on this machine's clock) has passed."""
        self.window = window
        loop = asyncio.get_running_loop()
        until = loop.time() + (window - (datetime.now(timezone.utc) - self.started_at)).total_seconds()
        while True:
            await self.look()
            acknowledged = sum(1 for c in self.cases.values() if c.acknowledged_at)
            left = timedelta(seconds=max(0.0, until - loop.time()))
            if progress:
                progress(Progress(sum(1 for s in self.statuses.values() if s.escalated), acknowledged,
                                  len(self.complaint_ids), left))
            if acknowledged == len(self.complaint_ids) or not left:
                return
            await asyncio.sleep(min(poll, left.total_seconds()))

    async def look(self) -> None:
        """The drill complaints' statuses and the team's record of their cases, now."""
        for complaint_id in self.complaint_ids:
            self.statuses[complaint_id] = await self.desk.status(complaint_id)
        found = await self.desk.open_cases(current_stages=False)
        self.cases |= {c.complaint_id: c for c in found.cases if c.complaint_id in self.complaint_ids}

    async def end(self, wait: timedelta = timedelta(seconds=60)) -> None:
        """Close the drill complaints (withdrawn, "drill ended"; one closed already is left as it is)
        and wait for each to finish, so its records and notices are all in the archive."""
        for complaint_id in self.complaint_ids:
            try:
                self.statuses[complaint_id] = await self.desk.act(
                    complaint_id, "withdraw", {"handler": HANDLER, "reason": ENDED})
            except Refused:
                pass
        for complaint_id in self.complaint_ids:
            handle = self.desk.client.get_workflow_handle(workflow_id(complaint_id), result_type=ComplaintStatus)
            self.statuses[complaint_id] = await asyncio.wait_for(handle.result(), wait.total_seconds())

    async def report(self) -> dict[str, Any]:
        """What the drill measured, as JSON-ready values (seconds from each complaint's intake)."""
        by_complaint: dict[str, list[Any]] = {cid: [] for cid in self.complaint_ids}
        for notice in await self.desk.outbox(complaints=self.complaint_ids):
            by_complaint[notice.complaint_id].append(notice)
        rows = [self._measured(cid, by_complaint[cid]) for cid in self.complaint_ids]
        acknowledged = [r["to_acknowledgement"] for r in rows if r["acknowledgement"] == "acknowledged"]
        staff = [n for r in rows for n in r["notices"] if n["recipient"] != "complainant"]
        not_out = [n for n in staff if n["status"] != "sent"]
        return {
            "drill": {"id": self.drill_id, "scenario": self.scenario.value, "complaints": len(rows),
                      "started_at": self.started_at.isoformat(), "window_seconds": self.window.total_seconds()},
            "summary": {
                "acknowledged": len(acknowledged), "missed": len(rows) - len(acknowledged),
                "median_to_acknowledgement": statistics.median(acknowledged) if acknowledged else None,
                "longest_to_acknowledgement": max(acknowledged, default=None),
                "staff_notices": len(staff), "staff_notices_out": len(staff) - len(not_out),
                "staff_notices_not_out": not_out,
                "complainant_notices_suppressed": sum(n["status"] == "suppressed" for r in rows
                                                      for n in r["notices"] if n["recipient"] == "complainant"),
                "passed": bool(rows) and len(acknowledged) == len(rows) and not not_out,
            },
            "complaints": rows,
        }

    def _measured(self, complaint_id: str, notices: list[Any]) -> dict[str, Any]:
        s, case = self.statuses[complaint_id], self.cases.get(complaint_id)

        def since(moment: datetime | None) -> float | None:
            return None if moment is None else round((moment - s.received_at).total_seconds(), 1)

        escalation = s.escalations[0] if s.escalations else None
        acknowledged_at = case.acknowledged_at if case else None
        return {
            "complaint_id": complaint_id,
            "received_at": s.received_at.isoformat(),
            "escalation": escalation.source.value if escalation else None,
            "to_escalation": since(escalation.at if escalation else None),
            "acknowledgement": "acknowledged" if acknowledged_at else "missed" if escalation else "not escalated",
            "lead": case.lead if case else None,
            "to_acknowledgement": since(acknowledged_at),
            "stages": [{"stage": h.stage.value, "at": since(h.entered_at)} for h in s.history],
            "breaches": list(s.breaches),
            "outcome": s.outcome.value if s.outcome else None,
            "notices": [{"seq": n.seq, "kind": n.kind, "recipient": n.recipient, "status": n.status,
                         "channel": n.channel, "last_error": n.last_error} for n in notices],
        }


def draw_drill_chart(report: dict[str, Any], path: str) -> None:
    """One bar per drill complaint: intake to escalation (grey), then to the team's acknowledgement
    (green) or, missed, to the end of the window (red); each stage's start as a tick below it."""
    plt = pyplot()
    rows, d = report["complaints"], report["drill"]
    span = max([d["window_seconds"], *(s["at"] for r in rows for s in r["stages"])])
    fig, ax = plt.subplots(figsize=(11, 1.6 + 0.8 * len(rows)))
    fig.suptitle(f"Emergency drill {d['id']} ({d['scenario']}): {report['summary']['acknowledged']} of "
                 f"{d['complaints']} acknowledged", fontweight="bold")
    colours = {"escalation": "#90a4ae", "acknowledged": "#2e7d32", "missed": "#c62828"}
    for y, row in enumerate(rows):
        escalated, acked = row["to_escalation"], row["to_acknowledgement"]
        if escalated is None:
            ax.text(0, y, " not escalated", va="center", color=colours["missed"], fontweight="bold")
        else:
            ax.barh(y, escalated, height=0.45, color=colours["escalation"])
            end, state = (acked, "acknowledged") if acked is not None else (max(span, escalated), "missed")
            ax.barh(y, end - escalated, left=escalated, height=0.45, color=colours[state])
            ax.text(end, y, f" {acked:.0f} s" if acked is not None else " MISSED", va="center",
                    color=colours[state], fontweight="bold")
        labelled = -span
        for stage in row["stages"][1:]:  # after receipt, which is the intake itself
            ax.plot(stage["at"], y + 0.32, marker="^", color="black", markersize=4)
            if stage["at"] - labelled > span * 0.06:  # labels of stages seconds apart would overlap
                ax.text(stage["at"], y + 0.45, stage["stage"], fontsize=7, ha="center", va="top")
                labelled = stage["at"]
    ax.set_yticks(range(len(rows)), [r["complaint_id"] for r in rows])
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.set_xlim(0, span * 1.12)
    ax.set_xlabel("seconds from intake; ▲ a stage begins")
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()],
              labels=["intake to escalation", "to the team's acknowledgement", "missed in the drill window"],
              fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
