"""The releases ComplaintWorkflow has shipped: each names the changes one release made to the
commands a complaint produces, so a complaint started under it replays the path it took.

Every patch costs a new run two history events (a marker and the `TemporalChangeVersion`
search attribute), so a release's changes share one patch, and a new run records only the
newest release's marker.
"""

from enum import IntEnum

from temporalio import workflow


class Release(IntEnum):
    """Releases in order, so a path is chosen by `release >= Release.R2026_12`."""

    FIRST = 0
    ARCHIVE_LOCALLY = 1
    """2026-11: archive writes as local activities instead of activity tasks."""
    R2026_12 = 2
    """2026-12: the outbox's two lanes (alerts never wait for the archive), the deadline clock's
    timer re-armed only when the next alarm changes (not on every action), the deadlines fixed in
    a local activity, and a lead named by the `lead_assigned` signal recorded only once the
    emergency team confirms it."""
    R2027_01 = 3
    """2027-01: a run records only this release's marker (two events fewer than 2026-12's runs);
    notices delivered (a delivery activity per notice, started from the alerts lane), a notice
    undelivered for a day escalated to the manager, and the written decision sent on accepted
    feedback, which is when the `decision` deadline is met."""
    R2027_02 = 4
    """2027-02: a run records only this release's marker; a complaint reaching assessment is
    assigned by a local activity (`assign_handler`: the people file's team, the least open work),
    and with a people file the holder's person id is upserted as `ComplaintHandler`. Emergency
    drills (`NewComplaint.drill`, new in this release, so no older run is one) take their own
    commands: deadlines from `plan_drill_deadlines`, and a notice to the complainant archived as
    suppressed instead of delivered (`ComplaintDrill` is set at the start, not upserted). A warning
    not given by the time its deadline passed is given then, before the breach (workflows/deadlines.py)."""
    R2027_03 = 5
    """2027-03: a run records only this release's marker; the deadline clock wakes a minute ahead
    of each alarm (halfway when it is nearer) and sets the last stretch from that task, so an
    alarm rings on time however long the task that first set its timer ran (workflows/deadlines.py)."""
    R2027_04 = 6
    """2027-04: a run records only this release's marker; the receipt's archive writes start once the
    assignment is settled, so no two local activities ever run at once (live, the SDK resumes the
    workflow in the order they finish, on replay in the order they started: sdk-python issue 1578)."""


def release_of_this_run() -> Release:
    """The newest release whose marker this run carries (a new run: the newest of all). Called
    once, at the run's start. Releases from 2027-01 on are asked newest first, stopping at the
    first found; runs from before it recorded every older marker, which replay must ask for again
    (core refuses a marker nobody asks for), in the order they were asked."""
    if workflow.patched("release-2027-04"):
        return Release.R2027_04
    if workflow.patched("release-2027-03"):
        return Release.R2027_03
    if workflow.patched("release-2027-02"):
        return Release.R2027_02
    if workflow.patched("release-2027-01"):
        return Release.R2027_01
    if workflow.patched("release-2026-12"):
        workflow.patched("archive-local-activities")
        return Release.R2026_12
    return Release.ARCHIVE_LOCALLY if workflow.patched("archive-local-activities") else Release.FIRST
