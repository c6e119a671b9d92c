"""The Prometheus pages: the worker's (Temporal's runtime metrics and the service's own counters)
and the API's (requests by route and status), with the right values after a complaint is
filed, assessed, refused and escalated, and no complaint id or personal value in any label."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from temporalio.client import Client
from temporalio.runtime import Runtime

from complaints.desk import Refused, desk_for
from complaints.infra.metrics import metrics_runtime
from complaints.infra.schema import complaints, deadlines
from complaints.infra.settings import Settings
from complaints.infra.temporal import connect
from complaints.infra.worker_page import open_page
from tests.devserver import free_port
from tests.test_monitoring import referenced
from tests.integration.apihelp import api_settings, app, auth, eventually, http, intake  # noqa: F401

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="session")
def metrics_page() -> Iterator[tuple[Runtime, str]]:
    """One Prometheus runtime for the test process (it binds its port for good); each test's
    series are told apart by their task_queue label."""
    address = f"127.0.0.1:{free_port()}"
    yield metrics_runtime(address), f"http://{address}/metrics"


@pytest.fixture
async def measured(metrics_page, dev_settings: Settings) -> AsyncIterator[Client]:
    yield await connect(dev_settings, runtime=metrics_page[0])


async def scrape(url: str) -> Samples:
    def read() -> str:
        with urllib.request.urlopen(url, timeout=5) as page:
            return page.read().decode()

    return parsed(await asyncio.to_thread(read))


def parsed(text: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def label_values(samples: Samples) -> set[str]:
    return {value for _, got in samples for _, value in got}


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(value for (n, got), value in samples.items() if n == name and set(labels.items()) <= got)


async def test_the_worker_page_counts_what_happened_to_a_complaint(
        measured: Client, metrics_page, api_settings: Settings, task_queue: str, policy, calendar, archive,
        team_id: str) -> None:
    from worker import new_worker

    desk = desk_for(api_settings, measured)
    body = intake("METRICS-1", channel="phone")
    async with new_worker(measured, task_queue, policy, calendar, archive, team_id):
        cid = (await desk.file(body)).complaint_id
        await eventually(lambda: desk.status(cid), lambda s: s.stage.value == "assessment")
        with pytest.raises(Refused):
            await desk.act(cid, "summarize", {"handler": "h.li", "root_cause": "r", "improvements": ["i"]})
        await desk.act(cid, "assess", {"handler": "h.li", "category": "service.fees", "severity": "normal"})
        await desk.escalate(cid, {"reason": "press enquiry", "by": "m.chen"})
        await eventually(lambda: desk.status(cid), lambda s: s.escalated)
        samples = await eventually(lambda: scrape(metrics_page[1]),
                                   lambda s: total(s, "complaints_escalations_total", task_queue=task_queue) == 1)

    ours = {"task_queue": task_queue}
    assert total(samples, "complaints_received_total", channel="phone", **ours) == 1
    assert total(samples, "complaints_stage_entered_total", stage="assessment", **ours) == 1
    assert total(samples, "complaints_stage_entered_total", stage="investigation", **ours) == 1
    assert total(samples, "complaints_refusals_total", update="summarize", kind="WrongStage", **ours) == 1
    assert total(samples, "complaints_escalations_total", reason="manager", **ours) == 1
    assert total(samples, "complaints_deadline_breaches_total", **ours) == 0
    # the SDK's own: workflow tasks polled and answered, with their schedule-to-start latency
    assert total(samples, "temporal_workflow_task_schedule_to_start_latency_count", **ours) >= 3
    on_page = {re.sub(r"_(bucket|count|sum)$", "", name) for name, _ in samples}
    assert referenced("temporal_") <= on_page  # what the alert rules and the dashboard read, as the SDK names it
    assert total(samples, "temporal_num_pollers", poller_type="workflow_task", **ours) >= 1

    personal = {cid, f"complaint-{cid}", body["content"], body["subject"], *body["complainant"].values(),
                "press enquiry", "m.chen", "h.li"}
    assert not label_values(samples) & personal


async def test_the_api_page_counts_requests_by_route_template_and_status(http: httpx.AsyncClient) -> None:
    body = intake("METRICS-API")
    cid = (await http.post("/complaints", json=body, headers=auth("channel"))).json()["complaint_id"]
    assessed = await http.post(f"/complaints/{cid}/assess", headers=auth("handler"),
                               json={"handler": "h.li", "category": "service.fees", "severity": "normal"})
    assert assessed.status_code == 200
    assert (await http.get("/complaints/CFFFFFFFFFFFFFFF", headers=auth("auditor"))).status_code == 404
    assert (await http.get(f"/no-such-page/{cid}")).status_code == 404
    page = await http.get("/metrics")  # no key
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    samples = parsed(page.text)

    def requests(method: str, route: str, status: int) -> float:
        return total(samples, "complaints_api_requests_total", method=method, route=route, status=str(status))

    assert requests("POST", "/complaints", 201) == 1
    assert requests("POST", "/complaints/{complaint_id}/assess", 200) == 1
    assert requests("GET", "/complaints/{complaint_id}", 404) == 1
    assert requests("GET", "unmatched", 404) == 1
    assert total(samples, "complaints_api_request_duration_seconds_count", method="POST",
                 route="/complaints/{complaint_id}/assess") == 1
    personal = {cid, f"/complaints/{cid}", body["content"], body["subject"], *body["complainant"].values(), "h.li"}
    assert not label_values(samples) & personal




async def test_the_scanned_gauges_come_from_the_last_scan_not_from_each_scrape(app, http: httpx.AsyncClient) -> None:
    cid = (await http.post("/complaints", json=intake("METRICS-SCAN"), headers=auth("channel"))).json()["complaint_id"]
    await http.post(f"/complaints/{cid}/escalate", json={"reason": "press enquiry", "by": "m.chen"},
                    headers=auth("manager"))
    await eventually(lambda: http.get("/emergency/cases", headers=auth("emergency")),
                     lambda r: len(r.json()["cases"]) == 1)
    await eventually(lambda: http.get("/complaints?stage=assessment", headers=auth("handler")),
                     lambda r: len(r.json()) == 1)
    await app.state.scan.run_once(app.state.desk)
    first, again = parsed((await http.get("/metrics")).text), parsed((await http.get("/metrics")).text)

    assert total(first, "complaints_open", stage="assessment") == 1
    assert total(first, "complaints_open", stage="investigation") == 0
    assert total(first, "complaints_emergency_open") == 1 and total(first, "complaints_emergency_unacknowledged") == 1
    assert total(first, "complaints_emergency_unacknowledged_oldest_seconds") > 0
    assert total(first, "complaints_outbox", status="pending") + total(first, "complaints_outbox", status="sent") >= 1
    scanned = total(first, "complaints_scan_timestamp_seconds")
    assert scanned > 0 and total(again, "complaints_scan_timestamp_seconds") == scanned  # a scrape scans nothing
    assert cid not in label_values(first)
    assert total(first, "complaints_deadlines_in_warning") == 0  # days from its warnings

    now = datetime.now(timezone.utc)  # received a day ago, assessment due in an hour: past 80% of its window
    with app.state.desk.archive.engine.begin() as db:
        db.execute(update(complaints).where(complaints.c.complaint_id == cid).values(received_at=now - timedelta(days=1)))
        moved = db.execute(update(deadlines).where(deadlines.c.complaint_id == cid, deadlines.c.name == "assessment")
                           .values(due_at=now + timedelta(hours=1))).rowcount
    assert moved == 1
    await app.state.scan.run_once(app.state.desk)
    warned = parsed((await http.get("/metrics")).text)
    assert total(warned, "complaints_deadlines_in_warning", deadline="assessment") == 1
    assert total(warned, "complaints_deadlines_in_warning") == 1


async def test_the_worker_page_serves_the_runtimes_metrics_and_the_readiness_checks(metrics_page) -> None:
    runtime_address = metrics_page[1].removeprefix("http://").removesuffix("/metrics")
    checks = {"temporal": "ok", "archive": "the archive cannot be written: OperationalError", "codec": "ok",
              "worker": "ok"}

    async def probe() -> dict[str, str]:
        return checks

    address = f"127.0.0.1:{free_port()}"
    page = await open_page(address, runtime_address, probe)
    try:
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            metrics, down, elsewhere = await client.get("/metrics"), await client.get("/readyz"), await client.get("/")
            checks["archive"] = "ok"
            up = await client.get("/readyz")
    finally:
        page.close()
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")  # the runtime's text
    assert down.status_code == 503 and down.json() == {"ready": False, "failing": ["archive"], "checks": {
        **checks, "archive": "the archive cannot be written: OperationalError"}}
    assert up.status_code == 200 and up.json()["ready"] is True
    assert elsewhere.status_code == 404
