"""Fault: a deployment changes the workflow code under complaints that are already running.

`histories/lead-assigned-before-patch.json` was recorded (`python -m tests.faults.lead`) by the
code before the `lead-notifies-handler` patch: escalated, a lead named, closed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from complaints.domain.models import EMERGENCY_TEAM_ID
from complaints.infra.archive import Archive
from complaints.infra.schema import outbox
from complaints.infra.settings import Settings
from complaints.infra.temporal import data_converter
from tests.conftest import TEST_KEY, TEST_KEYS
from tests.faults.changed_workflows import Guarded, Unguarded
from tests.faults.lead import LEAD, lead_scenario
from workflows.complaint import ComplaintWorkflow
from workflows.emergency import EmergencyTeamWorkflow

BEFORE_PATCH = Path(__file__).parent / "histories" / "lead-assigned-before-patch.json"


def recorded() -> WorkflowHistory:
    return WorkflowHistory.from_json("before-patch", json.loads(BEFORE_PATCH.read_text(encoding="utf-8")))


async def replay(history: WorkflowHistory, workflow: type) -> Exception | None:
    replayer = Replayer(workflows=[workflow, EmergencyTeamWorkflow],
                        data_converter=data_converter(Settings(codec_keys=TEST_KEY)))
    return (await replayer.replay_workflow(history, raise_on_replay_failure=False)).replay_failure


def patch_markers(history: WorkflowHistory) -> list[str]:
    """The patch ids a run recorded (each `workflow.patched` that took the new path on a new run)."""
    return [json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
            for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and e.marker_recorded_event_attributes.marker_name == "core_patch"]


def test_the_recorded_run_predates_the_patch():
    assert patch_markers(recorded()) == []
    kinds = [e.event_type for e in recorded().events]
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED in kinds


async def test_replay_catches_a_change_that_running_complaints_cannot_take():
    failure = await replay(recorded(), Unguarded)
    assert isinstance(failure, NondeterminismError)
    assert "close_emergency_case" in str(failure) and "archive_record" in str(failure)


async def test_the_same_change_behind_workflow_patched_replays_the_old_path():
    # had `patched` said True for the old run, the extra record would break the replay as above
    assert await replay(recorded(), Guarded) is None


async def test_the_shipped_patch_replays_histories_from_before_it():
    assert await replay(recorded(), ComplaintWorkflow) is None


@pytest.mark.faults
async def test_a_new_run_takes_the_patched_path(fclient, archive_url, archive_engine, workers, task_queue):
    workers(archive_url)
    complaint_id = await lead_scenario(fclient, task_queue, EMERGENCY_TEAM_ID, Archive(archive_engine, TEST_KEYS))
    history = await fclient.get_workflow_handle(f"complaint-{complaint_id}").fetch_history()
    assert patch_markers(history) == ["release-2027-04", "lead-notifies-handler"]  # the newest release's alone
    with archive_engine.connect() as db:
        told = db.execute(select(outbox.c.recipient, outbox.c.message)
                          .where(outbox.c.complaint_id == complaint_id, outbox.c.kind == "lead_assigned")).all()
    assert [(r.recipient, LEAD in r.message) for r in told] == [("handler:handler-bench", True)]
    assert await replay(history, ComplaintWorkflow) is None
