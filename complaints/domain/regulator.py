"""The regulator's clock (contract 2b): extension caps, the review window.

Pure rules; the workflow applies them to its state, the intake service to an archive row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .models import ApproverRole, Extension
from .workdays import local_time

EXTENSION_CAPS = ((ApproverRole.manager, 30), (ApproverRole.senior_manager, 60))
"""The nth extension: the least senior approver it needs, and its cap in days from receipt."""

REVIEW_WINDOW = timedelta(days=30)
_RANK = {ApproverRole.manager: 0, ApproverRole.senior_manager: 1}


def extension_closed(used: int, passed_at: datetime | None) -> str | None:
    """Why no extension can be granted any more, whoever approves it; None while one can.

    An extension moves a deadline still running: once `decision` has passed, the breach
    stands and the complainant must not be sent a new date as if it had not.
    """
    if passed_at is not None:
        return (f"the decision deadline passed at {local_time(passed_at, deadline=True)}; "
                "an extension must be granted before the deadline runs out")
    if used >= len(EXTENSION_CAPS):
        return "the decision deadline can be extended at most twice (30 then 60 days)"
    return None


def extension_refusal(
    extensions: list[Extension],
    role: ApproverRole,
    new_due: datetime,
    caps: list[datetime],
    paused: timedelta,
) -> str | None:
    """Why an extension to `new_due` is refused, or None; `caps` are the latest each extension
    may reach (the plan's `extension_caps`), and paused time does not count."""
    closed = extension_closed(len(extensions), None)
    if closed:
        return f"extend refused: {closed}"
    needed, cap_days = EXTENSION_CAPS[len(extensions)]
    nth = "first" if not extensions else "second"
    if _RANK[role] < _RANK[needed]:
        return f"extend refused: a {nth} extension needs a {needed.value.replace('_', ' ')}'s approval"
    cap = caps[len(extensions)] + paused
    if new_due > cap:
        return (
            f"extend refused: a {nth} extension may reach at most {cap_days} days from receipt "
            f"({local_time(cap, deadline=True)}), this one would reach {local_time(new_due, deadline=True)}"
        )
    return None


def plain_caps(received_at: datetime) -> list[datetime]:
    """The caps of a complaint whose plan predates `extension_caps`: N x 24 hours after receipt."""
    return [received_at + timedelta(days=days) for _, days in EXTENSION_CAPS]


def review_refusal(original: str, stage: str, decided_at: datetime | None, received_at: datetime) -> str | None:
    """Why a review of complaint `original`, received at `received_at`, cannot be opened, or None.

    A review asks again about a decision told: it may be filed from that moment, whether or
    not the original is closed, until 30 days later, counted to when the review reached the
    firm (not to when it is keyed in). `decided_at` is None while no decision was told.
    """
    if decided_at is None:
        return (f"review_of: complaint {original} has no decision told yet (stage {stage}); "
                "a review can be filed once the decision is told")
    if received_at < decided_at:
        return (f"review_of: the review was received before the decision on complaint {original} "
                f"was told ({local_time(decided_at)})")
    if received_at - decided_at > REVIEW_WINDOW:
        return (
            f"review_of: the review window of complaint {original} ended at "
            f"{local_time(decided_at + REVIEW_WINDOW)} (30 days after its decision)"
        )
    return None
