"""Traces in memory: one trace from the HTTP request to the workflow start and its activities,
one from `POST /complaints/{id}/assess` through the update to the archive write it queued, ids
as attributes and never a personal value; log lines name the trace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from complaints.api.app import create_app
from complaints.infra import tracing
from complaints.infra.logging import add_trace_id
from complaints.infra.settings import Settings
from complaints.infra.temporal import connect
from tests.integration.apihelp import api_settings, auth, eventually, intake  # noqa: F401


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)


@pytest.fixture
async def traced(spans, api_settings: Settings, task_queue: str, policy, calendar, archive,
                 team_id: str) -> AsyncIterator[httpx.AsyncClient]:
    from worker import new_worker

    app = create_app(api_settings)
    client = await connect(api_settings)
    async with new_worker(client, task_queue, policy, calendar, archive, team_id), \
            app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        yield http


def named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, sorted(s.name for s in spans))
    return found[0]


async def test_a_trace_runs_from_the_request_through_the_workflow_to_its_activities(
        traced: httpx.AsyncClient, spans: InMemorySpanExporter) -> None:
    body = intake("TRACE-1")
    cid = (await traced.post("/complaints", json=body, headers=auth("channel"))).json()["complaint_id"]
    await eventually(lambda: traced.get(f"/complaints/{cid}", headers=auth("handler")),
                     lambda r: r.json()["stage"] == "assessment")
    assessed = await traced.post(f"/complaints/{cid}/assess", headers=auth("handler"),
                                 json={"handler": "h.li", "category": "service.fees", "severity": "normal"})
    assert assessed.status_code == 200
    finished = list(spans.get_finished_spans())

    filed = named(finished, "POST /complaints")
    started = named(finished, "StartWorkflow:ComplaintWorkflow")
    intake_trace = [s for s in finished if s.context.trace_id == filed.context.trace_id]
    assert started in intake_trace and started.attributes["temporalWorkflowID"] == f"complaint-{cid}"
    assert named(intake_trace, "RunWorkflow:ComplaintWorkflow")
    ran = named(intake_trace, "RunActivity:plan_deadlines")
    assert ran.attributes["temporalWorkflowID"] == f"complaint-{cid}"

    request = named(finished, "POST /complaints/{complaint_id}/assess")
    assert request.attributes[tracing.COMPLAINT_ID] == cid
    update = named(finished, "StartWorkflowUpdate:assess")
    assert update.context.trace_id == request.context.trace_id
    handled = named(finished, "HandleUpdate:assess")
    assert handled.context.trace_id == request.context.trace_id and handled.parent.span_id == update.context.span_id
    update_trace = [s for s in finished if s.context.trace_id == request.context.trace_id]
    assert named(update_trace, "RunActivity:archive_record")  # the record the update queued in the outbox

    personal = {body["content"], body["subject"], *body["complainant"].values(), "h.li", "service.fees"}
    values = {str(v) for s in finished for v in (s.attributes or {}).values()}
    assert not {v for v in values if any(p in v for p in personal)}


def test_a_log_line_carries_the_trace_id() -> None:
    tracer = TracerProvider().get_tracer("test")
    assert "trace_id" not in add_trace_id(None, "info", {"event": "outside"})
    with tracer.start_as_current_span("work") as span:
        line = add_trace_id(None, "info", {"event": "inside"})
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
