"""The archive (投诉档案): what auditors and regulators read.

One row per complaint with its current facts, its deadlines with met and breach times,
and an append-only audit trail ordered by the workflow's own sequence numbers.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)

from .sealing import SealedText

metadata = MetaData()


class UtcMoment(TypeDecorator):
    """A point in time stored as UTC and read back tz-aware, on SQLite as on PostgreSQL.

    SQLite keeps no offset: without this, 10:00+08:00 would come back as a naive 10:00.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type:
        return datetime

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value is None:
            return None
        if value.tzinfo is None:  # the domain's rule (models._aware): a naive moment is UTC
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


Moment = UtcMoment()

complaints = Table(
    "complaints",
    metadata,
    Column("complaint_id", String(64), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("external_ref", String(200)),
    Column("received_at", Moment, nullable=False),
    Column("stage", String(32), nullable=False),
    Column("category", String(64)),
    Column("severity", String(16)),
    Column("outcome", String(16)),
    Column("subject", SealedText(500)),
    Column("content", SealedText(), nullable=False),
    Column("requested_remedy", SealedText(500)),
    Column("evidence", JSON, nullable=False, default=list),
    Column("complainant_name", SealedText(100), nullable=False),
    Column("complainant_phone", SealedText(32)),
    Column("complainant_email", SealedText(254)),
    Column("complainant_id_number", SealedText(32)),
    Column("customer_id", SealedText(200)),
    Column("complainant_phone_hash", String(64), index=True),  # 0005: keyed hashes, the duplicate lookup's
    Column("complainant_id_number_hash", String(64), index=True),
    Column("customer_id_hash", String(64), index=True),
    Column("respondent_kind", String(16)),
    Column("respondent_id", String(200)),
    Column("respondent_name", String(100)),
    Column("handlers", JSON, nullable=False, default=list),
    Column("escalated", Boolean, nullable=False, default=False),
    Column("interim_measure", Boolean, nullable=False, default=False),
    Column("substantiated", Boolean),
    Column("root_cause", String(500)),
    Column("improvements", JSON),
    Column("reached", Boolean),
    Column("satisfaction", Integer),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("extensions", Integer, nullable=False, default=0),
    Column("pauses", Integer, nullable=False, default=0),
    Column("review_of", String(64), index=True),
    Column("merged_into", String(64)),
    Column("possible_duplicate_of", String(64)),
    Column("calendar_provisional", Boolean, nullable=False, default=False),
    Column("decided_at", Moment),
    Column("closed_at", Moment),
    Column("code_a", String(16)),  # 0003: the JR/T 0169-2018 codes, axes A, B and C
    Column("code_b", String(16)),
    Column("code_c", String(16)),
    Column("drill", Boolean, nullable=False, default=False, server_default=false()),  # 0007: reports leave drills out
    Index("ix_complaints_received_at", "received_at"),
    Index("ix_complaints_stage", "stage"),
    Index("ix_complaints_closed_at", "closed_at"),  # 0002: the report's closed-in-period figures
    Index("ix_complaints_drill", "drill"),  # 0007: the few drills, which the reports' escalations and notices skip
)

deadlines = Table(
    "deadlines",
    metadata,
    Column("complaint_id", String(64), ForeignKey("complaints.complaint_id"), primary_key=True),
    Column("name", String(32), primary_key=True),
    Column("due_at", Moment, nullable=False),
    Column("met_at", Moment),
    Column("breached_at", Moment),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("complaint_id", String(64), ForeignKey("complaints.complaint_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", Moment, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("action", String(32)),
    Column("stage", String(32), nullable=False),
    Column("details", JSON, nullable=False, default=dict),
    UniqueConstraint("complaint_id", "seq", name="uq_audit_complaint_seq"),
)

escalations = Table(
    "escalations",
    metadata,
    Column("complaint_id", String(64), ForeignKey("complaints.complaint_id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("by", String(100), nullable=False),
    Column("at", Moment, nullable=False),
    Index("ix_escalations_at", "at"),  # 0002: the report's escalations-by-source
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("complaint_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(100), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", Moment, nullable=False),
    Column("sent_at", Moment),
    # 0004: delivery state, kept by the delivery activities (no personal data)
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("channel", String(16)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", String(300)),
    Column("provider_id", String(200)),
    Column("updated_at", Moment),
    UniqueConstraint("complaint_id", "seq", "kind", name="uq_outbox_notice"),
    Index("ix_outbox_status", "status"),
)

letters = Table(
    "letters",
    metadata,
    Column("complaint_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("text", Text, nullable=False),
    Column("postal", Boolean, nullable=False),
    Column("created_at", Moment, nullable=False),
)
"""0004: each written decision as sent (or kept for posting), with the SHA-256 of its PDF."""

contact_suspensions = Table(
    "contact_suspensions",
    metadata,
    Column("complaint_id", String(64), primary_key=True),
    Column("customer_key", String(64), nullable=False),
    Column("suspended_at", Moment, nullable=False),
    Column("lifted_at", Moment),
)
"""What the collection system reads: customers it must not contact while a complaint is open."""

case_reads = Table(
    "case_reads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("complaint_id", String(64), nullable=False, index=True),
    Column("at", Moment, nullable=False),
    Column("reader", String(100), nullable=False),
    Column("route", String(100), nullable=False),
)
"""Every read of a complaint's personal data: who, when, which complaint, through which door."""

evidence = Table(
    "evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("complaint_id", String(64), nullable=False, index=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("size", Integer, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("attached_at", Moment, nullable=False),
    Column("attached_by", String(100), nullable=False),
    UniqueConstraint("complaint_id", "sha256", "name", name="uq_evidence_file"),
)
"""A complaint's evidence files: references only (the sealed contents are in the evidence store,
by hash), with the key id that sealed them."""

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("complaint_id", String(64), primary_key=True),
    Column("held_by", String(100), nullable=False),
    Column("held_at", Moment, nullable=False),
    Column("reason", String(500), nullable=False),
)
"""Complaints a manager has put under legal hold: retention does not erase them."""

erasures = Table(
    "erasures",
    metadata,
    Column("complaint_id", String(64), primary_key=True),
    Column("erased_at", Moment, nullable=False),
    Column("files", Integer, nullable=False),
)
"""Each complaint whose personal data and evidence retention erased, and when."""

prevention_alarms = Table(
    "prevention_alarms",
    metadata,
    Column("alarm_id", String(16), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("dimension", String(16), nullable=False),
    Column("subject", String(220), nullable=False),
    Column("category", String(64)),
    Column("window_start", Moment, nullable=False),
    Column("window_end", Moment, nullable=False),
    Column("count", Integer, nullable=False),
    Column("baseline_mean", Float, nullable=False),
    Column("p_value", Float),
    Column("complaint_ids", JSON, nullable=False),
    Column("raised_at", Moment, nullable=False),
    Column("acknowledged_by", String(100)),
    Column("acknowledged_at", Moment),
    Column("plan", Text),
    Column("review_on", Date),
    Column("reviewed_at", Moment),
    Column("review_count", Integer),
    Column("came_down", Boolean),
    Index("ix_prevention_alarms_subject", "kind", "dimension", "subject"),
    Index("ix_prevention_alarms_window_end", "window_end"),
)
"""0006: each prevention alarm with its figures and the complaints behind it, the manager's
acknowledgement (action plan, review date) and what the review found. Respondents by kind and
id only, as the report names them; no complainant."""
