"""The workflow's counters (complaints/infra/metrics.py) on the time-skipping server, read from
Temporal's in-memory metric buffer: warnings, breaches, escalations by reason, extensions,
refusals; and nothing counted again when the history is replayed."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from complaints.infra.settings import Settings
from complaints.infra.temporal import data_converter, register_search_attributes
from tests.conftest import binary
from workflows.complaint import ComplaintWorkflow
from workflows.visibility import ALL

from .conftest import HANDLER, STEPS


@pytest.fixture
def buffer() -> MetricBuffer:
    return MetricBuffer(100_000)


@pytest.fixture
async def env(settings: Settings, buffer: MetricBuffer) -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping server, its client (and so the worker) on a runtime recording metrics."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=data_converter(settings),
        runtime=Runtime(telemetry=TelemetryConfig(metrics=buffer)))
    await register_search_attributes(environment.client, ALL)
    yield environment
    await environment.shutdown()


def counted(buffer: MetricBuffer) -> Counter[tuple[str, tuple[tuple[str, str], ...]]]:
    """Counter increments by metric name (Prometheus adds `_total`) and our labels, the SDK's own left out."""
    ours = Counter()
    for update in buffer.retrieve_updates():
        if update.metric.name.startswith("complaints_"):
            labels = tuple(sorted((k, str(v)) for k, v in update.attributes.items()
                                  if k not in ("namespace", "task_queue", "workflow_type", "service_name")))
            ours[(update.metric.name, labels)] += update.value
    return ours


async def test_a_breach_an_extension_and_a_refusal_are_counted_once_and_never_on_replay(desk, buffer) -> None:
    handle = await desk.file()
    status = await desk.act(handle, *STEPS[0])  # assessed: in investigation
    with pytest.raises(WorkflowUpdateFailedError):
        await desk.act(handle, "summarize", {"handler": HANDLER, "root_cause": "r", "improvements": ["i"]})
    await desk.act(handle, "extend", {"handler": HANDLER, "approver": "manager-li", "approver_role": "manager",
                                      "reason": "forensic audit", "days": 15})
    due = datetime.fromisoformat(status["deadlines"]["investigation"])
    await desk.sleep(due - await desk.env.get_current_time() + timedelta(minutes=1))
    await desk.until(handle, lambda s: "investigation" in s["breaches"])
    got = counted(buffer)

    assert got[("complaints_received", (("category", "collection.off_hours"), ("channel", "phone")))] == 1
    assert got[("complaints_refusals", (("kind", "WrongStage"), ("update", "summarize")))] == 1
    assert got[("complaints_extensions", ())] == 1
    assert got[("complaints_deadline_warnings", (("deadline", "investigation"),))] == 1
    assert got[("complaints_deadline_breaches", (("deadline", "investigation"),))] == 1
    assert got[("complaints_escalations", (("reason", "sla_breach"),))] == 1
    assert got[("complaints_stage_entered", (("stage", "investigation"),))] == 1

    history = await handle.fetch_history()
    await Replayer(workflows=[ComplaintWorkflow], data_converter=desk.client.data_converter,
                   runtime=Runtime(telemetry=TelemetryConfig(metrics=buffer))).replay_workflow(history)
    assert not counted(buffer), "a replay counted again"
