"""The case file: a complaint's text and the complainant's details, read from the archive.

Shared by the HTTP API (`GET /complaints/{id}/case`) and the CLI (`complaints show`,
`complaints audit`). Every read of personal data is itself written to the archive (who,
when, which complaint, which route) before the answer leaves, so a read that could not be
recorded is not served. Reads need only the archive, never Temporal.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from complaints.desk import NotFound, _archive_down, _is_id
from complaints.domain.models import CaseEvent, CaseFile, Complainant, Respondent, RespondentKind
from complaints.infra.archive import Archive

COMPLAINANT = ("name", "phone", "email", "id_number", "customer_id")


@dataclass
class CaseDesk:
    archive: Archive

    async def read(self, complaint_id: str, reader: str, route: str) -> CaseFile:
        """The case file, its read recorded first."""
        return await self._archived(self._read, complaint_id, reader, route)

    async def trail(self, complaint_id: str) -> list[CaseEvent]:
        """Changes and reads of the complaint, in the order they happened."""
        return await self._archived(self._trail, complaint_id)

    async def _archived(self, work: Any, complaint_id: str, *args: Any) -> Any:
        if not _is_id(complaint_id):
            raise NotFound("no such complaint")
        try:
            found = await asyncio.to_thread(work, complaint_id, *args)
        except SQLAlchemyError:
            raise _archive_down() from None
        if found is None:
            raise NotFound(f"no complaint {complaint_id} in the archive")
        return found

    def _read(self, complaint_id: str, reader: str, route: str) -> CaseFile | None:
        row = self.archive.complaint(complaint_id)
        if row is None:
            return None
        self.archive.record_read(complaint_id, reader, route, datetime.now(timezone.utc))
        return case_file(row, [changed(e) for e in self.archive.audit_trail(complaint_id)])

    def _trail(self, complaint_id: str) -> list[CaseEvent] | None:
        if self.archive.complaint(complaint_id) is None:
            return None
        events = [changed(e) for e in self.archive.audit_trail(complaint_id)]
        events += [CaseEvent(at=r["at"], who=r["reader"], kind="read", route=r["route"])
                   for r in self.archive.reads(complaint_id)]
        return sorted(events, key=lambda e: e.at)


def changed(entry: dict[str, Any]) -> CaseEvent:
    return CaseEvent(at=entry["at"], who=entry["actor"], kind=entry["kind"], stage=entry["stage"],
                     action=entry["action"])


def case_file(row: dict[str, Any], history: list[CaseEvent]) -> CaseFile:
    """The archive's row as a case file; stored values are not validated again (a phone is kept as digits)."""
    respondent = (Respondent.model_construct(kind=RespondentKind(row["respondent_kind"]), id=row["respondent_id"],
                                             name=row["respondent_name"]) if row["respondent_kind"] else None)
    return CaseFile(
        complaint_id=row["complaint_id"], channel=row["channel"], external_ref=row["external_ref"],
        received_at=row["received_at"], stage=row["stage"], category=row["category"], severity=row["severity"],
        outcome=row["outcome"], subject=row["subject"], content=row["content"],
        requested_remedy=row["requested_remedy"],
        complainant=Complainant.model_construct(**{f: row["customer_id" if f == "customer_id" else f"complainant_{f}"]
                                                   for f in COMPLAINANT}),
        respondent=respondent, evidence=row["evidence"] or [], history=history,
    )
