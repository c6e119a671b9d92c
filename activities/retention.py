"""Retention: erase the personal data and evidence of complaints closed longer ago than the policy keeps them."""

from __future__ import annotations

from datetime import datetime, timezone

from temporalio import activity

from complaints.domain.policy import Policy
from complaints.infra.archive import Archive
from complaints.infra.evidence import EvidenceStore
from complaints.infra.logging import log


class Eraser:
    def __init__(self, archive: Archive, store: EvidenceStore, policy: Policy) -> None:
        self.archive, self.store, self.policy = archive, store, policy

    @activity.defn
    def erase_expired(self) -> int:
        """How many complaints it erased. A retry finds the erased ones recorded and skips them;
        a file is deleted only after its last complaint's erasure is recorded."""
        if self.policy.retention is None:
            return 0
        now = datetime.now(timezone.utc)
        erased = self.archive.erase_closed_before(self.policy.retention.closed_before(now), now)
        for complaint_id, files in erased:
            for sha256 in files:
                self.store.delete(sha256)
            log.info("erased", complaint_id=complaint_id, files=len(files))
        return len(erased)
