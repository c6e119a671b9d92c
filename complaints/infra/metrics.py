"""The worker's metrics: the Temporal SDK's runtime metrics and the service's own counters, on
one Prometheus page (served at COMPLAINTS_METRICS_ADDRESS by complaints/infra/worker_page.py).

The counters go through Temporal's meters: `workflow.metric_meter()` records nothing while a
history replays, so a counter counts each event once however often the workflow is replayed;
`activity.metric_meter()` for what activities do. Neither creates a workflow command. Label
values are bounded vocabularies (channel, category, stage, deadline, escalation source, update
name); a complaint id, a person or a text is never a label. The SDK adds `namespace`,
`task_queue` and `workflow_type` (or `activity_type`) to each.
"""

from __future__ import annotations

from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

COUNTERS: dict[str, str] = {
    "complaints_received": "complaints received, by channel and proposed category",
    "complaints_stage_entered": "stage transitions, by the stage entered",
    "complaints_deadline_warnings": "deadline warnings rung, by deadline",
    "complaints_deadline_breaches": "deadlines breached, by deadline",
    "complaints_escalations": "escalations to the emergency team, by reason (the escalation's source)",
    "complaints_extensions": "decision deadlines extended",
    "complaints_refusals": "handlers' actions refused, by update and kind (WrongStage, BadPayload)",
    "complaints_undecryptable_inputs": "payloads no configured codec key opens",
    # counted by the delivery activity (activities/delivery.py) through `activity.metric_meter()`
    "complaints_deliveries_sent": "notices delivered, by channel",
    "complaints_deliveries_failed": "notice deliveries that failed, by channel",
}
"""Every counter of the service, name to description; Prometheus shows each with `_total`."""

UNCLASSIFIED = "unclassified"


def count(meter: MetricMeter, name: str, **labels: str) -> None:
    """Add one to the counter `name` (one of COUNTERS) with these labels."""
    meter.create_counter(name, COUNTERS[name]).add(1, labels)


def metrics_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime serving its metrics and ours on `bind_address` (host:port; the worker's
    page at COMPLAINTS_METRICS_ADDRESS relays it). One per process: it binds the port, so the
    worker's main() makes it, never a library function."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(
        bind_address=bind_address, counters_total_suffix=True, durations_as_seconds=True)))


def process_meter() -> MetricMeter:
    """The meter of the process's default runtime: a no-op unless the worker's main() made the
    Prometheus runtime the default. For counters outside any workflow or activity (the codec)."""
    return Runtime.default().metric_meter
