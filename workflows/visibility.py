"""What the Temporal Web UI and `temporal workflow list` see of a complaint.

Search attributes and summaries carry stages, categories, severities, channels and
deadlines only: they are stored in plain text and bypass the codec.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("ComplaintStage")
CATEGORY = SearchAttributeKey.for_keyword("ComplaintCategory")
SEVERITY = SearchAttributeKey.for_keyword("ComplaintSeverity")
CHANNEL = SearchAttributeKey.for_keyword("ComplaintChannel")
ESCALATED = SearchAttributeKey.for_bool("ComplaintEscalated")
BREACHED = SearchAttributeKey.for_bool("ComplaintSlaBreached")
PAUSED = SearchAttributeKey.for_bool("ComplaintPaused")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("ComplaintNextDeadline")

ALL = (STAGE, CATEGORY, SEVERITY, CHANNEL, ESCALATED, BREACHED, PAUSED, NEXT_DEADLINE)
"""Every search attribute of contract section 4, for registration and tests."""
