"""Tell the emergency team of an escalation, and of the complaint's closing."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from complaints.domain.models import EMERGENCY_TEAM_ID, EscalationNotice, TeamState
from workflows.emergency import EmergencyTeamWorkflow


class EmergencyDesk:
    def __init__(self, client: Client, task_queue: str, team_id: str = EMERGENCY_TEAM_ID) -> None:
        self.client = client
        self.task_queue = task_queue
        self.team_id = team_id

    async def _signal_with_start(self, signal: str, arg: object) -> None:
        await self.client.start_workflow(
            EmergencyTeamWorkflow.run,
            TeamState(),
            id=self.team_id,
            task_queue=self.task_queue,
            start_signal=signal,
            start_signal_args=[arg],
        )

    @activity.defn
    async def alert_emergency_team(self, notice: EscalationNotice) -> None:
        """Idempotent: the team ignores an escalation (complaint, seq) it already holds."""
        await self._signal_with_start("escalation", notice)

    @activity.defn
    async def close_emergency_case(self, complaint_id: str) -> None:
        await self._signal_with_start("case_closed", complaint_id)

    @activity.defn
    async def lead_of(self, complaint_id: str) -> str | None:
        """The lead the team has named for this complaint's case, from the team's own record;
        None when the case is not open there (or the team was never started)."""
        try:
            found = await self.client.get_workflow_handle(self.team_id).query(EmergencyTeamWorkflow.open_cases)
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                return None
            raise
        return next((case.lead for case in found.cases if case.complaint_id == complaint_id), None)
