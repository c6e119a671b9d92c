"""The API's Prometheus page, `GET /metrics`: requests by route template and status, and their
latency, from prometheus-client on a registry of the app's own (two apps in one process, as in
the tests, never share counts).

The route label is the template (`/complaints/{complaint_id}/assess`), never the path, so no
complaint id is ever a label; a request no route matches counts under `unmatched`. The page
holds no personal data and needs no key.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
"""Seconds; up to the RPC timeout (20 s) and past it, where an update answers 202."""


class RequestMetrics:
    """ASGI middleware counting each HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter("complaints_api_requests", "HTTP requests, by method, route template and status",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("complaints_api_request_duration_seconds", "HTTP request latency, by method "
                                 "and route template", ["method", "route"], buckets=LATENCY_BUCKETS, registry=registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500  # what the client sees when the app raises before answering

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.latency.labels(scope["method"], route).observe(time.perf_counter() - started)


metrics_router = APIRouter()


@metrics_router.get("/metrics", tags=["operations"], response_class=Response,
                    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this API process; no personal data, no key needed."""
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
