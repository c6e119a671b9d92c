"""Replay recorded histories against today's workflow code.

A change that would break complaints already running (reordered activities, a new timer,
a changed condition) fails here, in CI, instead of in production weeks later.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from complaints.infra.settings import Settings
from complaints.infra.temporal import data_converter
from tests.conftest import TEST_KEY
from workflows.complaint import ComplaintWorkflow
from workflows.emergency import EmergencyTeamWorkflow

RELEASES = ("2027-01", "2027-02", "2027-03", "2027-04")  # a run of each records its marker alone
HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_the_recorded_paths_are_all_there():
    assert {p.stem for p in HISTORIES} >= {"happy-path", "breach-path", "regulator-path",
                                           "happy-path-local-archive", "breach-path-local-archive",
                                           "happy-path-two-lanes", "breach-path-two-lanes",
                                           "cancelled-path-two-lanes", "happy-path-2027-01", "breach-path-2027-01",
                                           "cancelled-path-2027-01", "regulator-path-2027-01",
                                           "happy-path-2027-03", "breach-path-2027-03", "regulator-path-2027-03",
                                           "happy-path-2027-04", "breach-path-2027-04", "cancelled-path-2027-04",
                                           "regulator-path-2027-04"}


def patches_of(events: list[dict]) -> set[str]:
    """The patch ids a history recorded."""
    markers = [e["markerRecordedEventAttributes"] for e in events if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"]
    return {json.loads(base64.b64decode(m["details"]["patch-data"]["payloads"][0]["data"]))["id"]
            for m in markers if m["markerName"] == "core_patch"}


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
def test_each_history_stands_for_its_side_of_the_patches(path: Path):
    """Runs from before `archive-local-activities` archive with activity tasks, runs after it
    locally; `*-two-lanes` runs were recorded with the outbox's two lanes, `*-2027-01` and
    `*-2027-02`, `*-2027-03` and `*-2027-04` runs with their release's marker alone."""
    events = json.loads(path.read_text())["events"]
    patches = patches_of(events)
    release = next((r for r in RELEASES if path.stem.endswith(f"-{r}")), None)
    local = "archive-local-activities" in patches or release is not None
    archive_tasks = [e for e in events if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED" and e[
        "activityTaskScheduledEventAttributes"]["activityType"]["name"].startswith("archive_")]
    assert local == path.stem.endswith(("-local-archive", "-two-lanes", *(f"-{r}" for r in RELEASES)))
    assert bool(archive_tasks) != local
    assert ("release-2026-12" in patches) == path.stem.endswith("-two-lanes")
    if release:  # a run records its newest release's marker, no older release's
        assert patches - {"lead-notifies-handler"} == {f"release-{release}"}
    else:
        assert not {f"release-{r}" for r in RELEASES} & patches


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_history_replays_on_the_current_code(path: Path):
    history = WorkflowHistory.from_json("replayed", json.loads(path.read_text()))
    replayer = Replayer(workflows=[ComplaintWorkflow, EmergencyTeamWorkflow],
                        data_converter=data_converter(Settings(codec_keys=TEST_KEY)))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.stem} no longer replays: {result.replay_failure}"
