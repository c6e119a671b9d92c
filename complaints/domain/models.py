"""The contract's vocabulary and shapes, in one module.

Everything that crosses a boundary (HTTP body, Temporal payload, archive record, CLI
output) is one of these pydantic models, so a field means the same thing everywhere.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)


class Channel(StrEnum):
    phone = "phone"
    email = "email"
    sms = "sms"
    online_chat = "online_chat"
    web_form = "web_form"
    letter = "letter"
    walk_in = "walk_in"
    regulator = "regulator"


class Severity(StrEnum):
    urgent = "urgent"
    high = "high"
    normal = "normal"

    @property
    def rank(self) -> int:
        return {"normal": 0, "high": 1, "urgent": 2}[self.value]

    def at_least(self, floor: Severity) -> Severity:
        return self if self.rank >= floor.rank else floor


class Category(StrEnum):
    collection_abusive = "collection.abusive"
    collection_off_hours = "collection.off_hours"
    collection_repeated = "collection.repeated"
    collection_third_party = "collection.third_party"
    collection_privacy = "collection.privacy"
    card_unauthorized_transaction = "card.unauthorized_transaction"
    card_amount_error = "card.amount_error"
    card_transaction_failure = "card.transaction_failure"
    card_fraud = "card.fraud"
    card_account_error = "card.account_error"
    card_application_delay = "card.application_delay"
    card_limit_adjustment = "card.limit_adjustment"
    service_attitude = "service.attitude"
    service_fees = "service.fees"
    service_repayment_plan = "service.repayment_plan"
    service_other = "service.other"

    @property
    def group(self) -> str:
        return self.value.split(".")[0]


class Product(StrEnum):
    """What the complaint is about, beside what went wrong (the category)."""

    card = "card"
    loan = "loan"
    deposit_payment = "deposit_payment"
    collection = "collection"
    credit_reporting = "credit_reporting"
    other = "other"


class Stage(StrEnum):
    receipt = "receipt"
    assessment = "assessment"
    investigation = "investigation"
    solution = "solution"
    feedback = "feedback"
    revisit = "revisit"
    summary = "summary"
    closed = "closed"


class EscalationSource(StrEnum):
    manager = "manager"
    sla_breach = "sla_breach"
    urgent_assessment = "urgent_assessment"
    customer_rejection = "customer_rejection"
    undelivered = "undelivered"  # a notice undelivered for a day: to the manager, not the emergency team


class Outcome(StrEnum):
    resolved = "resolved"
    withdrawn = "withdrawn"
    merged = "merged"
    cancelled = "cancelled"  # the workflow was cancelled (Web UI, temporal CLI): closed on the record


class RespondentKind(StrEnum):
    collector = "collector"
    agency = "agency"
    branch = "branch"
    staff = "staff"
    system = "system"


class ApproverRole(StrEnum):
    manager = "manager"
    senior_manager = "senior_manager"


DEADLINES = ("assessment", "investigation", "plan", "execution", "summary", "decision")
"""Deadline names in policy order; `decision` is the regulator's clock (contract 2b)."""


class PublicText(str):
    """Text cleared for plain display (stage, category, deadlines; never personal data).

    The payload codec leaves values of this type, and of `Public` models, unencrypted so
    the Web UI and `temporal` CLI can read summaries and statuses without the codec.
    """


class Public:
    """Marker for models that hold no personal data and are sent unencrypted."""


# --- field types -------------------------------------------------------------------

PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
CN_ID = re.compile(r"^[1-9][0-9]{16}[0-9Xx]$")


def _pattern(regex: re.Pattern[str], what: str):
    def check(value: str) -> str:
        if not regex.match(value):
            raise ValueError(f"is not a valid {what}")
        return value

    return AfterValidator(check)


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ComplaintId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=24), _pattern(PHONE, "phone number")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), _pattern(EMAIL, "e-mail address")]
IdNumber = Annotated[str, StringConstraints(strip_whitespace=True), _pattern(CN_ID, "ID number (18 characters)")]
Evidence = Annotated[list[Reference], Field(max_length=50)]
RegulatorCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,12}$")]
"""A leaf code of one JR/T 0169-2018 axis (complaints/domain/codes); the table is checked by the workflow."""
Locale = Literal["zh-CN", "en"]


def _aware(value: datetime) -> datetime:
    """A moment in UTC, so every time in an answer reads alike; a naive one is taken as UTC."""
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _not_a_number(value: Any) -> Any:
    """A time is written as ISO 8601: pydantic would read a bare number as seconds since 1970."""
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 time such as 2026-11-24T09:30:00+08:00, not a number")
    return value


Moment = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_aware)]


class Strict(BaseModel):
    """Input models refuse unknown fields (a typo must not be silently dropped) and NUL
    characters (PostgreSQL cannot store them: the archive write would retry forever). Their flags
    and numbers are strict types (`StrictBool`: `true`/`false` only, `StrictInt`: not `"5"` nor
    `5.0`), field by field, so every way in (API, `complaints act`, batch files) reads a field the
    same way while times still parse from the ISO text Temporal's converter hands over. A field's
    docstring is its description, for the API docs and `complaints act ACTION --help`."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("contains a NUL character")
        return value


# --- results of activities ---------------------------------------------------------


class Classification(BaseModel):
    category: Category
    severity: Severity
    product: Product = Product.other
    """`other` in classifications recorded before products were proposed."""
    reasons: list[str] = []


class DeadlinePlan(BaseModel):
    """Deadlines fixed at receipt, and when each one's warning goes to the handler."""

    due: dict[str, datetime]
    warn: dict[str, datetime]
    warning_at: float = 0.8
    calendar_provisional: bool = False
    extension_caps: list[datetime] = []
    """The latest the first and the second extension may move `decision` to; empty in the
    plans of complaints received before the caps were fixed at receipt."""


# --- intake ------------------------------------------------------------------------


class Complainant(Strict):
    name: Name
    phone: Phone | None = None
    email: Email | None = None
    id_number: IdNumber | None = None
    customer_id: Reference | None = None
    locale: Locale = "zh-CN"
    """The language the firm writes to the complainant in."""

    @model_validator(mode="after")
    def _reachable(self) -> Complainant:
        if not (self.phone or self.email):
            raise ValueError("at least one of phone or email is required")
        return self


class Respondent(Strict):
    kind: RespondentKind
    id: Reference
    name: Name | None = None


class Intake(Strict):
    """The intake body of contract section 5."""

    channel: Channel
    external_ref: Reference | None = None
    received_at: Moment | None = None
    review_of: ComplaintId | None = None
    subject: ShortText | None = None
    content: LongText
    requested_remedy: ShortText | None = None
    evidence: Evidence = []
    complainant: Complainant
    respondent: Respondent | None = None


class ReviewOf(BaseModel):
    """What a review complaint knows of the original it reviews (decided, maybe not yet closed)."""

    complaint_id: str
    handlers: list[str]


class NewComplaint(BaseModel):
    """The workflow's input: the accepted intake with its id and receipt moment fixed."""

    complaint_id: str
    received_at: datetime
    intake: Intake
    classification: Classification
    review_of: ReviewOf | None = None
    drill: bool = False
    """An emergency drill's complaint (`complaints drill`): its deadlines follow the drill policy, the
    complainant is never written to, and reports do not count it."""

    @property
    def severity(self) -> Severity:
        """The severity it starts with: as classified, a review at least `high` (contract 2b)."""
        return self.classification.severity.at_least(Severity.high) if self.review_of else self.classification.severity


# --- handler actions (update inputs) ---------------------------------------------


class Coded(Strict):
    """The fields that set a complaint's JR/T 0169-2018 codes, each optional: a code left out keeps
    the one proposed from the channel, respondent and category (or set earlier by a handler)."""

    code_a: RegulatorCode | None = None
    """JR/T 0169-2018 axis A, where the business was done: a leaf code of the table."""
    code_b: RegulatorCode | None = None
    """JR/T 0169-2018 axis B, the business type: a leaf code of the table."""
    code_c: RegulatorCode | None = None
    """JR/T 0169-2018 axis C, the cause: a leaf code of the table; summarize confirms it with the root cause."""


class Assess(Coded):
    handler: Actor
    category: Category
    severity: Severity
    product: Product | None = None
    """The handler's correction of the proposed product; unset keeps it."""
    respondent: Respondent | None = None
    interim_measure: StrictBool = False
    """Collection complaints: suspend collection contact with the customer until the complaint closes."""
    note: ShortText | None = None


class Investigate(Coded):
    handler: Actor
    findings: LongText
    root_cause: ShortText
    substantiated: StrictBool
    """Whether the complaint was found justified."""
    evidence: Evidence = []
    """References to the evidence examined: file names, record ids."""


class ProposeSolution(Strict):
    handler: Actor
    plan: LongText
    remedies: Annotated[list[ShortText], Field(min_length=1, max_length=20)]
    """What the firm offers the complainant, one entry each."""
    amount: Annotated[float, Field(ge=0, le=1e12, strict=True)] | None = None
    """The sum offered, if any."""


class RecordExecution(Strict):
    handler: Actor
    result: LongText


class RecordFeedback(Strict):
    handler: Actor
    accepted: StrictBool
    """Whether the complainant accepted the solution; a rejection goes back to solution."""
    comment: ShortText | None = None


class RecordRevisit(Strict):
    handler: Actor
    reached: StrictBool
    """Whether the complainant was reached at the revisit."""
    satisfaction: Annotated[StrictInt, Field(ge=1, le=5)] | None = None
    """The complainant's score, 1 (poor) to 5, only when reached."""
    comment: ShortText | None = None

    @model_validator(mode="after")
    def _satisfaction_needs_contact(self) -> RecordRevisit:
        if not self.reached and self.satisfaction is not None:
            raise ValueError("satisfaction can only be given when the complainant was reached")
        return self


class Summarize(Coded):
    handler: Actor
    root_cause: ShortText
    improvements: Annotated[list[ShortText], Field(min_length=1, max_length=20)]
    """Measures that keep the root cause from recurring, one entry each."""


class Withdraw(Strict):
    handler: Actor
    reason: ShortText


class Extend(Strict):
    handler: Actor
    approver: Actor
    approver_role: ApproverRole
    """manager for a first extension (to at most 30 days from receipt), senior_manager for a second (60)."""
    reason: ShortText
    days: Annotated[StrictInt, Field(ge=1, le=60)]
    """How many days the decision deadline moves."""


class Pause(Strict):
    handler: Actor
    reason: ShortText


class Resume(Strict):
    handler: Actor


class Merge(Strict):
    handler: Actor
    into: ComplaintId
    """The open complaint this one repeats; this one closes as merged."""


class Assign(Strict):
    handler: Actor
    """Who holds the complaint from now on."""
    by: Actor | None = None
    """The manager who assigns it (with a people file: the manager's own key)."""


class Claim(Strict):
    handler: Actor
    """The handler who takes the unassigned complaint."""


class Assignment(BaseModel):
    """What the assignment rule found at assessment (activity `assign_handler`)."""

    people: bool
    """Whether the firm has a people file: only then are handlers person ids, fit for `ComplaintHandler`."""
    handler: str | None = None
    """The person of the complaint's team with the least open work; None: no team or no handler for it."""


class Escalate(Strict):
    reason: ShortText
    by: Actor


class Acknowledge(Strict):
    complaint_id: ComplaintId
    lead: Actor


ACTION_INPUTS: dict[str, type[Strict]] = {
    "assess": Assess,
    "investigate": Investigate,
    "propose_solution": ProposeSolution,
    "record_execution": RecordExecution,
    "record_feedback": RecordFeedback,
    "record_revisit": RecordRevisit,
    "summarize": Summarize,
    "withdraw": Withdraw,
    "extend": Extend,
    "pause": Pause,
    "resume": Resume,
    "merge": Merge,
    "assign": Assign,
    "claim": Claim,
}
"""Every handler update of contract sections 4 and 7, by name."""

ACTION_ROLES: dict[str, str] = {"assign": "manager", "escalate": "manager", "acknowledge": "emergency"}
"""The role that sends an update (or the escalate signal, the emergency team's acknowledge), where it
is not `handler`."""


class Repeat(BaseModel):
    """A merged repeat's record, handed to the original (internal update `absorb_repeat`)."""

    complaint_id: str
    handler: str
    content: str
    evidence: list[str] = []


# --- status (the `status` query; served as-is by the API and the CLI) ----------------


class HistoryEntry(BaseModel):
    stage: Stage
    entered_at: datetime
    actor: str


class EscalationEntry(BaseModel):
    source: EscalationSource
    reason: str
    by: str
    at: datetime


class Extension(BaseModel):
    approver: str
    approver_role: ApproverRole
    reason: str
    days: int
    at: datetime
    decision_due: datetime


class PauseEntry(BaseModel):
    reason: str
    by: str
    started_at: datetime
    resumed_at: datetime | None = None


class ComplaintStatus(Public, BaseModel):
    """What everyone may see of a complaint: no complainant details, no complaint text."""

    complaint_id: str
    stage: Stage
    channel: Channel
    category: Category | None = None
    severity: Severity | None = None
    product: Product | None = None
    received_at: datetime
    deadlines: dict[str, datetime] = {}
    met: dict[str, datetime] = {}
    breaches: list[str] = []
    next_deadline: str | None = None
    escalated: bool = False
    escalations: list[EscalationEntry] = []
    lead: str | None = None
    reopen_count: int = 0
    outcome: Outcome | None = None
    calendar_provisional: bool = False
    history: list[HistoryEntry] = []
    handler: str | None = None
    handlers: list[str] = []
    respondent: Respondent | None = None
    interim_measure: StrictBool = False
    satisfaction: int | None = None
    reached: bool | None = None
    paused: bool = False
    pauses: list[PauseEntry] = []
    extensions: list[Extension] = []
    possible_duplicate_of: str | None = None
    merged_into: str | None = None
    merged: list[str] = []
    review_of: str | None = None
    reviews: list[str] = []
    code_a: str | None = None
    code_b: str | None = None
    code_c: str | None = None
    """The JR/T 0169-2018 codes: proposed from the channel, respondent and category, set by handlers."""
    accepts: list[str] = []


# --- the case file (what a handler reads; personal data, never in a Temporal payload) ---


class CaseEvent(BaseModel):
    """One line of a complaint's trail: a change the workflow recorded, or a read of its case."""

    at: datetime
    who: str
    kind: str
    """A recorded change's kind (`received`, `action`, `escalation`, ...), `evidence` or `read`."""
    stage: Stage | None = None
    action: str | None = None
    route: str | None = None
    """For a read: the door it came through (`GET /complaints/{id}/case`, `complaints show`)."""
    evidence: str | None = None
    """For an attached file (kind `evidence`): its SHA-256."""


class EvidenceRef(BaseModel):
    """An evidence item as the case file lists it: a file kept in the evidence store (hash, size,
    sniffed type), or a name given at intake whose file was never sent (those three empty)."""

    name: str
    sha256: str | None = None
    size: int | None = None
    media_type: str | None = None


class LegalHold(Strict):
    """A manager's legal hold: while `held`, retention does not erase the complaint."""

    held: bool
    by: Actor
    reason: ShortText | None = None


class CaseFile(BaseModel):
    """A complaint as the archive keeps it: its text, the complainant's contact details, the
    respondent, the evidence and the stage history (`GET /complaints/{id}/case`)."""

    complaint_id: str
    channel: Channel
    external_ref: str | None = None
    received_at: datetime
    stage: Stage
    category: Category | None = None
    severity: Severity | None = None
    outcome: Outcome | None = None
    subject: str | None = None
    content: str
    requested_remedy: str | None = None
    complainant: Complainant
    respondent: Respondent | None = None
    evidence: list[EvidenceRef] = []
    history: list[CaseEvent] = []


class ArchiveFacts(BaseModel):
    """The archive's row of a complaint as the workflow knows it; a record carries only the
    facts that changed since the one before it (the archive applies records in order)."""

    stage: Stage
    category: Category | None = None
    severity: Severity | None = None
    outcome: Outcome | None = None
    handlers: list[str] = []
    escalated: bool = False
    interim_measure: StrictBool = False
    reached: bool | None = None
    satisfaction: int | None = None
    reopen_count: int = 0
    extensions: int = 0
    pauses: int = 0
    review_of: str | None = None
    calendar_provisional: bool = False
    respondent_kind: RespondentKind | None = None
    respondent_id: str | None = None
    respondent_name: str | None = None
    substantiated: bool | None = None
    root_cause: str | None = None
    evidence: list[str] | None = None
    improvements: list[str] | None = None
    decided_at: datetime | None = None
    closed_at: datetime | None = None
    merged_into: str | None = None
    code_a: str | None = None
    code_b: str | None = None
    code_c: str | None = None

    @classmethod
    def of(cls, s: ComplaintStatus, **found: Any) -> dict[str, Any]:
        """The facts of status `s` and what the handlers found, as column values; what was never
        found is left out, so it never overwrites what the receipt wrote."""
        respondent = s.respondent
        facts = cls(stage=s.stage, category=s.category, severity=s.severity, outcome=s.outcome,
                    handlers=list(s.handlers), escalated=s.escalated, interim_measure=s.interim_measure,
                    reached=s.reached, satisfaction=s.satisfaction, reopen_count=s.reopen_count,
                    extensions=len(s.extensions), pauses=len(s.pauses), review_of=s.review_of,
                    calendar_provisional=s.calendar_provisional,
                    respondent_kind=respondent and respondent.kind, respondent_id=respondent and respondent.id,
                    respondent_name=respondent and respondent.name,
                    code_a=s.code_a, code_b=s.code_b, code_c=s.code_c, **found)
        return facts.model_dump(mode="json", exclude_unset=True)


class OpenCase(Public, BaseModel):
    complaint_id: str
    category: Category | None = None
    severity: Severity | None = None
    stage: Stage | None = None
    first_escalated_at: datetime
    escalations: list[EscalationEntry] = []
    seqs: list[int] = []
    lead: str | None = None
    acknowledged_at: datetime | None = None
    """When the team first acknowledged the case (what a drill measures)."""
    drill: bool = False


class OpenCases(Public, BaseModel):
    cases: list[OpenCase]


class TeamState(BaseModel):
    """What the emergency team carries into its next run when it continues as new."""

    cases: list[OpenCase] = []
    history_limit: int = 2000


class EscalationNotice(BaseModel):
    """A complaint's escalation as the emergency team receives it."""

    complaint_id: str
    seq: int
    category: Category | None = None
    severity: Severity | None = None
    stage: Stage
    escalation: EscalationEntry
    drill: bool = False


# --- the archive's records ------------------------------------------------------------


class Notice(BaseModel):
    """A message for someone, delivered through the archive's outbox."""

    kind: str
    recipient: str
    message: str
    values: dict[str, Any] = {}
    """What the notice's template fills in (complaint id, deadlines, reasons); not archived."""


DeliveryStatus = Literal["pending", "sent", "failed", "suppressed"]
"""`suppressed`: never sent, on purpose (a drill's notice to its made-up complainant)."""


class Contact(BaseModel):
    """Where a complainant is written to; travels only inside encrypted payloads."""

    name: str
    email: str | None = None
    phone: str | None = None
    locale: Locale = "zh-CN"


class NoticeRef(BaseModel):
    """Which notice: the record that holds it and its kind."""

    complaint_id: str
    seq: int
    kind: str

    @property
    def notice_id(self) -> str:
        """Stable across retries and workers: the e-mail's Message-ID, the webhook's Idempotency-Key."""
        return f"{self.complaint_id}-{self.seq}-{self.kind}"


class Delivery(NoticeRef):
    """One notice on its way to a person: what a delivery activity renders and sends."""

    recipient: str
    values: dict[str, Any] = {}
    contact: Contact | None = None
    """The complainant's, for a notice to the complainant."""


class DeliveryState(BaseModel):
    status: DeliveryStatus
    channel: str | None = None
    attempts: int = 0
    provider_id: str | None = None


class DeliveryOutcome(NoticeRef, DeliveryState):
    """What became of a delivery, as the archive's outbox keeps it (no personal data)."""

    error: str | None = None
    at: datetime


class NoticeState(NoticeRef, DeliveryState):
    """A notice as the outbox lists it: who it is for and what became of it, without its text."""

    recipient: str
    last_error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
    updated_at: datetime | None = None


class Record(BaseModel):
    """One audit entry and everything it changes in the archive, written in one transaction.

    (`complaint_id`, `seq`) is the idempotency key: a retried write finds its entry and
    does nothing, and the audit trail reads in `seq` order, the order things happened.
    """

    complaint_id: str
    seq: int
    at: datetime
    actor: str
    kind: str
    stage: Stage
    action: str | None = None
    details: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    deadlines: dict[str, datetime] = {}
    met: list[str] = []
    breached: list[str] = []
    escalation: EscalationEntry | None = None
    notices: list[Notice] = []
    intake: Intake | None = None


def jsonable(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def field_errors(err: ValidationError) -> list[tuple[str, str]]:
    """(field, reason) for each error, never echoing the input: it may be personal data."""
    return [
        (".".join(str(part) for part in e["loc"]) or "body", e["msg"].removeprefix("Value error, "))
        for e in err.errors(include_url=False, include_input=False, include_context=False)
    ]


def explain(err: ValidationError) -> str:
    return "; ".join(f"{name}: {reason}" for name, reason in field_errors(err))


EMERGENCY_TEAM_ID = "emergency-team"


def workflow_id(complaint_id: str) -> str:
    return f"complaint-{complaint_id}"


def complaint_id_of(workflow_id: str) -> str:
    """The complaint a `complaint-<id>` workflow runs: `workflow_id`'s inverse."""
    return workflow_id.removeprefix("complaint-")


Role = Literal["channel", "handler", "manager", "emergency", "auditor"]
