"""Hand a repeat complaint over to the original it repeats (contract 2b, `merge`)."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from complaints.domain.models import Repeat, workflow_id


class Merger:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn
    async def hand_over_repeat(self, into: str, repeat: Repeat) -> None:
        """The original takes the repeat's text and evidence, or says why it cannot.

        The update id makes a retry harmless: the original applies each repeat once.
        """
        from workflows.complaint import ComplaintWorkflow  # here: the workflow module imports this one

        handle = self.client.get_workflow_handle(workflow_id(into))
        try:
            await handle.execute_update(ComplaintWorkflow.absorb_repeat, repeat, id=f"merge-{repeat.complaint_id}")
        except WorkflowUpdateFailedError as err:
            raise ApplicationError(str(err.cause.message if err.cause else err), non_retryable=True) from None
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise ApplicationError(f"merge refused: complaint {into} is closed or does not exist",
                                       non_retryable=True) from None
            raise
