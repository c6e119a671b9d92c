"""The stage rules as data: which action each stage accepts, and where it leads.

The workflow's update validators, the API's 409 and the CLI's message all come from
`refusal`, so a handler is told the same thing whichever way they act.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import regulator
from .models import Stage

OPEN_STAGES = frozenset(Stage) - {Stage.closed}

ACCEPTED_IN: dict[str, frozenset[Stage]] = {
    "assess": frozenset({Stage.assessment}),
    "investigate": frozenset({Stage.investigation}),
    "propose_solution": frozenset({Stage.solution}),
    "record_execution": frozenset({Stage.solution}),
    "record_feedback": frozenset({Stage.feedback}),
    "record_revisit": frozenset({Stage.revisit}),
    "summarize": frozenset({Stage.summary}),
    "withdraw": OPEN_STAGES,
    "extend": OPEN_STAGES - {Stage.receipt},
    "pause": OPEN_STAGES - {Stage.receipt},
    "resume": OPEN_STAGES - {Stage.receipt},
    "merge": OPEN_STAGES - {Stage.receipt},
    "assign": OPEN_STAGES,
    "claim": OPEN_STAGES,
}
"""Each handler action and the stages that accept it."""

LEADS_TO: dict[str, Stage] = {
    "assess": Stage.investigation,
    "investigate": Stage.solution,
    "record_execution": Stage.feedback,
    "record_feedback": Stage.revisit,  # a rejection leads back to solution instead
    "record_revisit": Stage.summary,
    "summarize": Stage.closed,
    "withdraw": Stage.closed,
    "merge": Stage.closed,
}
"""Where an action moves the complaint; actions not listed leave the stage as it is."""

MEETS: dict[str, str] = {
    "assess": "assessment",
    "investigate": "investigation",
    "propose_solution": "plan",
    "record_execution": "execution",
    "record_feedback": "decision",
    "summarize": "summary",
}
"""The deadline an action meets (contract section 2 and 2b)."""


@dataclass(frozen=True)
class Situation:
    """What, besides the stage, decides whether an action is accepted now."""

    stage: Stage
    plan_proposed: bool = False
    paused: bool = False
    decision_met: bool = False
    extensions: int = 0
    decision_passed_at: datetime | None = None
    held: bool = False
    """A handler holds the complaint: it can no longer be claimed, only assigned."""


def _fits(action: str, now: Situation) -> bool:
    if now.stage not in ACCEPTED_IN[action]:
        return False
    match action:
        case "propose_solution":
            return not now.plan_proposed
        case "record_execution":
            return now.plan_proposed
        case "extend":
            return not now.decision_met and regulator.extension_closed(now.extensions, now.decision_passed_at) is None
        case "pause":
            return not now.paused and not now.decision_met
        case "resume":
            return now.paused
        case "claim":
            return not now.held
    return True


def accepted(now: Situation) -> list[str]:
    """The actions a handler may take now, in process order."""
    return [action for action in ACCEPTED_IN if _fits(action, now)]


def refusal(action: str, now: Situation) -> str | None:
    """Why `action` is refused now, naming the stage and what it accepts; None if accepted."""
    if action not in ACCEPTED_IN:
        return f"unknown action {action!r}; actions are {', '.join(ACCEPTED_IN)}"
    if _fits(action, now):
        return None
    why = ""
    if now.stage in ACCEPTED_IN[action]:
        why = {
            "propose_solution": " (a plan is already proposed; record its execution)",
            "record_execution": " (no plan proposed yet)",
            "extend": " (the decision has been told already)" if now.decision_met
            else f" ({regulator.extension_closed(now.extensions, now.decision_passed_at)})",
            "pause": " (already paused)" if now.paused else " (the decision has been told already)",
            "resume": " (not paused)",
            "claim": " (a handler holds it already; a manager assigns it)",
        }.get(action, "")
    allowed = ", ".join(accepted(now)) or "nothing"
    return f"{action} refused{why}: the complaint is in stage {now.stage.value}, which accepts {allowed}"
