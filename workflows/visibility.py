"""What the Temporal Web UI and `temporal workflow list` see of a complaint, as pure functions.

Search attributes and summaries carry stages, categories, severities, channels and
deadlines only: they are stored in plain text and bypass the codec. The same functions
serve the intake (the complaint's start) and the workflow (every change after it).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

with workflow.unsafe.imports_passed_through():
    from complaints.domain.models import ComplaintStatus, NewComplaint, Stage
    from complaints.domain.workdays import local_time as local

STAGE = SearchAttributeKey.for_keyword("ComplaintStage")
CATEGORY = SearchAttributeKey.for_keyword("ComplaintCategory")
SEVERITY = SearchAttributeKey.for_keyword("ComplaintSeverity")
CHANNEL = SearchAttributeKey.for_keyword("ComplaintChannel")
ESCALATED = SearchAttributeKey.for_bool("ComplaintEscalated")
BREACHED = SearchAttributeKey.for_bool("ComplaintSlaBreached")
PAUSED = SearchAttributeKey.for_bool("ComplaintPaused")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("ComplaintNextDeadline")
CODES = SearchAttributeKey.for_keyword_list("ComplaintCodes")
"""`A:<code>`, `B:<code>`, `C:<code>`: one KeywordList, so the three JR/T 0169-2018 axes take none of
the SQL visibility store's ten Keyword slots (`ComplaintCodes = 'B:0302'` filters by one)."""

DRILL = SearchAttributeKey.for_keyword("ComplaintDrill")
"""`yes` on an emergency drill's complaints, set at their start and never changed (absent on others):
a Keyword, as the SQL visibility store's three Bool slots are taken (`ComplaintDrill = 'yes'`)."""

HANDLER = SearchAttributeKey.for_keyword("ComplaintHandler")
"""The person id holding the complaint (never a name): set only on runs that know the firm has a
people file, from release 2027-02 on; a handler's queue is `ComplaintHandler = 'h.zhang'`."""

ALL = (STAGE, CATEGORY, SEVERITY, CHANNEL, ESCALATED, BREACHED, PAUSED, NEXT_DEADLINE, CODES, DRILL, HANDLER)
"""Every search attribute of the contract (sections 4 and 7), for registration and tests."""


def regulator_codes(status: ComplaintStatus) -> list[str]:
    """The complaint's JR/T 0169-2018 codes as `ComplaintCodes` holds them, axis by axis."""
    return [f"{axis}:{code}" for axis, code in (("A", status.code_a), ("B", status.code_b), ("C", status.code_c))
            if code]


def search_attributes(status: ComplaintStatus, person_ids: bool = False) -> dict[SearchAttributeKey, Any]:
    """Every search attribute's value for the complaint as it stands (None: unset); `ComplaintHandler`
    only when handlers are `person_ids` (a people file), since a typed handler may be a name."""
    nxt = status.next_deadline
    return {
        STAGE: status.stage.value, CATEGORY: status.category and status.category.value,
        SEVERITY: status.severity and status.severity.value, CHANNEL: status.channel.value,
        ESCALATED: status.escalated, BREACHED: bool(status.breaches), PAUSED: status.paused,
        NEXT_DEADLINE: status.deadlines[nxt] if nxt else None, CODES: regulator_codes(status) or None,
    } | ({HANDLER: status.handler} if person_ids else {})


def at_start(complaint: NewComplaint) -> TypedSearchAttributes:
    """The search attributes a complaint starts with, before its deadlines are fixed."""
    return TypedSearchAttributes([SearchAttributePair(key, value) for key, value in (
        (STAGE, Stage.receipt.value), (CATEGORY, complaint.classification.category.value),
        (SEVERITY, complaint.severity.value), (CHANNEL, complaint.intake.channel.value),
        (ESCALATED, False), (BREACHED, False), (PAUSED, False), *([(DRILL, "yes")] if complaint.drill else []),
    )])


def summary(complaint: NewComplaint) -> str:
    """The one-line summary: category, severity and channel as proposed at receipt (a drill's says so)."""
    return ("drill · " if complaint.drill else "") + f"{complaint.classification.category.value} · {complaint.severity.value} · {complaint.intake.channel.value}"


def details(complaint: NewComplaint) -> str:
    """The static details: when and how it was received, and why it was classified so."""
    intake = complaint.intake
    lines = [
        f"### Complaint {complaint.complaint_id}",
        f"- **Received:** {local(complaint.received_at)} (Asia/Shanghai) via {intake.channel.value}",
        f"- **Proposed category:** {complaint.classification.category.value} ({complaint.severity.value})",
        f"- **Why:** {'; '.join(complaint.classification.reasons)}",
        f"- **Evidence items:** {len(intake.evidence)}",
    ]
    if intake.respondent:
        lines.append(f"- **About:** {intake.respondent.kind.value} {intake.respondent.id}")
    if complaint.review_of:
        lines.append(f"- **Review of:** {complaint.review_of.complaint_id}")
    if complaint.drill:
        lines.append("- **Emergency drill:** a made-up complaint; its complainant is never written to")
    lines.append("\nThe deadlines are fixed at receipt by the firm's policy; Current Details lists each one "
                 "with its state, and the stage, the next deadline and who holds the complaint now.")
    return "\n".join(lines)


def current_details(status: ComplaintStatus) -> str:
    """Markdown for the Web UI: where the complaint stands and every deadline's state."""
    closed = status.stage is Stage.closed
    nxt = status.next_deadline
    outcome = f" ({status.outcome.value})" if closed and status.outcome else ""
    lines = [f"**Stage:** {status.stage.value}{outcome}",
             f"**Next deadline:** {nxt} at {local(status.deadlines[nxt], deadline=True)}" if nxt
             else "**Next deadline:** none",
             f"**Held by:** {status.handler or 'not yet assigned'}",
             f"**Codes (JR/T 0169-2018):** {' · '.join(regulator_codes(status)) or 'none yet'}"]
    if status.escalated:
        lines.append(f"**Escalated:** {', '.join(e.source.value for e in status.escalations)}"
                     f"; lead {status.lead or 'not yet named'}")
    if status.breaches:
        lines.append(f"**Breached:** {', '.join(status.breaches)}")
    if status.paused:
        lines.append("**Paused:** waiting on external appraisal")

    def state(name: str) -> str:
        if name in status.met:
            return f"met {local(status.met[name])}" + (", late" if name in status.breaches else "")
        if name in status.breaches:
            return "**breached**"
        return "no longer running" if closed else "paused" if name == "decision" and status.paused else "running"

    plan = [f"- {name}: {local(due, deadline=True)}, {state(name)}"
            for name, due in sorted(status.deadlines.items(), key=lambda item: item[1])]
    table = "\n\n**Deadlines** (Asia/Shanghai):\n\n" + "\n".join(plan) if plan else ""
    return "  \n".join(lines) + table
