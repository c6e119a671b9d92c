"""Readiness: whether this process can do its work now, part by part, for `/readyz`, the
worker's metrics address and `complaints status` without an id.

Liveness (`/healthz`) only asks whether Temporal and the archive answer. Readiness asks what
an operator needs to trust the service: Temporal answers, the archive takes a write, the
codec keys this process holds open what the newest key seals (after a rotation, a process
still on the old keys cannot read new complaints), and a worker has polled the task queue in
the last minute. Each failing part is named with a reason that carries no input or secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.common.v1 import Payload
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from complaints.infra.archive import Archive
from complaints.infra.codec import CodecKeyError, EncryptionCodec
from complaints.infra.settings import Settings, unconfigured_channels
from complaints.infra.temporal import codec_for

PARTS = ("temporal", "archive", "codec", "worker")
NOTICES = "notices"
"""Reported beside the parts, never failing readiness: a channel a firm does not use is no fault,
but its notices stay pending, and an operator should see that."""
POLLED_WITHIN = timedelta(minutes=1)
PROBE_SECONDS = 5.0
OK = "ok"


async def _archive_writable(archive: Archive) -> str:
    def write() -> None:
        # a write that changes nothing, rolled back: a read-only or locked archive refuses it
        with archive.engine.connect() as db, db.begin() as transaction:
            db.execute(text("UPDATE alembic_version SET version_num = version_num WHERE 1 = 0"))
            transaction.rollback()

    await asyncio.to_thread(write)
    return OK


async def _temporal(client: Client | None) -> str:
    if client is None:
        return "not connected: Temporal did not answer at start (TEMPORAL_ADDRESS)"
    if not await client.service_client.check_health(timeout=timedelta(seconds=3)):
        return "does not answer its health check"
    return OK


def _codec_opens_newest(codec: EncryptionCodec, settings: Settings) -> str:
    """The keys configured now (re-read: a rotation may have changed the file) name the newest key
    id first; this process's codec must open what that key seals."""
    try:
        newest = codec_for(settings)
    except CodecKeyError as err:
        return f"the configured keys cannot be read: {err}"
    probe = newest.encrypt(Payload(metadata={"encoding": b"binary/plain"}, data=b"readiness"))
    if not codec.opens(probe):
        return (f"this process's keys cannot decrypt the newest key id {newest.current_key_id}; "
                "restart it with the current keys")
    return OK


async def _worker_polling(client: Client | None, task_queue: str) -> str:
    if client is None:
        return "unknown: Temporal is not connected"
    since = datetime.now(timezone.utc) - POLLED_WITHIN
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        described = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind))
        if not any(p.last_access_time.ToDatetime(timezone.utc) >= since for p in described.pollers):
            lane = "workflow" if kind == TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW else "activity"
            return f"no worker polled the {lane} tasks of task queue {task_queue!r} in the last minute"
    return OK


async def _checked(probe: Callable[[], Awaitable[str]], failure: str) -> str:
    try:
        return await asyncio.wait_for(probe(), timeout=PROBE_SECONDS)
    except TimeoutError:
        return f"{failure}: no answer within {PROBE_SECONDS:g} s"
    except Exception as err:  # noqa: BLE001 - any failure means "not ready"; the type, never the message (URLs)
        return f"{failure}: {type(err).__name__}"


async def readiness(client: Client | None, archive: Archive, codec: EncryptionCodec,
                    settings: Settings) -> dict[str, str]:
    """Each part of `PARTS` to "ok" or the reason it is not ready, checked concurrently."""

    async def codec_check() -> str:
        return _codec_opens_newest(codec, settings)

    temporal, archived, keys, polled = await asyncio.gather(
        _checked(lambda: _temporal(client), "Temporal is unreachable"),
        _checked(lambda: _archive_writable(archive), "the archive cannot be written"),
        _checked(codec_check, "the codec keys cannot be checked"),
        _checked(lambda: _worker_polling(client, settings.task_queue), "the task queue cannot be described"),
    )
    missing = unconfigured_channels(settings)
    notices = OK if not missing else f"pending: channel not configured ({', '.join(missing)})"
    return dict(zip(PARTS, (temporal, archived, keys, polled))) | {NOTICES: notices}


def failing(checks: dict[str, str]) -> list[str]:
    return [part for part, state in checks.items() if state != OK and part != NOTICES]
