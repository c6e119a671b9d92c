"""ComplaintWorkflow as two deployments might change it: the lead notice as an archive record of its own.

An extra record is an extra activity in the history, so a running complaint's replay no longer
matches what it recorded. `Unguarded` ships that change as is; `Guarded` ships it behind
`workflow.patched`, the way a change must go out to complaints already weeks into their lives.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from complaints.domain.models import ComplaintStatus, NewComplaint, Notice, Stage
    from workflows.complaint import ComplaintWorkflow


def notice_record(complaint: ComplaintWorkflow, lead: str) -> None:
    complaint.journal_record("handler_notified", "system", details={"lead": lead}, notices=[Notice(
        kind="lead_assigned", recipient=f"handler:{complaint.s.handler or 'unassigned'}",
        message=f"{lead} leads the emergency team's work on complaint {complaint.s.complaint_id}")])


@workflow.defn(name="ComplaintWorkflow")
class Unguarded(ComplaintWorkflow):
    @workflow.run
    async def run(self, complaint: NewComplaint) -> ComplaintStatus:
        return await super().run(complaint)

    @workflow.signal
    async def lead_assigned(self, lead: str) -> None:
        await super().lead_assigned(lead)
        if self.s.stage is not Stage.closed and self.takes_new_path():
            notice_record(self, lead)

    def takes_new_path(self) -> bool:
        return True


@workflow.defn(name="ComplaintWorkflow")
class Guarded(Unguarded):
    @workflow.run
    async def run(self, complaint: NewComplaint) -> ComplaintStatus:
        return await super().run(complaint)

    def takes_new_path(self) -> bool:
        return workflow.patched("lead-notice-record")
