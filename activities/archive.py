"""Write the complaint's records to the archive: audit entry, facts, deadlines, notices."""

from __future__ import annotations

from temporalio import activity

from complaints.domain.models import DeliveryOutcome, Record
from complaints.infra.archive import Archive
from complaints.infra.logging import log


class Archivist:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    @activity.defn
    def archive_receipt(self, record: Record) -> str | None:
        """Archive a new complaint; returns an open complaint of the same complainant, if any."""
        assert record.intake is not None, "a receipt record carries the intake"
        duplicate = self.archive.open_complaint_of(record.complaint_id, record.intake)
        if duplicate:
            record = record.model_copy(update={"facts": record.facts | {"possible_duplicate_of": duplicate}})
        self._write(record)
        return duplicate

    @activity.defn
    def archive_record(self, record: Record) -> None:
        self._write(record)

    @activity.defn
    def record_delivery(self, outcome: DeliveryOutcome) -> None:
        """What became of a notice, as the workflow learnt it (the delivery may not have reached
        the archive itself)."""
        self.archive.record_delivery(outcome)

    def _write(self, record: Record) -> None:
        replaced = self.archive.write(record)
        if replaced:
            log.warning("archived over a lost workflow task's entry", complaint_id=record.complaint_id,
                        seq=record.seq, kind=record.kind, replaced=replaced)
        log.info("archived", complaint_id=record.complaint_id, seq=record.seq, kind=record.kind,
                 action=record.action, stage=record.stage.value, actor=record.actor)
        for notice in record.notices:
            log.info("notice", complaint_id=record.complaint_id, seq=record.seq, kind=notice.kind,
                     recipient=notice.recipient, notice=notice.message)
