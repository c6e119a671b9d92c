"""Traces (OpenTelemetry): from an HTTP request through the workflow start or update to each
activity, by Temporal's TracingInterceptor on the clients (the worker takes it from its client)
and FastAPI's instrumentation on the API.

Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (then exported by OTLP over HTTP, configured by
the standard OTEL_* variables): no interceptor, no instrumentation, nothing to pay. Spans carry
the complaint id and the workflow id (Temporal's `temporalWorkflowID`), never personal data:
the interceptor records names and ids only, and the HTTP spans carry route templates.

An update's spans nest in the trace of the request that sent it, where Temporal's interceptor
would put them in the workflow's trace with a link back: a slow `assess` is followed from its
HTTP request into the update and the activities it queued (workflows/outbox.py runs each
effect in the context it was queued from).
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
import opentelemetry.context
from opentelemetry.trace import SpanKind
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.worker import HandleUpdateInput, WorkflowInboundInterceptor, WorkflowInterceptorClassInput

COMPLAINT_ID = "complaint.id"

_provider: TracerProvider | None = None


def use(provider: TracerProvider | None) -> None:
    """Send this process's spans to `provider` (None: tracing off); tests use an in-memory one."""
    global _provider
    _provider = provider


def from_env(service: str) -> None:
    """Export by OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise tracing stays off."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use(provider)


class UpdatesInTheCallersTrace(TracingWorkflowInboundInterceptor):
    """The update's span, and what its handler starts, in the caller's trace."""

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        header = input.headers.get(self.header_key)
        if header is None:  # sent by a client without tracing: the workflow's trace, as Temporal does
            return await super().handle_update_handler(input)
        caller = self.text_map_propagator.extract(self.payload_converter.from_payloads([header])[0])
        token = opentelemetry.context.attach(self._set_on_context(caller))
        try:
            self._completed_span(f"HandleUpdate:{input.update}", kind=SpanKind.SERVER)
            return await WorkflowInboundInterceptor.handle_update_handler(self, input)
        finally:
            opentelemetry.context.detach(token)


class Tracing(TracingInterceptor):
    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers the span extern the workflow side calls
        return UpdatesInTheCallersTrace


def interceptors() -> list[Interceptor]:
    """The Temporal client's interceptors: the tracing one when tracing is on."""
    return [Tracing(_provider.get_tracer("complaints"))] if _provider else []


def instrument(app: FastAPI) -> None:
    """Spans for the API's requests, when tracing is on."""
    if _provider:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls="healthz,readyz,metrics",
                                           exclude_spans=["receive", "send"])  # one span per request


def mark_complaint(complaint_id: str) -> None:
    """Name the complaint on the current span (the request's), so a trace is found by its id."""
    trace.get_current_span().set_attribute(COMPLAINT_ID, complaint_id)


def trace_id() -> str | None:
    """The current trace's id as Prometheus/Tempo/Jaeger print it, or None outside a trace."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
