"""The case file: a complaint's text, the complainant's details and the evidence files.

Shared by the HTTP API (`GET /complaints/{id}/case`, the evidence routes) and the CLI
(`complaints show`, `audit`, `attach`). Every read of personal data, a download included, is
itself written to the archive (who, when, which complaint, which route) before the answer
leaves, so a read that could not be recorded is not served. Nothing here needs Temporal: the
workflow never carries a file, and the archive keeps the references.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from sqlalchemy.exc import SQLAlchemyError

from complaints.desk import NotAllowed, NotFound, _archive_down, _is_id
from complaints.domain.access import may_read_case
from complaints.domain.models import (
    CaseEvent,
    CaseFile,
    Complainant,
    EvidenceRef,
    LegalHold,
    Respondent,
    RespondentKind,
)
from complaints.domain.people import People, Person
from complaints.infra.archive import Archive, archive_for
from complaints.infra.evidence import EvidenceStore, Folder, digest, open_file, seal_file, sniff
from complaints.infra.settings import Settings, people_of

COMPLAINANT = ("name", "phone", "email", "id_number", "customer_id")


@dataclass
class CaseDesk:
    archive: Archive
    store: EvidenceStore
    people: People | None = None
    """With a people file, a handler outside a complaint's team is refused its case file (domain.access)."""

    @classmethod
    def of(cls, settings: Settings) -> CaseDesk:
        return cls(archive_for(settings), Folder(settings.evidence_dir), people_of(settings.people_file))

    async def attach(self, complaint_id: str, files: list[tuple[str, bytes]], by: str) -> list[EvidenceRef]:
        """Keep the files (each sniffed first: one refused, none kept) and reference them from the complaint."""
        return await self._archived(self._attach, complaint_id, files, by)

    async def download(self, complaint_id: str, sha256: str, reader: str, route: str, person: Person | None = None
                       ) -> tuple[EvidenceRef, bytes]:
        """An evidence file of the complaint, opened, its read recorded first."""
        return await self._archived(self._download, complaint_id, sha256, reader, route, person)

    async def hold(self, complaint_id: str, hold: LegalHold) -> LegalHold:
        """Put the complaint under legal hold, or release it."""
        return await self._archived(self._hold, complaint_id, hold)

    def _hold(self, complaint_id: str, hold: LegalHold) -> LegalHold | None:
        if self.archive.complaint(complaint_id) is None:
            return None
        if hold.held:
            self.archive.hold(complaint_id, hold.by, hold.reason or "", datetime.now(timezone.utc))
        else:
            self.archive.release(complaint_id)
        return hold

    async def read(self, complaint_id: str, reader: str, route: str, person: Person | None = None) -> CaseFile:
        """The case file, its read recorded first; NotAllowed when `person` may not read it."""
        return await self._archived(self._read, complaint_id, reader, route, person)

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

    def _allowed(self, row: dict[str, Any], person: Person | None) -> None:
        if not may_read_case(person, self.people, row["category"], row["handlers"] or [], row["escalated"]):
            raise NotAllowed(f"complaint {row['complaint_id']} belongs to another team, and it is neither "
                             "unassigned nor escalated: its case file is for that team")

    def _read(self, complaint_id: str, reader: str, route: str, person: Person | None) -> CaseFile | None:
        row = self.archive.complaint(complaint_id)
        if row is None:
            return None
        self._allowed(row, person)
        self.archive.record_read(complaint_id, reader, route, datetime.now(timezone.utc))
        files = [stored_ref(f) for f in self.archive.evidence(complaint_id)]
        named = [EvidenceRef(name=n) for n in row["evidence"] or [] if n not in {f.name for f in files}]
        return case_file(row, named + files, [changed(e) for e in self.archive.audit_trail(complaint_id)])

    async def keep(self, complaint_id: str, files: list[tuple[str, bytes]], by: str) -> list[EvidenceRef]:
        """The intake's attachments, for a complaint just filed (its archive row may not be written yet)."""
        try:
            return await asyncio.to_thread(self._keep, complaint_id, files, by)
        except SQLAlchemyError:
            raise _archive_down() from None

    def _attach(self, complaint_id: str, files: list[tuple[str, bytes]], by: str) -> list[EvidenceRef] | None:
        if self.archive.complaint(complaint_id) is None:
            return None
        return self._keep(complaint_id, files, by)

    def _keep(self, complaint_id: str, files: list[tuple[str, bytes]], by: str) -> list[EvidenceRef]:
        typed = [(name[:255], data, sniff(data, name)) for name, data in files]
        refs = []
        for name, data, media_type in typed:
            sha256 = digest(data)
            kid, sealed = seal_file(self.archive.sealer.keys, data, sha256)
            self.store.put(sha256, sealed)
            self.archive.attach(complaint_id, {"sha256": sha256, "name": name, "size": len(data),
                                               "media_type": media_type, "key_id": kid,
                                               "attached_at": datetime.now(timezone.utc), "attached_by": by})
            refs.append(EvidenceRef(name=name, sha256=sha256, size=len(data), media_type=media_type))
        return refs

    def _download(self, complaint_id: str, sha256: str, reader: str, route: str, person: Person | None
                  ) -> tuple[EvidenceRef, bytes] | None:
        holding = self.archive.holding(complaint_id)
        if holding is None:
            return None
        self._allowed(holding, person)
        row = next((f for f in self.archive.evidence(complaint_id) if f["sha256"] == sha256), None)
        sealed = self.store.get(sha256) if row else None
        if sealed is None:
            return None
        self.archive.record_read(complaint_id, reader, route, datetime.now(timezone.utc))
        return stored_ref(row), open_file(self.archive.sealer.keys, sealed, sha256)

    def _trail(self, complaint_id: str) -> list[CaseEvent] | None:
        if self.archive.complaint(complaint_id) is None:
            return None
        events = [changed(e) for e in self.archive.audit_trail(complaint_id)]
        events += [CaseEvent(at=r["at"], who=r["reader"], kind="read", route=r["route"])
                   for r in self.archive.reads(complaint_id)]
        events += [CaseEvent(at=f["attached_at"], who=f["attached_by"], kind="evidence", evidence=f["sha256"])
                   for f in self.archive.evidence(complaint_id)]
        return sorted(events, key=lambda e: e.at)


def attachment(name: str) -> str:
    """The Content-Disposition of a download: the file's own name, in ASCII for old clients."""
    fallback = name.encode("ascii", "replace").decode().replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def changed(entry: dict[str, Any]) -> CaseEvent:
    return CaseEvent(at=entry["at"], who=entry["actor"], kind=entry["kind"], stage=entry["stage"],
                     action=entry["action"])


def stored_ref(row: dict[str, Any]) -> EvidenceRef:
    return EvidenceRef(name=row["name"], sha256=row["sha256"], size=row["size"], media_type=row["media_type"])


def case_file(row: dict[str, Any], evidence: list[EvidenceRef], history: list[CaseEvent]) -> CaseFile:
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
        respondent=respondent, evidence=evidence, history=history,
    )
