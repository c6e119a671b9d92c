"""ComplaintWorkflow: one complaint, from receipt to closed.

The process, top to bottom: receive (deadlines fixed, archived, urgent ones escalated),
then keep the deadlines while handlers move the complaint through its stages with
updates, then wind up (interim measure lifted, emergency case closed); a cancelled workflow
closes the same way, on the record, with outcome `cancelled`. Every change is journalled
through the outbox (workflows/outbox.py), whose lanes run beside the process, so an archive
outage delays the record but never a deadline, a handler's action or an alert.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from activities.archive import Archivist
    from activities.assignment import Assigner
    from activities.collection import CollectionContact
    from activities.deadlines import Deadlines
    from activities.delivery import Postman
    from activities.emergency import EmergencyDesk
    from activities.merge import Merger
    from complaints.domain import codes, regulator, stages
    from complaints.domain.models import (
        ACTION_INPUTS,
        ArchiveFacts,
        Assess,
        Assign,
        Claim,
        Coded,
        ComplaintStatus,
        Contact,
        Delivery,
        DeliveryOutcome,
        Escalate,
        EscalationEntry,
        EscalationNotice,
        EscalationSource,
        Extend,
        Extension,
        HistoryEntry,
        Investigate,
        Merge,
        NewComplaint,
        Notice,
        Outcome,
        Pause,
        PauseEntry,
        ProposeSolution,
        PublicText,
        Record,
        RecordExecution,
        RecordFeedback,
        RecordRevisit,
        Repeat,
        Resume,
        Severity,
        Stage,
        Summarize,
        Withdraw,
        explain,
    )
    from complaints.domain.workdays import local_time as local
    from complaints.infra.metrics import UNCLASSIFIED, count

from .deadlines import Alarm, DeadlineClock
from .outbox import PATIENT, Outbox
from .versions import Release, release_of_this_run
from . import visibility

QUICK = {"start_to_close_timeout": timedelta(seconds=30), "retry_policy": RetryPolicy(maximum_attempts=5)}


def one_at_a_time(action: Callable[..., Any]) -> Callable[..., Awaitable[ComplaintStatus]]:
    """A handler's action, run one at a time (as in the samples' safe message handlers).

    An action sent while the deadlines are still being fixed (the first second of a
    complaint's life) waits for the assessment to open; one sent while another is still
    running (a merge awaiting its hand-over) waits its turn. Either is checked again against
    what it finds: a withdrawal that waited for a merge to close the complaint is refused.
    The answer is the status the action left, readable as the status query's is: the
    contract's clients read it with the plain `temporal` CLI.
    """

    @functools.wraps(action)
    async def handler(self: ComplaintWorkflow, payload: dict) -> ComplaintStatus:
        waited = self.s.stage is Stage.receipt or self.acting.locked()
        if self.s.stage is Stage.receipt:
            await workflow.wait_condition(lambda: self.s.stage is not Stage.receipt)
        async with self.acting:
            if waited:
                self.check(action.__name__, payload)
            result = action(self, payload)
            return await result if inspect.isawaitable(result) else result

    return handler


Parsed = TypeVar("Parsed", bound=BaseModel)


@workflow.defn
class ComplaintWorkflow:
    @workflow.init
    def __init__(self, complaint: NewComplaint) -> None:
        self.complaint = complaint
        guess = complaint.classification
        self.s = ComplaintStatus(
            complaint_id=complaint.complaint_id,
            stage=Stage.receipt,
            channel=complaint.intake.channel,
            category=guess.category,
            severity=complaint.severity,
            product=guess.product,
            received_at=complaint.received_at,
            respondent=complaint.intake.respondent,
            review_of=complaint.review_of.complaint_id if complaint.review_of else None,
            code_a=codes.active().propose(complaint.intake.channel, complaint.intake.respondent, None)["code_a"],
            history=[HistoryEntry(stage=Stage.receipt, entered_at=complaint.received_at,
                                  actor=complaint.intake.channel.value)],
        )
        self.clock = DeadlineClock()
        self.release = Release.FIRST  # the paths this run takes, decided by run(): see workflows/versions.py
        self.caps: list[datetime] = []  # the latest each extension may move `decision` to
        self.plan_proposed = False
        self.evidence = list(complaint.intake.evidence)
        self.found: dict[str, Any] = {}  # what handlers found: facts beyond the status
        self.letter: dict[str, Any] = {}  # what the written decision says: the handlers' findings, plan, remedies
        self.archived: dict[str, Any] = {}  # the facts as the last record left them
        self.seq = 0
        self.outbox = Outbox()
        self.acting = asyncio.Lock()
        self.changes = 0
        self.published: dict[str, Any] = {}
        self.details = ""
        self.checked: tuple[dict, BaseModel] | None = None  # the last payload the validator parsed
        self.coded: set[str] = set()  # the code fields a handler set: proposals no longer change them
        self.person_ids = False  # the firm has a people file: handlers are person ids, published as ComplaintHandler
        self.received = False  # receive()'s local activities are done: the archive's may start (from 2027-04)
        self.journal_receipt()  # seq 1, first in the journal, whatever arrives meanwhile

    # --- the process -----------------------------------------------------------------

    @workflow.run
    async def run(self, complaint: NewComplaint) -> ComplaintStatus:
        self.release = release_of_this_run()
        self.clock.warns_late = self.release >= Release.R2027_02
        self.clock.wakes_ahead = self.release >= Release.R2027_03
        self.outbox.open(archive_locally=self.release >= Release.ARCHIVE_LOCALLY,
                         two_lanes=self.release >= Release.R2026_12)
        try:
            await self.receive()
            while self.s.stage is not Stage.closed and workflow.cancellation_reason() is None:
                await self.keep_deadlines()
        except (asyncio.CancelledError, ActivityError) as err:
            if workflow.cancellation_reason() is None or not is_cancelled_exception(err):
                raise
        if workflow.cancellation_reason() is not None and self.s.stage is not Stage.closed:
            await self.close_cancelled()
        self.wind_up()
        return await self.settle()

    async def receive(self) -> None:
        """Fix the deadlines, escalate an urgent complaint at once, open the assessment and find
        its handler."""
        count(workflow.metric_meter(), "complaints_received", channel=self.s.channel.value,
              category=self.s.category or UNCLASSIFIED)
        await self.fix_deadlines()
        if self.s.severity is Severity.urgent:
            self.escalate_to_team(EscalationSource.urgent_assessment,
                                  "; ".join(self.complaint.classification.reasons), "classifier")
        self.move(Stage.assessment, "system")
        self.journal_record("stage_entered", "system")
        if self.release >= Release.R2027_01:  # the receipt record (seq 1) holds the acknowledgement
            self.deliver(1, Notice(kind="acknowledgement", recipient="complainant", message="", values={
                "received_at": self.s.received_at.isoformat(),
                "decision_due": self.clock.due("decision").isoformat()}))
        if self.release >= Release.R2027_02:  # published with the assessment's opening, in one upsert
            await self.assign_by_rule()
        self.received = True
        self.publish()

    async def assign_by_rule(self) -> None:
        """Give the complaint to its team's handler with the least open work (the people file and
        visibility, read by a local activity); without a people file, or when the rule finds no one
        or cannot be run, it stays unassigned for a manager to assign or a handler to claim. Started
        only once the deadlines are fixed, and from release 2027-04 on before the receipt's archive
        writes: two local activities running at once resume the workflow in the order they finish,
        and on replay in the order they started (a non-determinism error)."""
        exclude = self.complaint.review_of.handlers if self.complaint.review_of else []
        try:
            found = await workflow.execute_local_activity_method(
                Assigner.assign_handler, args=[self.s.category, exclude],
                summary=PublicText("assignment: by the team's open work"), **QUICK)
        except ActivityError:
            return
        self.person_ids = found.people
        if found.handler and self.s.handler is None:  # a handler may have acted meanwhile
            self.hold(found.handler)
            self.changes += 1
            self.journal_record("assigned", "system", details={"handler": found.handler})

    async def keep_deadlines(self) -> None:
        """Sleep until the next warning or deadline is due and ring it, or until the next alarm
        changes (an action met a deadline, an extension moved one, the complaint closed)."""
        alarm = self.clock.next_alarm(self.open_deadlines())
        seen = self.changes

        def woken() -> bool:
            if self.release < Release.R2026_12:  # runs from before 2026-12 woke on every change
                return self.changes != seen
            return self.s.stage is Stage.closed or self.clock.next_alarm(self.open_deadlines()) != alarm

        if await self.clock.sleep_until(alarm, woken):
            self.ring(alarm)

    async def fix_deadlines(self) -> None:
        """Deadlines from the moment of receipt, in a local activity on this release's runs (no round
        trip through the server before the assessment opens). A cancellation abandons this pure
        computation rather than cancel it; close_cancelled asks again."""
        local = self.release >= Release.R2026_12
        execute = workflow.execute_local_activity_method if local else workflow.execute_activity_method
        planner = Deadlines.plan_drill_deadlines if self.complaint.drill else Deadlines.plan_deadlines
        plan = await execute(planner, self.s.received_at,
                             summary=PublicText("deadlines: fix at receipt"),
                             cancellation_type=ActivityCancellationType.ABANDON, **QUICK)
        self.clock.fix(self.s.received_at, plan)
        self.caps = list(plan.extension_caps) or regulator.plain_caps(self.s.received_at)
        self.s.deadlines = dict(plan.due)
        self.s.calendar_provisional = plan.calendar_provisional

    async def close_cancelled(self) -> None:
        """A cancelled workflow (the Web UI's Request Cancellation, `temporal workflow cancel`)
        closes the complaint on the record, like a withdrawal: outcome `cancelled`, an audit
        entry, the handler told; wind_up then lifts the measure and closes the team's case."""
        self.received = True  # receive() was cut short: nothing of it runs any more
        if not self.clock.fixed:  # cancelled while the deadlines were being fixed: the receipt record needs them
            await self.fix_deadlines()
        self.s.outcome = Outcome.cancelled
        self.move(Stage.closed, "temporal")
        self.journal_record("cancelled", "temporal", details={"reason": workflow.cancellation_reason() or None},
                            notices=[Notice(kind="cancelled", recipient=f"handler:{self.s.handler or 'unassigned'}",
                                            message=f"Complaint {self.s.complaint_id} was closed: its workflow "
                                                    "was cancelled in Temporal.",
                                            values={"handler": self.s.handler or "unassigned"})])
        self.publish()

    async def settle(self) -> ComplaintStatus:
        """Complete once the outbox is drained and every handler is done. The complaint is
        closed by now: a cancellation arriving meanwhile changes nothing and cuts nothing short."""
        while True:
            try:
                await self.outbox.close()
            except asyncio.CancelledError:
                continue
            return self.status()

    def wind_up(self) -> None:
        """Lift the interim measure and tell the team the case is closed."""
        now = workflow.now()
        if self.s.interim_measure:
            self.outbox.call("archive", CollectionContact.lift_collection_contact, self.s.complaint_id, now,
                             summary="collection contact: resume")
        if self.s.escalated:
            self.outbox.call("alerts", EmergencyDesk.close_emergency_case, self.s.complaint_id,
                             summary="emergency team: case closed")

    # --- deadlines -----------------------------------------------------------------------

    def open_deadlines(self) -> list[str]:
        """Deadlines still running: not met, not breached, the decision clock not paused, not closed."""
        if self.s.stage is Stage.closed:
            return []
        return [name for name in self.clock.deadlines
                if name not in self.s.met and name not in self.s.breaches
                and not (name == "decision" and self.s.paused)]

    def ring(self, alarm: Alarm) -> None:
        due = self.clock.due(alarm.deadline)
        self.clock.rang(alarm)
        count(workflow.metric_meter(), "complaints_deadline_warnings" if alarm.warning else
              "complaints_deadline_breaches", deadline=alarm.deadline)
        if alarm.warning:
            holder = self.s.handler or "unassigned"
            self.journal_record("warning", "system", details={"deadline": alarm.deadline, "due": due.isoformat()},
                                notices=[Notice(kind="warning", recipient=f"handler:{holder}",
                                                message=f"{alarm.deadline} deadline at {local(due, deadline=True)} is "
                                                        f"{self.clock.warning_at:.0%} gone",
                                                values={"deadline": alarm.deadline, "due": due.isoformat(),
                                                        "percent": f"{self.clock.warning_at:.0%}",
                                                        "handler": holder})])
        else:
            self.s.breaches.append(alarm.deadline)
            self.journal_record("breach", "system", details={"deadline": alarm.deadline, "due": due.isoformat()},
                                breached=[alarm.deadline])
            self.escalate_to_team(EscalationSource.sla_breach,
                                  f"{alarm.deadline} deadline passed at {local(due, deadline=True)}", "system")
        self.changes += 1
        self.publish()

    # --- handler actions: the stages, in order -------------------------------------------

    @workflow.update
    @one_at_a_time
    def assess(self, payload: dict) -> ComplaintStatus:
        a = self.parse(Assess, payload)
        self.s.category, self.s.severity = a.category, a.severity
        self.s.product = a.product or self.s.product
        self.s.respondent = a.respondent or self.s.respondent
        self.recode(a)
        if a.interim_measure and not self.s.interim_measure:
            self.s.interim_measure = True
            customer = self.complaint.intake.complainant
            key = customer.customer_id or customer.phone or customer.email or self.s.complaint_id
            now = workflow.now()
            self.outbox.call("archive", CollectionContact.suspend_collection_contact, self.s.complaint_id, key, now,
                             summary="collection contact: suspend")
        self.act("assess", a)
        if a.severity is Severity.urgent and not self.escalated_by(EscalationSource.urgent_assessment):
            self.escalate_to_team(EscalationSource.urgent_assessment, "assessed urgent", a.handler)
        return self.status()

    @workflow.update
    @one_at_a_time
    def investigate(self, payload: dict) -> ComplaintStatus:
        i = self.parse(Investigate, payload)
        self.recode(i)
        self.letter["reasons"] = i.findings
        self.evidence += i.evidence
        self.found.update(substantiated=i.substantiated, root_cause=i.root_cause, evidence=self.evidence)
        return self.act("investigate", i)

    @workflow.update
    @one_at_a_time
    def propose_solution(self, payload: dict) -> ComplaintStatus:
        self.plan_proposed = True
        p = self.parse(ProposeSolution, payload)
        self.letter.update(decision=p.plan, actions="; ".join(p.remedies))
        return self.act("propose_solution", p)

    @workflow.update
    @one_at_a_time
    def record_execution(self, payload: dict) -> ComplaintStatus:
        self.letter["done_by"] = workflow.now().isoformat()
        return self.act("record_execution", self.parse(RecordExecution, payload))

    @workflow.update
    @one_at_a_time
    def record_feedback(self, payload: dict) -> ComplaintStatus:
        f = self.parse(RecordFeedback, payload)
        self.found.setdefault("decided_at", workflow.now())
        by_letter = self.release >= Release.R2027_01  # the decision deadline is met when the letter is sent
        if f.accepted:
            status = self.act("record_feedback", f, meets=not by_letter)
            if by_letter:
                self.send_decision_letter()
            return status
        self.s.reopen_count += 1
        self.plan_proposed = False
        self.act("record_feedback", f, to=Stage.solution, meets=not by_letter)
        if self.s.reopen_count >= 2:
            self.escalate_to_team(EscalationSource.customer_rejection,
                                  f"solution rejected {self.s.reopen_count} times", f.handler)
        return self.status()

    @workflow.update
    @one_at_a_time
    def record_revisit(self, payload: dict) -> ComplaintStatus:
        r = self.parse(RecordRevisit, payload)
        self.s.reached, self.s.satisfaction = r.reached, r.satisfaction
        return self.act("record_revisit", r)

    @workflow.update
    @one_at_a_time
    def summarize(self, payload: dict) -> ComplaintStatus:
        s = self.parse(Summarize, payload)
        self.recode(s)
        self.s.outcome = Outcome.resolved
        self.found.update(root_cause=s.root_cause, improvements=s.improvements)
        return self.act("summarize", s)

    @workflow.update
    @one_at_a_time
    def withdraw(self, payload: dict) -> ComplaintStatus:
        w = self.parse(Withdraw, payload)
        self.s.outcome = Outcome.withdrawn
        return self.act("withdraw", w)

    # --- the regulator's clock (contract 2b) ---------------------------------------------

    @workflow.update
    @one_at_a_time
    def extend(self, payload: dict) -> ComplaintStatus:
        e = self.parse(Extend, payload)
        count(workflow.metric_meter(), "complaints_extensions")
        self.move_decision(timedelta(days=e.days), warn_again=True)
        due = self.clock.due("decision")
        self.s.extensions.append(Extension(approver=e.approver, approver_role=e.approver_role, reason=e.reason,
                                           days=e.days, at=workflow.now(), decision_due=due))
        return self.act("extend", e, deadlines={"decision": due}, notices=[Notice(
            kind="extension", recipient="complainant",
            message=f"The decision on your complaint is extended to {local(due, deadline=True)}: {e.reason}",
            values={"due": due.isoformat(), "reason": e.reason})])

    @workflow.update
    @one_at_a_time
    def pause(self, payload: dict) -> ComplaintStatus:
        p = self.parse(Pause, payload)
        self.s.paused = True
        self.s.pauses.append(PauseEntry(reason=p.reason, by=p.handler, started_at=workflow.now()))
        return self.act("pause", p, notices=[Notice(
            kind="pause", recipient="complainant",
            message=f"Your complaint is waiting on an external appraisal ({p.reason}); "
                    "this time does not count against the decision deadline.",
            values={"reason": p.reason})])

    @workflow.update
    @one_at_a_time
    def resume(self, payload: dict) -> ComplaintStatus:
        r = self.parse(Resume, payload)
        pause = self.s.pauses[-1]
        pause.resumed_at = workflow.now()
        self.s.paused = False
        self.move_decision(pause.resumed_at - pause.started_at, warn_again=False)
        return self.act("resume", r, deadlines={"decision": self.clock.due("decision")})

    @workflow.update
    @one_at_a_time
    async def merge(self, payload: dict) -> ComplaintStatus:
        m = self.parse(Merge, payload)
        repeat = Repeat(complaint_id=self.s.complaint_id, handler=m.handler,
                        content=self.complaint.intake.content, evidence=self.evidence)
        try:
            await workflow.execute_activity_method(Merger.hand_over_repeat, args=[m.into, repeat],
                                                   summary=PublicText(f"merge into {m.into}"), **QUICK)
        except ActivityError as err:
            reason = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
            raise ApplicationError(reason, type="Refused", non_retryable=True) from None
        self.s.merged_into, self.s.outcome = m.into, Outcome.merged
        self.found["merged_into"] = m.into
        return self.act("merge", m)

    # --- who holds the complaint (from 2027-02) ----------------------------------------------

    @workflow.update
    @one_at_a_time
    def assign(self, payload: dict) -> ComplaintStatus:
        a = self.parse(Assign, payload)
        return self.act("assign", a, actor=a.by or "manager")

    @workflow.update
    @one_at_a_time
    def claim(self, payload: dict) -> ComplaintStatus:
        return self.act("claim", self.parse(Claim, payload))

    @workflow.update
    def absorb_repeat(self, repeat: Repeat) -> ComplaintStatus:
        """The original's side of a merge: the repeat's text and evidence join its record."""
        self.s.merged.append(repeat.complaint_id)
        self.evidence += [e for e in repeat.evidence if e not in self.evidence]
        self.found["evidence"] = self.evidence
        self.journal_record("repeat_merged", repeat.handler, details=repeat.model_dump())
        return self.status()

    @absorb_repeat.validator
    def _absorb_repeat(self, repeat: Repeat) -> None:
        if self.s.stage is Stage.closed:
            raise ApplicationError(f"merge refused: complaint {self.s.complaint_id} is closed", type="Refused")
        if repeat.complaint_id == self.s.complaint_id:
            raise ApplicationError("merge refused: a complaint cannot be merged into itself", type="Refused")

    # --- escalation --------------------------------------------------------------------

    @workflow.signal
    def escalate(self, payload: dict) -> None:
        try:
            e = Escalate.model_validate(payload)
        except ValidationError as err:
            workflow.logger.warning("escalate signal ignored: %s", explain(err))
            return
        if self.s.stage is not Stage.closed:
            self.escalate_to_team(EscalationSource.manager, e.reason, e.by)

    @workflow.signal
    async def lead_assigned(self, lead: str) -> None:
        """The emergency team acknowledged the case and named its lead; the handler is told who.
        Anyone who can signal (the Web UI offers it to every viewer) could send this, so the
        lead is confirmed with the team's own record before it is recorded here."""
        if self.s.stage is Stage.closed:
            return
        if self.release >= Release.R2026_12 and not await self.named_by_team(lead):
            workflow.logger.warning("lead_assigned signal ignored: the emergency team has not named that lead")
            return
        if self.s.stage is not Stage.closed:  # the complaint may have closed while the team was asked
            self.s.lead = lead
            notices = []
            if workflow.patched("lead-notifies-handler"):  # runs from before it keep their recorded path
                notices = [Notice(kind="lead_assigned", recipient=f"handler:{self.s.handler or 'unassigned'}",
                                  message=f"{lead} leads the emergency team's work on complaint "
                                          f"{self.s.complaint_id}",
                                  values={"lead": lead, "handler": self.s.handler or "unassigned"})]
            self.journal_record("lead_assigned", lead, details={"lead": lead}, notices=notices)
            self.publish()

    async def named_by_team(self, lead: str) -> bool:
        named = await workflow.execute_activity_method(EmergencyDesk.lead_of, self.s.complaint_id,
                                                       summary=PublicText("emergency team: confirm lead"), **PATIENT)
        return named == lead

    def escalate_to_team(self, source: EscalationSource, reason: str, by: str) -> None:
        entry = EscalationEntry(source=source, reason=reason, by=by, at=workflow.now())
        count(workflow.metric_meter(), "complaints_escalations", reason=source.value)
        self.s.escalations.append(entry)
        self.s.escalated = True
        seq = self.journal_record("escalation", by, escalation=entry, notices=[Notice(
            kind="emergency", recipient="emergency-team", message=f"{source.value}: {reason}",
            values={"source": source.value, "reason": reason, "category": self.s.category or "-",
                    "severity": self.s.severity.value if self.s.severity else "-"}
            | ({"drill": True} if self.complaint.drill else {}))])
        notice = EscalationNotice(complaint_id=self.s.complaint_id, seq=seq, category=self.s.category,
                                  severity=self.s.severity, stage=self.s.stage, escalation=entry,
                                  drill=self.complaint.drill)
        self.outbox.call("alerts", EmergencyDesk.alert_emergency_team, notice,
                         summary=f"emergency team: {source.value}")
        self.publish()

    def escalate_undelivered(self, delivery: Delivery, outcome: DeliveryOutcome) -> None:
        """A notice still undelivered when its day of retries ran out (or refused for good) goes
        to the manager as its own kind of escalation; not an emergency, so not to the team."""
        entry = EscalationEntry(source=EscalationSource.undelivered, by="system", at=workflow.now(),
                                reason=f"{delivery.kind} notice (record {delivery.seq}) undelivered: {outcome.error}")
        self.s.escalations.append(entry)
        self.journal_record("escalation", "system", escalation=entry, notices=[Notice(
            kind="undelivered", recipient="manager", message=entry.reason,
            values={"notice_kind": delivery.kind, "notice_seq": delivery.seq, "error": outcome.error,
                    "at": workflow.now().isoformat()})])
        self.publish()

    def escalated_by(self, source: EscalationSource) -> bool:
        return any(e.source is source for e in self.s.escalations)

    # --- the status ------------------------------------------------------------------------

    @workflow.query
    def status(self) -> ComplaintStatus:
        running = self.open_deadlines()
        return self.s.model_copy(update={
            "accepts": stages.accepted(self.situation()),
            "next_deadline": min(running, key=lambda n: self.clock.due(n)) if running else None,
        })

    def situation(self) -> stages.Situation:
        """What the rules see; in receipt, the assessment about to open (actions wait for it)."""
        stage = Stage.assessment if self.s.stage is Stage.receipt else self.s.stage
        return stages.Situation(stage, self.plan_proposed, self.s.paused, "decision" in self.s.met,
                                len(self.s.extensions), self.decision_passed_at(), held=self.s.handler is not None)

    def decision_passed_at(self) -> datetime | None:
        """When the decision deadline passed, or None while it runs: a pause holds it back,
        and it counts as passed from its due moment, before its timer has even fired."""
        due = self.clock.due("decision") if self.clock.fixed else None
        if due and ("decision" in self.s.breaches or (not self.s.paused and due <= workflow.now())):
            return due
        return None

    def publish(self) -> ComplaintStatus:
        """Keep the search attributes and the Web UI's current details in step with the state;
        returns the status it published, which is the answer to the action that changed it."""
        status = self.status()
        changed = {key: value for key, value in visibility.search_attributes(status, self.person_ids).items()
                   if self.published.get(key.name, "?") != value}
        if changed:
            workflow.upsert_search_attributes([
                key.value_set(value) if value is not None else key.value_unset() for key, value in changed.items()
            ])
            self.published.update({key.name: value for key, value in changed.items()})
        details = visibility.current_details(status)
        if details != self.details:
            workflow.set_current_details(PublicText(details))
            self.details = details
        return status

    # --- validation: one function for every action ------------------------------------------

    def check(self, action: str, payload: Any) -> None:
        """Refuse a wrong-stage or malformed action, naming the stage and what it accepts."""
        try:
            parsed = ACTION_INPUTS[action].model_validate(payload)
            self.checked = (payload, parsed)
        except ValidationError as err:
            count(workflow.metric_meter(), "complaints_refusals", update=action, kind="BadPayload")
            accepts = ", ".join(stages.accepted(self.situation())) or "nothing"
            raise ApplicationError(f"{action} refused: {explain(err)} (the complaint is in stage "
                                   f"{self.s.stage.value}, which accepts {accepts})", type="BadPayload") from None
        if isinstance(parsed, Coded):  # the worker's table (COMPLAINTS_CODES_FILE); a replay runs no validator
            table = codes.active()
            unknown = [why for name in Coded.model_fields if (why := table.refusal(name, getattr(parsed, name)))]
            if unknown:
                raise ApplicationError(f"{action} refused: {'; '.join(unknown)}", type="BadPayload")
        why = stages.refusal(action, self.situation())
        original = self.complaint.review_of
        if not why and original and parsed.handler in original.handlers:
            why = (f"{action} refused: {parsed.handler} handled the original complaint {original.complaint_id}; "
                   "a review must be handled by someone else")
        if not why and isinstance(parsed, Extend) and self.clock.fixed:  # in receipt, checked again once fixed
            new_due = self.clock.due("decision") + timedelta(days=parsed.days)
            why = regulator.extension_refusal(self.s.extensions, parsed.approver_role, new_due,
                                              self.caps, self.paused_time())
        if not why and isinstance(parsed, Merge) and parsed.into == self.s.complaint_id:
            why = "merge refused: a complaint cannot be merged into itself"
        if why:
            count(workflow.metric_meter(), "complaints_refusals", update=action, kind="WrongStage")
            raise ApplicationError(why, type="WrongStage")

    @assess.validator
    def _assess(self, payload: dict) -> None:
        self.check("assess", payload)

    @investigate.validator
    def _investigate(self, payload: dict) -> None:
        self.check("investigate", payload)

    @propose_solution.validator
    def _propose_solution(self, payload: dict) -> None:
        self.check("propose_solution", payload)

    @record_execution.validator
    def _record_execution(self, payload: dict) -> None:
        self.check("record_execution", payload)

    @record_feedback.validator
    def _record_feedback(self, payload: dict) -> None:
        self.check("record_feedback", payload)

    @record_revisit.validator
    def _record_revisit(self, payload: dict) -> None:
        self.check("record_revisit", payload)

    @summarize.validator
    def _summarize(self, payload: dict) -> None:
        self.check("summarize", payload)

    @withdraw.validator
    def _withdraw(self, payload: dict) -> None:
        self.check("withdraw", payload)

    @extend.validator
    def _extend(self, payload: dict) -> None:
        self.check("extend", payload)

    @pause.validator
    def _pause(self, payload: dict) -> None:
        self.check("pause", payload)

    @resume.validator
    def _resume(self, payload: dict) -> None:
        self.check("resume", payload)

    @merge.validator
    def _merge(self, payload: dict) -> None:
        self.check("merge", payload)

    @assign.validator
    def _assign(self, payload: dict) -> None:
        self.check("assign", payload)

    @claim.validator
    def _claim(self, payload: dict) -> None:
        self.check("claim", payload)

    def parse(self, model: type[Parsed], payload: dict) -> Parsed:
        """The validator's parse of this payload, so an action is validated once; a fresh parse
        when there is none (a replay runs no validators)."""
        if self.checked and type(self.checked[1]) is model and self.checked[0] == payload:
            return self.checked[1]  # type: ignore[return-value]
        return model.model_validate(payload)

    # --- state changes and their record ------------------------------------------------------

    def act(self, action: str, parsed: BaseModel, to: Stage | None = None, meets: bool = True,
            actor: str | None = None, **record: Any) -> ComplaintStatus:
        """Apply a handler's accepted action: deadline met (unless `meets` is off), stage moved,
        journalled (under `actor`, the handler unless another acted for them), published."""
        handler = parsed.handler  # type: ignore[attr-defined]
        self.hold(handler)
        actor = actor or handler
        met = stages.MEETS.get(action) if meets else None
        if met and met not in self.s.met:
            self.s.met[met] = workflow.now()
        target = to or stages.LEADS_TO.get(action)
        if target:
            self.move(target, actor)
        self.changes += 1
        self.journal_record("action", actor, action=action, details=parsed.model_dump(mode="json"),
                            met=[met] if met else [], **record)
        return self.publish()

    def hold(self, handler: str) -> None:
        """`handler` holds the complaint from now on (and is one of those who handled it)."""
        self.s.handler = handler
        if handler not in self.s.handlers:
            self.s.handlers.append(handler)

    def recode(self, given: Coded) -> None:
        """The JR/T 0169-2018 codes: one a handler gives is kept from then on; the others follow
        the category and the respondent as they now stand (B and C from the assessment on)."""
        proposed = codes.active().propose(self.s.channel, self.s.respondent, self.s.category, self.s.product)
        for name in Coded.model_fields:
            chosen = getattr(given, name)
            if chosen:
                self.coded.add(name)
            if chosen or (name not in self.coded and name in proposed):
                setattr(self.s, name, chosen or proposed[name])

    def move(self, stage: Stage, actor: str) -> None:
        self.s.stage = stage
        count(workflow.metric_meter(), "complaints_stage_entered", stage=stage.value)
        self.s.history.append(HistoryEntry(stage=stage, entered_at=workflow.now(), actor=actor))
        self.changes += 1
        if stage is Stage.closed:
            self.found["closed_at"] = workflow.now()

    def move_decision(self, by: timedelta, warn_again: bool) -> None:
        self.s.deadlines["decision"] = self.clock.move("decision", by, warn_again)
        self.changes += 1

    def paused_time(self) -> timedelta:
        return sum(((p.resumed_at or workflow.now()) - p.started_at for p in self.s.pauses), timedelta(0))

    def journal_record(self, kind: str, actor: str, **fields: Any) -> int:
        """Queue one archive record of the complaint as it is now; returns its sequence number."""
        self.seq += 1
        record = Record(complaint_id=self.s.complaint_id, seq=self.seq, at=workflow.now(), actor=actor, kind=kind,
                        stage=self.s.stage, facts=self.archive_facts(), **fields)
        label = record.action or kind.replace("_", " ")
        self.outbox.put("archive", lambda: self.outbox.write(Archivist.archive_record, record, f"archive: {label}"))
        if self.release >= Release.R2027_01:
            for notice in record.notices:
                self.deliver(record.seq, notice)
        return self.seq

    # --- delivery of notices (runs from 2027-01 on) ----------------------------------------

    def deliver(self, seq: int, notice: Notice) -> None:
        """Send a notice to its person, beside the process; what became of it is archived. A drill
        never writes to its complainant: that notice is archived as suppressed, the staff's go out."""
        if self.complaint.drill and notice.recipient == "complainant":
            self.delivered(Delivery(complaint_id=self.s.complaint_id, seq=seq, kind=notice.kind,
                                    recipient=notice.recipient),
                           DeliveryOutcome(complaint_id=self.s.complaint_id, seq=seq, kind=notice.kind,
                                           status="suppressed", error="drill", at=workflow.now()), None)
            return
        who = self.complaint.intake.complainant
        contact = Contact(name=who.name, email=who.email, phone=who.phone, locale=who.locale) \
            if notice.recipient == "complainant" else None
        delivery = Delivery(complaint_id=self.s.complaint_id, seq=seq, kind=notice.kind, recipient=notice.recipient,
                            values=notice.values, contact=contact)
        self.outbox.send(Postman.deliver_notice, delivery, f"deliver: {notice.kind}",
                         lambda outcome, err: self.delivered(delivery, outcome, err))

    def send_decision_letter(self) -> None:
        """The written decision, rendered and checked by the delivery activity; the `decision`
        deadline is met when it is sent (delivered), and keeps running while it is not."""
        values = self.letter | {"received_at": self.s.received_at.isoformat(), "channel": self.s.channel.value,
                                "decided_at": workflow.now().isoformat()}
        values.setdefault("done_by", workflow.now().isoformat())
        self.journal_record("decision_letter", "system", notices=[Notice(
            kind="decision", recipient="complainant", message="the written decision (kept in letters)",
            values=values)])

    def decision_sent(self, outcome: DeliveryOutcome) -> None:
        if "decision" in self.s.met:
            return
        self.s.met["decision"] = workflow.now()
        self.changes += 1
        self.journal_record("decision_sent", "system", met=["decision"],
                            details={"letter": outcome.seq, "channel": outcome.channel})
        self.publish()

    def delivered(self, delivery: Delivery, outcome: DeliveryOutcome | None, err: ActivityError | None) -> None:
        if outcome is not None and outcome.kind == "decision" and outcome.status == "sent":
            self.decision_sent(outcome)
        if outcome is None:
            cause = err.cause if err else None
            while cause is not None and not isinstance(cause, ApplicationError):  # a timeout wraps the last failure
                cause = cause.cause
            reason = cause.message if cause is not None else "no attempt succeeded within a day"
            outcome = DeliveryOutcome(complaint_id=delivery.complaint_id, seq=delivery.seq, kind=delivery.kind,
                                      status="failed", error=reason, at=workflow.now())
            if delivery.kind != "undelivered":
                self.escalate_undelivered(delivery, outcome)
        self.outbox.put("archive", lambda: self.outbox.write(Archivist.record_delivery, outcome,
                                                             f"archive: delivery of {delivery.kind}"))

    def journal_receipt(self) -> None:
        """The receipt record: written first, once the deadlines are fixed (from 2027-04 on, once
        receive() has run its local activities: the archive's never run beside them)."""
        self.seq += 1
        seq = self.seq

        async def write() -> None:
            await workflow.wait_condition(
                lambda: self.clock.fixed and (self.received or self.release < Release.R2027_04))
            record = Record(complaint_id=self.s.complaint_id, seq=seq, at=self.s.received_at,
                            actor=self.s.channel.value, kind="received", stage=Stage.receipt,
                            intake=self.complaint.intake, deadlines=self.clock.schedule(),
                            details={"classification": self.complaint.classification.model_dump(mode="json")},
                            facts=ArchiveFacts.of(self.s, **self.found) | {"stage": Stage.receipt.value}
                            | ({"drill": True} if self.complaint.drill else {}),
                            notices=[Notice(kind="acknowledgement", recipient="complainant",
                                            message=f"We received your complaint {self.s.complaint_id} and will "
                                                    "reply in writing.")])
            duplicate = await self.outbox.write(Archivist.archive_receipt, record, "archive: complaint received")
            if duplicate:
                self.s.possible_duplicate_of = duplicate

        self.outbox.put("archive", write)

    def archive_facts(self) -> dict[str, Any]:
        """The facts that changed since the last record (all of them in the first)."""
        facts = ArchiveFacts.of(self.s, **self.found)
        changed = {name: value for name, value in facts.items() if self.archived.get(name, facts) != value}
        self.archived = facts
        return changed
