"""EmergencyTeamWorkflow: the emergency team's desk, one long-lived workflow.

Every escalation arrives here by signal-with-start; the team lists its open cases,
names a lead for each, and drops a case when its complaint closes. It continues as new
before its history grows long, carrying only the open cases.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from complaints.domain.models import (
        Acknowledge,
        EscalationNotice,
        OpenCase,
        OpenCases,
        TeamState,
        explain,
        workflow_id,
    )


@workflow.defn
class EmergencyTeamWorkflow:
    @workflow.init
    def __init__(self, state: TeamState) -> None:
        self.cases: dict[str, OpenCase] = {case.complaint_id: case for case in state.cases}
        self.history_limit = state.history_limit

    @workflow.run
    async def run(self, state: TeamState) -> None:
        await workflow.wait_condition(self.time_to_continue)
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(TeamState(cases=list(self.cases.values()), history_limit=self.history_limit))

    def time_to_continue(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self.history_limit

    @workflow.signal
    def escalation(self, notice: EscalationNotice) -> None:
        case = self.cases.get(notice.complaint_id)
        if case is None:
            case = self.cases[notice.complaint_id] = OpenCase(
                complaint_id=notice.complaint_id, first_escalated_at=notice.escalation.at, drill=notice.drill)
        if notice.seq in case.seqs:
            return  # a retried alert
        case.seqs.append(notice.seq)
        case.escalations.append(notice.escalation)
        case.category, case.severity, case.stage = notice.category, notice.severity, notice.stage

    @workflow.signal
    def case_closed(self, complaint_id: str) -> None:
        self.cases.pop(complaint_id, None)

    @workflow.query
    def open_cases(self) -> OpenCases:
        return OpenCases(cases=sorted(self.cases.values(), key=lambda c: c.first_escalated_at))

    @workflow.update
    async def acknowledge(self, payload: dict) -> OpenCase:
        ack = Acknowledge.model_validate(payload)
        case = self.cases[ack.complaint_id]
        case.lead = ack.lead
        case.acknowledged_at = case.acknowledged_at or workflow.now()
        try:
            await workflow.get_external_workflow_handle(workflow_id(ack.complaint_id)).signal("lead_assigned", ack.lead)
        except Exception:  # noqa: BLE001 - the complaint closed meanwhile; the team's record stands
            workflow.logger.info("lead not delivered: complaint %s already closed", ack.complaint_id)
        return case

    @acknowledge.validator
    def _acknowledge(self, payload: dict) -> None:
        try:
            ack = Acknowledge.model_validate(payload)
        except ValidationError as err:
            raise ApplicationError(f"acknowledge refused: {explain(err)}", type="BadPayload") from None
        if ack.complaint_id not in self.cases:
            raise ApplicationError(f"acknowledge refused: complaint {ack.complaint_id} is not an open emergency case",
                                   type="NotFound")
