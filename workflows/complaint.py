"""ComplaintWorkflow: one complaint, from receipt to closed.

The process, top to bottom: receive (deadlines fixed, archived, urgent ones escalated),
then keep the deadlines while handlers move the complaint through its stages with
updates, then wind up (interim measure lifted, emergency case closed); a cancelled workflow
closes the same way, on the record, with outcome `cancelled`. Every change is
journalled: the archive writes run in order beside the process, so an archive outage
delays the record but never a deadline or a handler's action.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from activities.archive import Archivist
    from activities.collection import CollectionContact
    from activities.deadlines import Deadlines
    from activities.emergency import EmergencyDesk
    from activities.merge import Merger
    from complaints.domain import regulator, stages
    from complaints.domain.models import (
        ACTION_INPUTS,
        Assess,
        ComplaintStatus,
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

from .visibility import BREACHED, CATEGORY, CHANNEL, ESCALATED, NEXT_DEADLINE, PAUSED, SEVERITY, STAGE

PATIENT = {  # archive and team calls: retried with backoff for as long as it takes
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
}
QUICK = {"start_to_close_timeout": timedelta(seconds=30), "retry_policy": RetryPolicy(maximum_attempts=5)}
# Archive writes as local activities: run by the worker inside the workflow task, no activity
# task round trip through the server. Unlimited retries with backoff; a retry due within a
# second is made in place, a later one waits on a durable timer (the workflow task is not
# held open through an archive outage, updates keep being answered). Each such timer is
# history, so the backoff grows to 10 minutes: a day-long outage costs ~900 events.
ARCHIVE_LOCALLY = "archive-local-activities"  # the patch: runs started before it keep regular activities
PATIENT_LOCAL = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10)),
    "local_retry_threshold": timedelta(seconds=1),
}
LEAD_CONFIRMED = "lead-confirmed-by-team"  # the patch: runs from before it record any lead they were sent


@dataclass(frozen=True)
class Alarm:
    at: datetime
    deadline: str
    warning: bool

    @property
    def label(self) -> str:
        return f"{self.deadline} {'warning' if self.warning else 'deadline'}"


def after_receipt(action: Callable[..., Any]) -> Callable[..., Awaitable[ComplaintStatus]]:
    """A handler's action sent while the deadlines are still being fixed (the first second
    of a complaint's life) waits for the assessment to open, then is checked again."""

    @functools.wraps(action)
    async def handler(self: ComplaintWorkflow, payload: dict) -> ComplaintStatus:
        if self.s.stage is Stage.receipt:
            await workflow.wait_condition(lambda: self.s.stage is not Stage.receipt)
            self.check(action.__name__, payload)
        result = action(self, payload)
        return await result if inspect.isawaitable(result) else result

    return handler


@workflow.defn
class ComplaintWorkflow:
    @workflow.init
    def __init__(self, complaint: NewComplaint) -> None:
        self.complaint = complaint
        guess = complaint.classification
        severity = guess.severity.at_least(Severity.high) if complaint.review_of else guess.severity
        self.s = ComplaintStatus(
            complaint_id=complaint.complaint_id,
            stage=Stage.receipt,
            channel=complaint.intake.channel,
            category=guess.category,
            severity=severity,
            received_at=complaint.received_at,
            respondent=complaint.intake.respondent,
            review_of=complaint.review_of.complaint_id if complaint.review_of else None,
            history=[HistoryEntry(stage=Stage.receipt, entered_at=complaint.received_at,
                                  actor=complaint.intake.channel.value)],
        )
        self.due: dict[str, datetime] = {}
        self.warn: dict[str, datetime] = {}
        self.warning_at = 0.8
        self.warned: set[str] = set()
        self.plan_proposed = False
        self.evidence = list(complaint.intake.evidence)
        self.facts: dict[str, Any] = {}
        self.seq = 0
        self.journal: list[Callable[[], Awaitable[None]]] = []
        self.archive_locally = False  # set by run(): see ARCHIVE_LOCALLY
        self.finished = False
        self.changes = 0
        self.published: dict[str, Any] = {}
        self.journal_receipt()  # seq 1, first in the journal, whatever arrives meanwhile

    # --- the process -----------------------------------------------------------------

    @workflow.run
    async def run(self, complaint: NewComplaint) -> ComplaintStatus:
        self.archive_locally = workflow.patched(ARCHIVE_LOCALLY)  # decided once, at the run's first task
        archivist = asyncio.create_task(self.keep_archive())
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
        return await self.settle(archivist)

    async def receive(self) -> None:
        """Fix the deadlines, escalate an urgent complaint at once, open the assessment."""
        await self.fix_deadlines()
        if self.s.severity is Severity.urgent:
            self.escalate_to_team(EscalationSource.urgent_assessment,
                                  "; ".join(self.complaint.classification.reasons), "classifier")
        self.move(Stage.assessment, "system")
        self.journal_record("stage_entered", "system")
        self.publish()

    async def keep_deadlines(self) -> None:
        """Sleep until the next warning or deadline, or until the complaint changes."""
        alarm = self.next_alarm()
        seen = self.changes
        changed = lambda: self.changes != seen  # noqa: E731 - a condition, read in place
        if alarm is None:
            await workflow.wait_condition(changed)
            return
        wait = alarm.at - workflow.now()
        if wait > timedelta(0):
            try:
                await workflow.wait_condition(changed, timeout=wait, timeout_summary=PublicText(alarm.label))
                return
            except asyncio.TimeoutError:
                pass
        self.ring(alarm)

    async def fix_deadlines(self) -> None:
        """Deadlines from the moment of receipt. A cancellation abandons this pure computation
        rather than cancel it on the server; close_cancelled asks again."""
        plan = await workflow.execute_activity_method(
            Deadlines.plan_deadlines, self.s.received_at, summary=PublicText("deadlines: fix at receipt"),
            cancellation_type=ActivityCancellationType.ABANDON, **QUICK
        )
        self.due, self.warn, self.warning_at = dict(plan.due), dict(plan.warn), plan.warning_at
        self.s.deadlines = dict(plan.due)
        self.s.calendar_provisional = plan.calendar_provisional

    async def close_cancelled(self) -> None:
        """A cancelled workflow (the Web UI's Request Cancellation, `temporal workflow cancel`)
        closes the complaint on the record, like a withdrawal: outcome `cancelled`, an audit
        entry, the handler told; wind_up then lifts the measure and closes the team's case."""
        if not self.due:  # cancelled while the deadlines were being fixed: the receipt record needs them
            await self.fix_deadlines()
        self.s.outcome = Outcome.cancelled
        self.move(Stage.closed, "temporal")
        self.journal_record("cancelled", "temporal", details={"reason": workflow.cancellation_reason() or None},
                            notices=[Notice(kind="cancelled", recipient=f"handler:{self.s.handler or 'unassigned'}",
                                            message=f"Complaint {self.s.complaint_id} was closed: its workflow "
                                                    "was cancelled in Temporal.")])
        self.publish()

    async def settle(self, archivist: asyncio.Task[None]) -> ComplaintStatus:
        """Complete once the journal is written and every handler is done. The complaint is
        closed by now: a cancellation arriving meanwhile changes nothing and cuts nothing short."""
        while True:
            try:
                await workflow.wait_condition(lambda: archivist.done() and workflow.all_handlers_finished())
            except asyncio.CancelledError:
                continue
            await archivist  # raises what the journal raised
            return self.status()

    def wind_up(self) -> None:
        """Lift the interim measure and tell the team the case is closed."""
        now = workflow.now()
        if self.s.interim_measure:
            self.later(lambda: workflow.execute_activity_method(
                CollectionContact.lift_collection_contact, args=[self.s.complaint_id, now],
                summary=PublicText("collection contact: resume"), **PATIENT))
        if self.s.escalated:
            self.later(lambda: workflow.execute_activity_method(
                EmergencyDesk.close_emergency_case, self.s.complaint_id,
                summary=PublicText("emergency team: case closed"), **PATIENT))
        self.finished = True

    # --- deadlines -----------------------------------------------------------------------

    def open_deadlines(self) -> list[str]:
        """Deadlines still running: not met, not breached, the decision clock not paused, not closed."""
        if self.s.stage is Stage.closed:
            return []
        return [name for name in self.due
                if name not in self.s.met and name not in self.s.breaches
                and not (name == "decision" and self.s.paused)]

    def next_alarm(self) -> Alarm | None:
        now = workflow.now()
        alarms = [
            Alarm(self.warn[name], name, True) if name not in self.warned and self.due[name] > now
            else Alarm(self.due[name], name, False)
            for name in self.open_deadlines()
        ]
        return min(alarms, key=lambda a: (a.at, a.deadline), default=None)

    def ring(self, alarm: Alarm) -> None:
        due = self.due[alarm.deadline]
        if alarm.warning:
            self.warned.add(alarm.deadline)
            holder = self.s.handler or "unassigned"
            self.journal_record("warning", "system", details={"deadline": alarm.deadline, "due": due.isoformat()},
                                notices=[Notice(kind="warning", recipient=f"handler:{holder}",
                                                message=f"{alarm.deadline} deadline at {local(due)} is "
                                                        f"{self.warning_at:.0%} gone")])
        else:
            self.s.breaches.append(alarm.deadline)
            self.journal_record("breach", "system", details={"deadline": alarm.deadline, "due": due.isoformat()},
                                breached=[alarm.deadline])
            self.escalate_to_team(EscalationSource.sla_breach,
                                  f"{alarm.deadline} deadline passed at {local(due)}", "system")
        self.changes += 1
        self.publish()

    # --- handler actions: the stages, in order -------------------------------------------

    @workflow.update
    @after_receipt
    def assess(self, payload: dict) -> ComplaintStatus:
        a = Assess.model_validate(payload)
        self.s.category, self.s.severity = a.category, a.severity
        self.s.respondent = a.respondent or self.s.respondent
        if a.interim_measure and not self.s.interim_measure:
            self.s.interim_measure = True
            customer = self.complaint.intake.complainant
            key = customer.customer_id or customer.phone or customer.email or self.s.complaint_id
            now = workflow.now()
            self.later(lambda: workflow.execute_activity_method(
                CollectionContact.suspend_collection_contact, args=[self.s.complaint_id, key, now],
                summary=PublicText("collection contact: suspend"), **PATIENT))
        self.act("assess", a)
        if a.severity is Severity.urgent and not self.escalated_by(EscalationSource.urgent_assessment):
            self.escalate_to_team(EscalationSource.urgent_assessment, "assessed urgent", a.handler)
        return self.status()

    @workflow.update
    @after_receipt
    def investigate(self, payload: dict) -> ComplaintStatus:
        i = Investigate.model_validate(payload)
        self.evidence += i.evidence
        self.facts.update(substantiated=i.substantiated, root_cause=i.root_cause, evidence=self.evidence)
        return self.act("investigate", i)

    @workflow.update
    @after_receipt
    def propose_solution(self, payload: dict) -> ComplaintStatus:
        self.plan_proposed = True
        return self.act("propose_solution", ProposeSolution.model_validate(payload))

    @workflow.update
    @after_receipt
    def record_execution(self, payload: dict) -> ComplaintStatus:
        return self.act("record_execution", RecordExecution.model_validate(payload))

    @workflow.update
    @after_receipt
    def record_feedback(self, payload: dict) -> ComplaintStatus:
        f = RecordFeedback.model_validate(payload)
        self.facts.setdefault("decided_at", workflow.now())
        if f.accepted:
            return self.act("record_feedback", f)
        self.s.reopen_count += 1
        self.plan_proposed = False
        self.act("record_feedback", f, to=Stage.solution)
        if self.s.reopen_count >= 2:
            self.escalate_to_team(EscalationSource.customer_rejection,
                                  f"solution rejected {self.s.reopen_count} times", f.handler)
        return self.status()

    @workflow.update
    @after_receipt
    def record_revisit(self, payload: dict) -> ComplaintStatus:
        r = RecordRevisit.model_validate(payload)
        self.s.reached, self.s.satisfaction = r.reached, r.satisfaction
        return self.act("record_revisit", r)

    @workflow.update
    @after_receipt
    def summarize(self, payload: dict) -> ComplaintStatus:
        s = Summarize.model_validate(payload)
        self.s.outcome = Outcome.resolved
        self.facts.update(root_cause=s.root_cause, improvements=s.improvements)
        return self.act("summarize", s)

    @workflow.update
    @after_receipt
    def withdraw(self, payload: dict) -> ComplaintStatus:
        w = Withdraw.model_validate(payload)
        self.s.outcome = Outcome.withdrawn
        return self.act("withdraw", w)

    # --- the regulator's clock (contract 2b) ---------------------------------------------

    @workflow.update
    @after_receipt
    def extend(self, payload: dict) -> ComplaintStatus:
        e = Extend.model_validate(payload)
        self.move_decision(timedelta(days=e.days))
        self.warned.discard("decision")
        self.s.extensions.append(Extension(approver=e.approver, approver_role=e.approver_role, reason=e.reason,
                                           days=e.days, at=workflow.now(), decision_due=self.due["decision"]))
        return self.act("extend", e, deadlines={"decision": self.due["decision"]}, notices=[Notice(
            kind="extension", recipient="complainant",
            message=f"The decision on your complaint is extended to {local(self.due['decision'])}: {e.reason}")])

    @workflow.update
    @after_receipt
    def pause(self, payload: dict) -> ComplaintStatus:
        p = Pause.model_validate(payload)
        self.s.paused = True
        self.s.pauses.append(PauseEntry(reason=p.reason, by=p.handler, started_at=workflow.now()))
        return self.act("pause", p, notices=[Notice(
            kind="pause", recipient="complainant",
            message=f"Your complaint is waiting on an external appraisal ({p.reason}); "
                    "this time does not count against the decision deadline.")])

    @workflow.update
    @after_receipt
    def resume(self, payload: dict) -> ComplaintStatus:
        r = Resume.model_validate(payload)
        pause = self.s.pauses[-1]
        pause.resumed_at = workflow.now()
        self.s.paused = False
        self.move_decision(pause.resumed_at - pause.started_at)
        return self.act("resume", r, deadlines={"decision": self.due["decision"]})

    @workflow.update
    @after_receipt
    async def merge(self, payload: dict) -> ComplaintStatus:
        m = Merge.model_validate(payload)
        repeat = Repeat(complaint_id=self.s.complaint_id, handler=m.handler,
                        content=self.complaint.intake.content, evidence=self.evidence)
        try:
            await workflow.execute_activity_method(Merger.hand_over_repeat, args=[m.into, repeat],
                                                   summary=PublicText(f"merge into {m.into}"), **QUICK)
        except ActivityError as err:
            reason = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
            raise ApplicationError(reason, type="Refused", non_retryable=True) from None
        self.s.merged_into, self.s.outcome = m.into, Outcome.merged
        self.facts["merged_into"] = m.into
        return self.act("merge", m)

    @workflow.update
    def absorb_repeat(self, repeat: Repeat) -> ComplaintStatus:
        """The original's side of a merge: the repeat's text and evidence join its record."""
        self.s.merged.append(repeat.complaint_id)
        self.evidence += [e for e in repeat.evidence if e not in self.evidence]
        self.facts["evidence"] = self.evidence
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
        if workflow.patched(LEAD_CONFIRMED) and not await self.named_by_team(lead):
            workflow.logger.warning("lead_assigned signal ignored: the emergency team has not named that lead")
            return
        if self.s.stage is not Stage.closed:  # the complaint may have closed while the team was asked
            self.s.lead = lead
            notices = []
            if workflow.patched("lead-notifies-handler"):  # runs from before it keep their recorded path
                notices = [Notice(kind="lead_assigned", recipient=f"handler:{self.s.handler or 'unassigned'}",
                                  message=f"{lead} leads the emergency team's work on complaint "
                                          f"{self.s.complaint_id}")]
            self.journal_record("lead_assigned", lead, details={"lead": lead}, notices=notices)
            self.publish()

    async def named_by_team(self, lead: str) -> bool:
        named = await workflow.execute_activity_method(EmergencyDesk.lead_of, self.s.complaint_id,
                                                       summary=PublicText("emergency team: confirm lead"), **PATIENT)
        return named == lead

    def escalate_to_team(self, source: EscalationSource, reason: str, by: str) -> None:
        entry = EscalationEntry(source=source, reason=reason, by=by, at=workflow.now())
        self.s.escalations.append(entry)
        self.s.escalated = True
        seq = self.journal_record("escalation", by, escalation=entry, notices=[Notice(
            kind="emergency", recipient="emergency-team", message=f"{source.value}: {reason}")])
        notice = EscalationNotice(complaint_id=self.s.complaint_id, seq=seq, category=self.s.category,
                                  severity=self.s.severity, stage=self.s.stage, escalation=entry)
        self.later(lambda: workflow.execute_activity_method(
            EmergencyDesk.alert_emergency_team, notice, summary=PublicText(f"emergency team: {source.value}"),
            **PATIENT))
        self.publish()

    def escalated_by(self, source: EscalationSource) -> bool:
        return any(e.source is source for e in self.s.escalations)

    # --- the status ------------------------------------------------------------------------

    @workflow.query
    def status(self) -> ComplaintStatus:
        running = self.open_deadlines()
        return self.s.model_copy(update={
            "accepts": stages.accepted(self.situation()),
            "next_deadline": min(running, key=lambda n: self.due[n]) if running else None,
        })

    def situation(self) -> stages.Situation:
        """What the rules see; in receipt, the assessment about to open (actions wait for it)."""
        stage = Stage.assessment if self.s.stage is Stage.receipt else self.s.stage
        return stages.Situation(stage, self.plan_proposed, self.s.paused, "decision" in self.s.met)

    def publish(self) -> ComplaintStatus:
        """Keep the search attributes and the Web UI's current details in step with the state;
        returns the status it published, which is the answer to the action that changed it."""
        status = self.status()
        nxt = status.next_deadline
        values: dict[SearchAttributeKey, Any] = {
            STAGE: status.stage.value, CATEGORY: status.category and status.category.value,
            SEVERITY: status.severity and status.severity.value, CHANNEL: status.channel.value,
            ESCALATED: status.escalated, BREACHED: bool(status.breaches), PAUSED: status.paused,
            NEXT_DEADLINE: self.due[nxt] if nxt else None,
        }
        changed = {key: value for key, value in values.items() if self.published.get(key.name, "?") != value}
        if changed:
            workflow.upsert_search_attributes([
                key.value_set(value) if value is not None else key.value_unset() for key, value in changed.items()
            ])
            self.published.update({key.name: value for key, value in changed.items()})
        workflow.set_current_details(PublicText(self.current_details(status)))
        return status

    def current_details(self, status: ComplaintStatus) -> str:
        """Markdown for the Web UI: where the complaint stands and every deadline's state."""
        closed = status.stage is Stage.closed
        nxt = status.next_deadline
        outcome = f" ({status.outcome.value})" if closed and status.outcome else ""
        lines = [f"**Stage:** {status.stage.value}{outcome}",
                 f"**Next deadline:** {nxt} at {local(self.due[nxt])} (Asia/Shanghai)" if nxt
                 else "**Next deadline:** none",
                 f"**Held by:** {status.handler or 'not yet assigned'}"]
        if status.escalated:
            lines.append(f"**Escalated:** {', '.join(e.source.value for e in status.escalations)}"
                         f"; lead {status.lead or 'not yet named'}")
        if status.breaches:
            lines.append(f"**Breached:** {', '.join(status.breaches)}")
        if status.paused:
            lines.append("**Paused:** waiting on external appraisal")

        def state(name: str) -> str:
            if name in status.met:
                return f"met {local(status.met[name])}" + (", late" if name in status.breaches else "")
            if name in status.breaches:
                return "**breached**"
            return "no longer running" if closed else "paused" if name == "decision" and status.paused else "running"

        plan = [f"- {name}: {local(due)}, {state(name)}" for name, due in sorted(self.due.items(), key=lambda d: d[1])]
        table = "\n\n**Deadlines** (Asia/Shanghai):\n\n" + "\n".join(plan) if plan else ""
        return "  \n".join(lines) + table

    # --- validation: one function for every action ------------------------------------------

    def check(self, action: str, payload: Any) -> None:
        """Refuse a wrong-stage or malformed action, naming the stage and what it accepts."""
        try:
            parsed = ACTION_INPUTS[action].model_validate(payload)
        except ValidationError as err:
            accepts = ", ".join(stages.accepted(self.situation())) or "nothing"
            raise ApplicationError(f"{action} refused: {explain(err)} (the complaint is in stage "
                                   f"{self.s.stage.value}, which accepts {accepts})", type="BadPayload") from None
        why = stages.refusal(action, self.situation())
        original = self.complaint.review_of
        if not why and original and parsed.handler in original.handlers:
            why = (f"{action} refused: {parsed.handler} handled the original complaint {original.complaint_id}; "
                   "a review must be handled by someone else")
        if not why and isinstance(parsed, Extend):
            new_due = self.due["decision"] + timedelta(days=parsed.days)
            why = regulator.extension_refusal(self.s.extensions, parsed.approver_role, new_due,
                                              self.s.received_at, self.paused_time())
        if not why and isinstance(parsed, Merge) and parsed.into == self.s.complaint_id:
            why = "merge refused: a complaint cannot be merged into itself"
        if why:
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

    # --- state changes and their record ------------------------------------------------------

    def act(self, action: str, parsed: BaseModel, to: Stage | None = None, **record: Any) -> ComplaintStatus:
        """Apply a handler's accepted action: deadline met, stage moved, journalled, published."""
        handler = parsed.handler  # type: ignore[attr-defined]
        self.s.handler = handler
        if handler not in self.s.handlers:
            self.s.handlers.append(handler)
        met = stages.MEETS.get(action)
        if met and met not in self.s.met:
            self.s.met[met] = workflow.now()
        target = to or stages.LEADS_TO.get(action)
        if target:
            self.move(target, handler)
        self.changes += 1
        self.journal_record("action", handler, action=action, details=parsed.model_dump(mode="json"),
                            met=[met] if met else [], **record)
        return self.publish()

    def move(self, stage: Stage, actor: str) -> None:
        self.s.stage = stage
        self.s.history.append(HistoryEntry(stage=stage, entered_at=workflow.now(), actor=actor))
        self.changes += 1
        if stage is Stage.closed:
            self.facts["closed_at"] = workflow.now()

    def move_decision(self, by: timedelta) -> None:
        self.due["decision"] += by
        self.warn["decision"] = self.s.received_at + (self.due["decision"] - self.s.received_at) * self.warning_at
        self.s.deadlines["decision"] = self.due["decision"]
        self.changes += 1

    def paused_time(self) -> timedelta:
        return sum(((p.resumed_at or workflow.now()) - p.started_at for p in self.s.pauses), timedelta(0))

    def journal_record(self, kind: str, actor: str, **fields: Any) -> int:
        """Queue one archive record of the complaint as it is now; returns its sequence number."""
        self.seq += 1
        record = Record(complaint_id=self.s.complaint_id, seq=self.seq, at=workflow.now(), actor=actor, kind=kind,
                        stage=self.s.stage, facts=self.archive_facts(), **fields)
        label = record.action or kind.replace("_", " ")
        self.later(lambda: self.archive(Archivist.archive_record, record, f"archive: {label}"))
        return self.seq

    def journal_receipt(self) -> None:
        """The receipt record: written first, once the deadlines are fixed."""
        self.seq += 1
        seq = self.seq

        async def write() -> None:
            await workflow.wait_condition(lambda: bool(self.due))
            record = Record(complaint_id=self.s.complaint_id, seq=seq, at=self.s.received_at,
                            actor=self.s.channel.value, kind="received", stage=Stage.receipt,
                            intake=self.complaint.intake, deadlines=self.due,
                            details={"classification": self.complaint.classification.model_dump(mode="json")},
                            facts=self.archive_facts() | {"stage": Stage.receipt.value},
                            notices=[Notice(kind="acknowledgement", recipient="complainant",
                                            message=f"We received your complaint {self.s.complaint_id} and will "
                                                    "reply in writing.")])
            duplicate = await self.archive(Archivist.archive_receipt, record, "archive: complaint received")
            if duplicate:
                self.s.possible_duplicate_of = duplicate

        self.later(write)

    def archive(self, write: Callable[[Archivist, Record], Any], record: Record, summary: str) -> Awaitable[Any]:
        """One archive write, the one place that decides how it runs: as a local activity on
        runs that started with the ARCHIVE_LOCALLY patch, as a regular activity on older runs."""
        if self.archive_locally:
            return workflow.execute_local_activity_method(write, record, summary=PublicText(summary),
                                                          **PATIENT_LOCAL)
        return workflow.execute_activity_method(write, record, summary=PublicText(summary), **PATIENT)

    def archive_facts(self) -> dict[str, Any]:
        s = self.s
        return {
            "stage": s.stage.value, "category": s.category and s.category.value,
            "severity": s.severity and s.severity.value, "outcome": s.outcome and s.outcome.value,
            "handlers": list(s.handlers), "escalated": s.escalated, "interim_measure": s.interim_measure,
            "reached": s.reached, "satisfaction": s.satisfaction, "reopen_count": s.reopen_count,
            "extensions": len(s.extensions), "pauses": len(s.pauses), "review_of": s.review_of,
            "calendar_provisional": s.calendar_provisional,
            "respondent_kind": s.respondent.kind.value if s.respondent else None,
            "respondent_id": s.respondent.id if s.respondent else None,
            "respondent_name": s.respondent.name if s.respondent else None,
            **self.facts,
        }

    def later(self, effect: Callable[[], Awaitable[Any]]) -> None:
        self.journal.append(effect)

    async def keep_archive(self) -> None:
        """Run the journalled side effects one at a time, in the order they happened."""
        while True:
            await workflow.wait_condition(lambda: bool(self.journal) or self.finished)
            if not self.journal:
                return
            await self.journal.pop(0)()
