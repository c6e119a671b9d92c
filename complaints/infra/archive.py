"""Reads and writes of the archive, each one transaction, each write idempotent."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from complaints.domain.models import DeliveryOutcome, Intake, Notice, Record
from complaints.domain.prevention import Alarm, AlarmState, Review, Seen

from .codec import load_keys
from .db import engine_for
from .schema import (
    audit,
    case_reads,
    complaints,
    contact_suspensions,
    deadlines,
    erasures,
    escalations,
    evidence,
    legal_holds,
    letters,
    outbox,
    prevention_alarms,
)
from .sealing import Sealer, seal_with
from .settings import Settings


def phone_digits(phone: str | None) -> str | None:
    return re.sub(r"\D", "", phone).removeprefix("86")[-11:] if phone else None


def _columns(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts as column values: moments travel as ISO text through Temporal's JSON."""
    return {
        name: datetime.fromisoformat(value) if isinstance(value, str) and name in _MOMENTS else value
        for name, value in facts.items()
    }


_MOMENTS = frozenset(c.name for c in complaints.columns if c.type.python_type is datetime)


def _receipt_row(record: Record, intake: Intake, sealer: Sealer) -> dict[str, Any]:
    """The complaint's row; its personal columns are sealed by their type, the looked-up ones
    hashed beside them."""
    who = intake.complainant
    return {
        "complaint_id": record.complaint_id,
        "channel": intake.channel.value,
        "external_ref": intake.external_ref,
        "received_at": record.at,
        "stage": record.stage.value,
        "subject": intake.subject,
        "content": intake.content,
        "requested_remedy": intake.requested_remedy,
        "evidence": list(intake.evidence),
        "complainant_name": who.name,
        "complainant_phone": phone_digits(who.phone),
        "complainant_email": who.email,
        "complainant_id_number": who.id_number,
        "customer_id": who.customer_id,
        "complainant_phone_hash": sealer.digest(phone_digits(who.phone)),
        "complainant_id_number_hash": sealer.digest(who.id_number),
        "customer_id_hash": sealer.digest(who.customer_id),
        "respondent_kind": intake.respondent.kind.value if intake.respondent else None,
        "respondent_id": intake.respondent.id if intake.respondent else None,
        "respondent_name": intake.respondent.name if intake.respondent else None,
        "handlers": [],
        **_columns(record.facts),
    }


def same_complainant(complaint_id: str, intake: Intake, sealer: Sealer) -> Select | None:
    """The query for the oldest other open complaint of the intake's complainant, found by the
    indexed keyed hashes of phone, ID number and customer id (every receipt asks it), under each
    listed key so a rotation does not hide older rows; None when the intake names none of them."""
    who = intake.complainant
    c = complaints.c
    same = [column.in_(sealer.digests(value)) for column, value in (
        (c.complainant_phone_hash, phone_digits(who.phone)), (c.complainant_id_number_hash, who.id_number),
        (c.customer_id_hash, who.customer_id)) if value]
    if not same:
        return None
    return (select(complaints.c.complaint_id)
            .where(and_(or_(*same), complaints.c.stage != "closed", complaints.c.complaint_id != complaint_id))
            .order_by(complaints.c.received_at)
            .limit(1))


class Archive:
    def __init__(self, engine: Engine, keys: dict[str, bytes]) -> None:
        """`keys`: the codec's key ring, which seals the personal columns (`sealing`)."""
        self.engine = engine
        self.sealer = seal_with(engine, keys)

    def write(self, record: Record) -> str | None:
        """Apply `record` once. Its first statement inserts a row keyed by the record (the
        complaint's row for a receipt, the audit entry otherwise), so a retry of a record
        already written stops there and changes nothing.

        An entry of the same number that is another record was left by a workflow task the server
        never took: a local activity writes before its task completes, and a task that timed out
        runs again later (the moment differs, so its actions and alarms may interleave otherwise).
        The history is the record, and its task ran last: the later record replaces the earlier,
        in whichever order the two writes arrive. Returns the kind of the entry replaced (None when none was)."""
        try:
            with self.engine.begin() as tx:
                self._apply(tx, record)
            return None
        except IntegrityError:
            found = self.entry_of(record.complaint_id, record.seq)
            if found is None:
                raise  # a real constraint violation, not a retry of the same record
            if record.intake or (found.kind, found.action) == (record.kind, record.action) or found.at >= record.at:
                return None
        with self.engine.begin() as tx:
            for table in (escalations, outbox, audit):
                tx.execute(delete(table).where(table.c.complaint_id == record.complaint_id, table.c.seq == record.seq))
            self._apply(tx, record)
        return found.kind

    def _apply(self, tx: Any, record: Record) -> None:
        entry = {"complaint_id": record.complaint_id, "seq": record.seq, "at": record.at, "actor": record.actor,
                 "kind": record.kind, "action": record.action, "stage": record.stage.value, "details": record.details}
        if record.intake:
            tx.execute(insert(complaints), _receipt_row(record, record.intake, self.sealer))
        tx.execute(insert(audit), entry)
        if record.facts and not record.intake:
            tx.execute(
                update(complaints)
                .where(complaints.c.complaint_id == record.complaint_id)
                .values(_columns(record.facts))
            )
        self._deadlines(tx, record)
        if record.escalation:
            tx.execute(insert(escalations), {
                "complaint_id": record.complaint_id, "seq": record.seq,
                **record.escalation.model_dump(mode="python"),
            })
        if record.notices:
            tx.execute(insert(outbox), [
                {"complaint_id": record.complaint_id, "seq": record.seq, "created_at": record.at,
                 **notice.model_dump(include={"kind", "recipient", "message"})} for notice in record.notices
            ])

    @staticmethod
    def _deadlines(tx: Any, record: Record) -> None:
        key = deadlines.c.complaint_id == record.complaint_id
        if record.intake and record.deadlines:  # a new complaint: every deadline is new, in one statement
            tx.execute(insert(deadlines), [{"complaint_id": record.complaint_id, "name": name, "due_at": due}
                                           for name, due in record.deadlines.items()])
        else:
            for name, due in record.deadlines.items():
                moved = tx.execute(update(deadlines).where(key, deadlines.c.name == name).values(due_at=due))
                if moved.rowcount == 0:
                    tx.execute(insert(deadlines).values(complaint_id=record.complaint_id, name=name, due_at=due))
        if record.met:
            tx.execute(update(deadlines).where(key, deadlines.c.name.in_(record.met), deadlines.c.met_at.is_(None))
                       .values(met_at=record.at))
        if record.breached:
            tx.execute(update(deadlines).where(key, deadlines.c.name.in_(record.breached),
                                               deadlines.c.breached_at.is_(None)).values(breached_at=record.at))

    def entry_of(self, complaint_id: str, seq: int) -> Any:
        """The audit entry `seq` of a complaint (its kind, action and moment), or None."""
        with self.engine.connect() as db:
            return db.execute(select(audit.c.kind, audit.c.action, audit.c.at)
                              .where(audit.c.complaint_id == complaint_id, audit.c.seq == seq)).first()

    def open_complaint_of(self, complaint_id: str, intake: Intake) -> str | None:
        """Another open complaint from the same complainant (same phone or customer id)."""
        query = same_complainant(complaint_id, intake, self.sealer)
        if query is None:
            return None
        with self.engine.connect() as db:
            row = db.execute(query).first()
        return row[0] if row else None

    def complaint(self, complaint_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = db.execute(select(complaints).where(complaints.c.complaint_id == complaint_id)).mappings().first()
        return dict(row) if row else None

    def holding(self, complaint_id: str) -> dict[str, Any] | None:
        """Who holds a complaint, as the access rule reads it (no sealed column opened): its id,
        category, handlers and whether it is escalated; None when the archive lacks it."""
        c = complaints.c
        with self.engine.connect() as db:
            row = db.execute(select(c.complaint_id, c.category, c.handlers, c.escalated)
                             .where(c.complaint_id == complaint_id)).mappings().first()
        return dict(row) if row else None

    def open_complaints(self) -> list[dict[str, Any]]:
        """Every complaint the archive holds open: id, stage and moment of receipt, oldest first."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(complaints.c.complaint_id, complaints.c.stage, complaints.c.received_at)
                .where(complaints.c.stage != "closed").order_by(complaints.c.received_at, complaints.c.complaint_id)
            )
            return [dict(r) for r in rows.mappings()]

    def breaches_since(self, moment: datetime) -> list[dict[str, Any]]:
        """Each deadline breached at or after `moment`, with its complaint's stage, category and
        severity (no personal data), latest first."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(deadlines.c.complaint_id, deadlines.c.name, deadlines.c.due_at, deadlines.c.breached_at,
                       complaints.c.stage, complaints.c.category, complaints.c.severity)
                .join(complaints, complaints.c.complaint_id == deadlines.c.complaint_id)
                .where(deadlines.c.breached_at >= moment)
                .order_by(deadlines.c.breached_at.desc(), deadlines.c.complaint_id)
            )
            return [dict(r) for r in rows.mappings()]

    def reviews_of(self, complaint_id: str) -> list[str]:
        with self.engine.connect() as db:
            rows = db.execute(
                select(complaints.c.complaint_id).where(complaints.c.review_of == complaint_id)
                .order_by(complaints.c.received_at)
            )
            return [r[0] for r in rows]

    def audit_trail(self, complaint_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(select(audit).where(audit.c.complaint_id == complaint_id).order_by(audit.c.seq))
            return [dict(r) for r in rows.mappings()]

    def notices(self, complaint_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(select(outbox).where(outbox.c.complaint_id == complaint_id).order_by(outbox.c.id))
            return [dict(r) for r in rows.mappings()]

    def delivery(self, complaint_id: str, seq: int, kind: str) -> dict[str, Any] | None:
        """A notice's delivery state, or None before its record is archived."""
        with self.engine.connect() as db:
            row = db.execute(select(outbox.c.status, outbox.c.attempts, outbox.c.provider_id, outbox.c.channel)
                             .where(outbox.c.complaint_id == complaint_id, outbox.c.seq == seq,
                                    outbox.c.kind == kind)).mappings().first()
        return dict(row) if row else None

    def record_delivery(self, outcome: DeliveryOutcome) -> None:
        """Keep what became of a notice. A recorded `sent` is final: a late report of an earlier
        attempt's failure, or a repeat of the same report, never overwrites it."""
        values: dict[str, Any] = {"status": outcome.status, "last_error": outcome.error, "updated_at": outcome.at}
        if outcome.channel:  # a failure the workflow saw knows neither: the attempts' own reports told them
            values |= {"channel": outcome.channel, "attempts": outcome.attempts}
        if outcome.status == "sent":
            values |= {"sent_at": outcome.at, "provider_id": outcome.provider_id}
        with self.engine.begin() as tx:
            tx.execute(update(outbox).where(outbox.c.complaint_id == outcome.complaint_id,
                                            outbox.c.seq == outcome.seq, outbox.c.kind == outcome.kind,
                                            outbox.c.status != "sent").values(values))

    def keep_letter(self, complaint_id: str, seq: int, sha256: str, pdf: bytes, text: str, postal: bool,
                    at: datetime) -> None:
        """Keep a written decision once; a retry finds it kept."""
        try:
            with self.engine.begin() as tx:
                tx.execute(insert(letters).values(complaint_id=complaint_id, seq=seq, sha256=sha256, pdf=pdf,
                                                  text=text, postal=postal, created_at=at))
        except IntegrityError:
            pass  # kept by an earlier attempt

    def letter(self, complaint_id: str, seq: int) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = db.execute(select(letters).where(letters.c.complaint_id == complaint_id, letters.c.seq == seq)
                             ).mappings().first()
        return dict(row) if row else None

    def deliveries(self, status: str | None = None, complaint_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Every notice with its delivery state (no message text: it may name the complainant); only
        `status` ones, or only those of `complaint_ids`, if given."""
        query = select(outbox.c.complaint_id, outbox.c.seq, outbox.c.kind, outbox.c.recipient, outbox.c.status,
                       outbox.c.channel, outbox.c.attempts, outbox.c.last_error, outbox.c.provider_id,
                       outbox.c.created_at, outbox.c.sent_at, outbox.c.updated_at)
        if status:
            query = query.where(outbox.c.status == status)
        if complaint_ids is not None:
            query = query.where(outbox.c.complaint_id.in_(complaint_ids))
        with self.engine.connect() as db:
            rows = db.execute(query.order_by(outbox.c.created_at, outbox.c.complaint_id, outbox.c.seq))
            return [dict(r) for r in rows.mappings()]

    def suspend_contact(self, complaint_id: str, customer_key: str, at: datetime) -> None:
        try:
            with self.engine.begin() as tx:
                tx.execute(insert(contact_suspensions).values(
                    complaint_id=complaint_id, customer_key=customer_key, suspended_at=at
                ))
        except IntegrityError:
            pass  # already suspended by an earlier attempt

    def lift_contact(self, complaint_id: str, at: datetime) -> None:
        with self.engine.begin() as tx:
            tx.execute(update(contact_suspensions)
                       .where(contact_suspensions.c.complaint_id == complaint_id,
                              contact_suspensions.c.lifted_at.is_(None))
                       .values(lifted_at=at))

    def record_read(self, complaint_id: str, reader: str, route: str, at: datetime) -> None:
        """Note who read the complaint's personal data, when and through which door."""
        with self.engine.begin() as tx:
            tx.execute(insert(case_reads).values(complaint_id=complaint_id, reader=reader, route=route, at=at))

    def reads(self, complaint_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(select(case_reads).where(case_reads.c.complaint_id == complaint_id)
                              .order_by(case_reads.c.at, case_reads.c.id))
            return [dict(r) for r in rows.mappings()]

    def attach(self, complaint_id: str, file: dict[str, Any]) -> None:
        """Reference an evidence file from the complaint, once (a repeat attachment changes nothing)."""
        try:
            with self.engine.begin() as tx:
                tx.execute(insert(evidence).values(complaint_id=complaint_id, **file))
        except IntegrityError:
            pass

    def evidence(self, complaint_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(select(evidence).where(evidence.c.complaint_id == complaint_id)
                              .order_by(evidence.c.attached_at, evidence.c.id))
            return [dict(r) for r in rows.mappings()]

    def hold(self, complaint_id: str, by: str, reason: str, at: datetime) -> None:
        """Put the complaint under legal hold (again: the newest reason stands)."""
        with self.engine.begin() as tx:
            tx.execute(delete(legal_holds).where(legal_holds.c.complaint_id == complaint_id))
            tx.execute(insert(legal_holds).values(complaint_id=complaint_id, held_by=by, reason=reason, held_at=at))

    def release(self, complaint_id: str) -> None:
        with self.engine.begin() as tx:
            tx.execute(delete(legal_holds).where(legal_holds.c.complaint_id == complaint_id))

    def erase_closed_before(self, cutoff: datetime, at: datetime) -> list[tuple[str, list[str]]]:
        """Erase the personal data of every complaint closed before `cutoff` that is neither held
        nor erased already: its text and the complainant's details, their hashes. Statistics,
        the audit trail and the evidence references stay; each erasure is recorded. Returns each
        erased complaint with the evidence files no complaint still kept refers to (for the store)."""
        c = complaints.c
        with self.engine.connect() as db:
            due = [r[0] for r in db.execute(
                select(c.complaint_id).where(c.closed_at < cutoff,
                                             c.complaint_id.not_in(select(legal_holds.c.complaint_id)),
                                             c.complaint_id.not_in(select(erasures.c.complaint_id)))
                .order_by(c.closed_at))]
        erased = []
        for complaint_id in due:
            with self.engine.begin() as tx:
                tx.execute(update(complaints).where(c.complaint_id == complaint_id).values(
                    content=ERASED, complainant_name=ERASED, subject=None, requested_remedy=None,
                    complainant_phone=None, complainant_email=None, complainant_id_number=None, customer_id=None,
                    complainant_phone_hash=None, complainant_id_number_hash=None, customer_id_hash=None))
                files = [r[0] for r in tx.execute(select(evidence.c.sha256)
                                                   .where(evidence.c.complaint_id == complaint_id))]
                kept = select(evidence.c.sha256).where(evidence.c.sha256.in_(files),
                                                       evidence.c.complaint_id.not_in(select(erasures.c.complaint_id)),
                                                       evidence.c.complaint_id != complaint_id)
                orphans = sorted(set(files) - {r[0] for r in tx.execute(kept)})
                tx.execute(insert(erasures).values(complaint_id=complaint_id, erased_at=at, files=len(orphans)))
            erased.append((complaint_id, orphans))
        return erased


    # --- prevention alarms -------------------------------------------------------------------

    def seen_since(self, since: datetime) -> list[Seen]:
        """Complaints received since `since` as prevention counts them; a merged repeat is its
        original's complaint, so it is not counted twice, and a drill's are made up."""
        c = complaints.c
        query = (select(c.complaint_id, c.received_at, c.channel, c.category, c.respondent_kind, c.respondent_id,
                        c.substantiated)
                 .where(c.received_at >= since, or_(c.outcome.is_(None), c.outcome != "merged"), c.drill.is_(False)))
        with self.engine.connect() as db:
            return [Seen(complaint_id=r.complaint_id, received_at=r.received_at, channel=r.channel,
                         category=r.category, substantiated=r.substantiated,
                         respondent=f"{r.respondent_kind}:{r.respondent_id}" if r.respondent_kind else None)
                    for r in db.execute(query)]

    def first_received(self) -> datetime | None:
        with self.engine.connect() as db:
            return db.execute(select(func.min(complaints.c.received_at))).scalar_one()

    def raise_alarm(self, alarm: Alarm, notice: Notice, at: datetime) -> str:
        """Archive the alarm with its notice to managers, once: `new`; `exists` when this very
        alarm is archived already (a second run of the day); `suppressed` when one on the same
        subject is still being dealt with: raised in a window this one overlaps and not yet
        acknowledged, or acknowledged and not yet reviewed."""
        a = prevention_alarms.c
        with self.engine.begin() as tx:
            if tx.execute(select(a.alarm_id).where(a.alarm_id == alarm.alarm_id)).first():
                return "exists"
            same = and_(a.kind == alarm.kind.value, a.dimension == alarm.dimension.value, a.subject == alarm.subject,
                        (a.category == alarm.category) if alarm.category else a.category.is_(None))
            pending = or_(and_(a.acknowledged_at.is_(None), a.window_end > alarm.window_start),
                          and_(a.acknowledged_at.is_not(None), a.reviewed_at.is_(None)))
            if tx.execute(select(a.alarm_id).where(same, pending)).first():
                return "suppressed"
            tx.execute(insert(prevention_alarms).values(**alarm.model_dump(mode="python"), raised_at=at))
            tx.execute(insert(outbox).values(complaint_id=alarm.alarm_id, seq=1, created_at=at,
                                             **notice.model_dump(include={"kind", "recipient", "message"})))
        return "new"

    def alarm(self, alarm_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = db.execute(select(prevention_alarms).where(prevention_alarms.c.alarm_id == alarm_id)
                             ).mappings().first()
        return dict(row) if row else None

    def alarms(self, settled: bool = True) -> list[AlarmState]:
        """Every alarm, newest first; without `settled`, not those a review found came down."""
        a = prevention_alarms.c
        where = [] if settled else [or_(a.came_down.is_(None), a.came_down.is_(False))]
        with self.engine.connect() as db:
            return alarms_where(db, *where)

    def acknowledge_alarm(self, alarm_id: str, by: str, plan: str, review_on: date, at: datetime) -> bool:
        """Record the manager's action plan and review date; False when already acknowledged."""
        a = prevention_alarms.c
        with self.engine.begin() as tx:
            done = tx.execute(update(prevention_alarms).where(a.alarm_id == alarm_id, a.acknowledged_at.is_(None))
                              .values(acknowledged_by=by, acknowledged_at=at, plan=plan, review_on=review_on))
        return done.rowcount == 1

    def alarms_due_for_review(self, today: date) -> list[Alarm]:
        a = prevention_alarms.c
        with self.engine.connect() as db:
            rows = db.execute(select(prevention_alarms).where(a.review_on <= today, a.reviewed_at.is_(None))
                              .order_by(a.review_on, a.alarm_id)).mappings()
            return [Alarm.model_validate(dict(r)) for r in rows]

    def record_review(self, review: Review, notice: Notice, at: datetime) -> bool:
        """Keep what the review found on the alarm, with its notice to managers, once."""
        a = prevention_alarms.c
        with self.engine.begin() as tx:
            done = tx.execute(update(prevention_alarms).where(a.alarm_id == review.alarm_id, a.reviewed_at.is_(None))
                              .values(reviewed_at=at, review_count=review.count, came_down=review.came_down))
            if done.rowcount != 1:
                return False
            tx.execute(insert(outbox).values(complaint_id=review.alarm_id, seq=2, created_at=at,
                                             **notice.model_dump(include={"kind", "recipient", "message"})))
        return True


def alarms_where(db: Any, *where: Any) -> list[AlarmState]:
    """The archived alarms that satisfy `where`, newest first (the report's section reads them too)."""
    a = prevention_alarms.c
    rows = db.execute(select(prevention_alarms).where(*where).order_by(a.raised_at.desc(), a.alarm_id)).mappings()
    return [AlarmState.model_validate(dict(r)) for r in rows]


ERASED = "[erased]"
"""What an erased complaint's text and complainant's name read as (the columns are required)."""


def archive_for(settings: Settings) -> Archive:
    """The configured archive, sealing with the configured codec keys (CodecKeyError without any)."""
    return Archive(engine_for(settings.db_url), load_keys(settings.codec_keys, settings.codec_key_file))
