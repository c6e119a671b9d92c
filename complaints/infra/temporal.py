"""The one way every process (worker, API, starter, CLI) reaches Temporal.

Same data converter everywhere: pydantic JSON, public values tagged, everything else
encrypted by the codec, failure messages too (refusals excepted), so no process can write
a plain payload by accident.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from datetime import timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
)
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey
from temporalio.converter import DataConverter, SerializationContext
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from complaints.domain.policy import Policy

from . import tracing
from .codec import EncryptionCodec, PublicAwarePayloadConverter, SealedFailureConverter, load_keys
from .settings import Settings


def codec_for(settings: Settings) -> EncryptionCodec:
    """The codec on the configured keys; CodecKeyError, naming the setting, when there are none."""
    return EncryptionCodec(load_keys(settings.codec_keys, settings.codec_key_file))


BOUND_WORKFLOWS = 4096  # about one worker's open complaints in cache, a few hundred bytes each


@dataclasses.dataclass(frozen=True)
class SealingDataConverter(DataConverter):
    """The data converter, bound to a workflow once rather than for every payload.

    The worker asks for a converter bound to the serialization context of every payload it
    visits (222 times for a complaint driven to closed); the SDK answers with a fresh clone, new
    payload converter and all, whenever a part takes the context. Here only the codec does, and
    only the workflow id (a refusal names the complaint), so one clone a workflow serves them
    all: 0.1 us an ask instead of 17 (`bench/worker_costs.py`)."""

    _bound: dict[str | None, DataConverter] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False)

    def with_context(self, context: SerializationContext) -> DataConverter:
        workflow_id = getattr(context, "workflow_id", None)
        bound = self._bound.get(workflow_id)
        if bound is None:
            if len(self._bound) >= BOUND_WORKFLOWS:
                self._bound.clear()
            bound = self._bound[workflow_id] = super().with_context(context)
        return bound


def data_converter(settings: Settings) -> DataConverter:
    return SealingDataConverter(
        payload_converter_class=PublicAwarePayloadConverter,
        failure_converter_class=SealedFailureConverter,
        payload_codec=codec_for(settings),
    )


STARTING = "not healthy yet"  # what a frontend answers between opening its port and serving
STARTUP_WAIT = timedelta(seconds=30)


async def connect(settings: Settings, runtime: Runtime | None = None, wait: timedelta = STARTUP_WAIT) -> Client:
    """A client on the configured Temporal; `runtime` (default: the process's) carries its metrics.
    A server still starting (its port open, its frontend not yet serving) is waited for, up to
    `wait`; any other failure to connect is raised at once."""
    options = settings.connect_options() | {"data_converter": data_converter(settings), "runtime": runtime,
                                            "interceptors": tracing.interceptors()}
    deadline = asyncio.get_running_loop().time() + wait.total_seconds()
    while True:
        try:
            return await Client.connect(**options)
        except RuntimeError as err:
            if STARTING not in str(err) or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


_INDEXED = {
    SearchAttributeIndexedValueType.KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    SearchAttributeIndexedValueType.BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    SearchAttributeIndexedValueType.DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    SearchAttributeIndexedValueType.KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


async def register_search_attributes(client: Client, keys: Iterable[SearchAttributeKey]) -> list[str]:
    """Register the keys the namespace lacks; returns the names it added (idempotent)."""
    try:
        known = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(known.custom_attributes) | set(known.system_attributes)
    except RPCError as err:  # the time-skipping test server can add but not list
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()
    missing = {k.name: _INDEXED[k.indexed_value_type] for k in keys if k.name not in existing}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)


RETENTION_SCHEDULE = "complaints-retention"
RETENTION_EVERY = timedelta(days=1)
PREVENTION_SCHEDULE = "complaints-prevention"


async def ensure_schedule(client: Client, name: str, workflow: str, task_queue: str, every: timedelta) -> bool:
    """The schedule `name` running `workflow` every `every`; whether it was created now (False:
    it exists already and is left as an operator may have changed it)."""
    try:
        await client.create_schedule(name, Schedule(
            action=ScheduleActionStartWorkflow(workflow, id=name, task_queue=task_queue),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)])))
    except ScheduleAlreadyRunningError:
        return False
    return True


async def ensure_schedules(client: Client, task_queue: str, policy: Policy) -> dict[str, bool]:
    """The daily `complaints-retention` schedule and `complaints-prevention` (every
    `prevention_every`); for each, whether it was created now."""
    return {RETENTION_SCHEDULE: await ensure_schedule(client, RETENTION_SCHEDULE, "RetentionWorkflow", task_queue,
                                                      RETENTION_EVERY),
            PREVENTION_SCHEDULE: await ensure_schedule(client, PREVENTION_SCHEDULE, "PreventionWorkflow", task_queue,
                                                       policy.prevention_every)}
