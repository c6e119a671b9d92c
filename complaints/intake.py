"""Intake: an accepted complaint becomes a running workflow, exactly once per channel reference.

Every channel (HTTP, files, e-mail, the command line) comes through `file_complaint`, so
the id rule, the receipt checks and the workflow's start options live in one place.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from complaints.domain import regulator
from complaints.domain.classify import FirmRules, classify
from complaints.domain.models import Intake, NewComplaint, PublicText, ReviewOf, workflow_id
from complaints.infra.archive import Archive
from workflows.complaint import ComplaintWorkflow
from workflows import visibility

CLOCK_SKEW = timedelta(minutes=5)
OLDEST = timedelta(days=366)


class IntakeRefused(ValueError):
    """An intake that cannot be accepted: the field at fault and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Filed:
    complaint_id: str
    workflow_id: str
    created: bool


def complaint_id_for(intake: Intake) -> str:
    """The same (channel, external_ref) always gives the same id; no reference, a fresh one."""
    if intake.external_ref:
        digest = hashlib.sha256(f"{intake.channel.value}\x1f{intake.external_ref}".encode()).hexdigest()
        return "C" + digest[:15].upper()
    return "C" + uuid.uuid4().hex[:15].upper()


def review_link(archive: Archive, original_id: str, received_at: datetime) -> ReviewOf:
    """The original a review received at `received_at` asks about; a closed original without a
    decision (withdrawn, merged) counts its review window from its closing."""
    original = archive.complaint(original_id)
    if original is None:
        raise IntakeRefused("review_of", f"no complaint {original_id} in the archive")
    decided = original["decided_at"] or original["closed_at"]
    if decided is not None and decided.tzinfo is None:
        decided = decided.replace(tzinfo=timezone.utc)
    why = regulator.review_refusal(original_id, original["stage"], decided, received_at)
    if why:
        field, _, reason = why.partition(": ")
        raise IntakeRefused(field, reason)
    return ReviewOf(complaint_id=original_id, handlers=list(original["handlers"] or []))


async def file_complaint(
    client: Client, task_queue: str, intake: Intake, archive: Archive, now: datetime | None = None,
    rules: FirmRules | None = None, drill: bool = False,
) -> Filed:
    """Start the complaint's workflow, classified with the built-in words and a firm's `rules`;
    `drill` marks an emergency drill's complaint (`complaints.drills`)."""
    now = now or datetime.now(timezone.utc)
    received_at = intake.received_at or now
    if received_at > now + CLOCK_SKEW:
        raise IntakeRefused("received_at", "is in the future")
    if received_at < now - OLDEST:
        raise IntakeRefused("received_at", "is more than a year ago; file it with the date it reached the firm")
    complaint_id = complaint_id_for(intake)
    review = review_link(archive, intake.review_of, received_at) if intake.review_of else None
    guess = classify(intake.channel, f"{intake.subject or ''}\n{intake.content}", rules or FirmRules())
    complaint = NewComplaint(complaint_id=complaint_id, received_at=received_at, intake=intake,
                             classification=guess, review_of=review, drill=drill)
    wid = workflow_id(complaint_id)
    try:
        await client.start_workflow(
            ComplaintWorkflow.run,
            complaint,
            id=wid,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=visibility.at_start(complaint),
            static_summary=PublicText(visibility.summary(complaint)),
            static_details=PublicText(visibility.details(complaint)),
        )
    except WorkflowAlreadyStartedError:
        return Filed(complaint_id, wid, created=False)
    return Filed(complaint_id, wid, created=True)
