"""The patches ComplaintWorkflow carries: each names the changes one release made to the
commands a complaint produces, so a complaint started before it replays the path it took.

Every patch costs a new run two history events (a marker and the `TemporalChangeVersion`
search attribute), so a release's changes share one patch, decided once at the run's start.
"""

ARCHIVE_LOCALLY = "archive-local-activities"
"""2026-11: archive writes as local activities instead of activity tasks."""

RELEASE_2026_12 = "release-2026-12"
"""2026-12: the outbox's two lanes (alerts never wait for the archive), the deadline clock's
timer re-armed only when the next alarm changes (not on every action), the deadlines fixed in
a local activity, and a lead named by the `lead_assigned` signal recorded only once the
emergency team confirms it."""
