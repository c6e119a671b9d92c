"""What the Web UI shows of a complaint, rendered by pure functions: no server needed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from complaints.domain.models import (
    Classification,
    ComplaintStatus,
    EscalationEntry,
    Intake,
    NewComplaint,
    ReviewOf,
)
from tests.workflows.conftest import BODY
from workflows import visibility
from workflows.visibility import BREACHED, CATEGORY, CODES, ESCALATED, NEXT_DEADLINE, PAUSED, SEVERITY, STAGE

RECEIVED = datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


def status(**changes) -> ComplaintStatus:
    base = dict(complaint_id="C1", stage="investigation", channel="phone", category="collection.off_hours",
                severity="high", received_at=RECEIVED,
                deadlines={"assessment": RECEIVED + timedelta(hours=1), "investigation": RECEIVED + timedelta(hours=24),
                           "decision": RECEIVED + timedelta(days=15)},
                met={"assessment": RECEIVED + timedelta(minutes=30)}, next_deadline="investigation", handler="h.wang")
    return ComplaintStatus.model_validate(base | changes)


def test_search_attributes_follow_the_status():
    values = visibility.search_attributes(status(breaches=["investigation"], escalated=True, paused=True,
                                                 next_deadline="decision"))
    assert values[STAGE] == "investigation" and values[CATEGORY] == "collection.off_hours"
    assert values[SEVERITY] == "high" and values[ESCALATED] is True and values[BREACHED] is True
    assert values[PAUSED] is True and values[NEXT_DEADLINE] == RECEIVED + timedelta(days=15)
    closed = visibility.search_attributes(status(stage="closed", next_deadline=None))
    assert closed[NEXT_DEADLINE] is None and closed[BREACHED] is False
    assert closed[CODES] is None  # no codes yet: the attribute stays unset
    coded = visibility.search_attributes(status(code_a="01032", code_b="0202"))
    assert coded[CODES] == ["A:01032", "B:0202"]


def test_current_details_show_the_regulators_codes():
    assert "**Codes (JR/T 0169-2018):** none yet" in visibility.current_details(status())
    details = visibility.current_details(status(code_a="01032", code_b="0202", code_c="03"))
    assert "**Codes (JR/T 0169-2018):** A:01032 · B:0202 · C:03" in details


def test_current_details_tell_stage_next_deadline_holder_and_every_deadlines_state():
    details = visibility.current_details(status(
        breaches=["investigation"], escalated=True, paused=True, next_deadline=None,
        escalations=[EscalationEntry(source="sla_breach", reason="late", by="system", at=RECEIVED)]))
    assert "**Stage:** investigation" in details and "**Held by:** h.wang" in details
    assert "**Escalated:** sla_breach; lead not yet named" in details and "**Breached:** investigation" in details
    assert "**Paused:** waiting on external appraisal" in details
    rows = details.split("**Deadlines** (Asia/Shanghai):")[1].strip().splitlines()
    assert [row.split(":")[0] for row in rows] == ["- assessment", "- investigation", "- decision"]  # by due time
    assert rows[0].endswith("met 2026-11-02T10:30+08:00") and rows[1].endswith("**breached**")
    assert rows[2].endswith("paused")

    running = visibility.current_details(status())
    assert "**Next deadline:** investigation at 2026-11-03T10:00+08:00" in running
    closed = visibility.current_details(status(stage="closed", outcome="withdrawn", next_deadline=None))
    assert "**Stage:** closed (withdrawn)" in closed and "no longer running" in closed


def test_a_review_starts_at_least_high_in_its_summary_and_search_attributes():
    complaint = NewComplaint(complaint_id="C2", received_at=RECEIVED, intake=Intake.model_validate(BODY),
                             classification=Classification(category="service.fees", severity="normal",
                                                           reasons=["fee words"]),
                             review_of=ReviewOf(complaint_id="C1", handlers=["h.wang"]))
    assert visibility.summary(complaint) == "service.fees · high · phone"
    started = {pair.key.name: pair.value for pair in visibility.at_start(complaint)}
    assert started == {"ComplaintStage": "receipt", "ComplaintCategory": "service.fees", "ComplaintSeverity": "high",
                       "ComplaintChannel": "phone", "ComplaintEscalated": False, "ComplaintSlaBreached": False,
                       "ComplaintPaused": False}
    details = visibility.details(complaint)
    assert "**Review of:** C1" in details and "**Why:** fee words" in details and "张三" not in details
