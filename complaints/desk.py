"""The complaint desk: every operation the HTTP API and the `complaints` CLI offer, in one place.

Both interfaces are thin over `Desk`, so a refusal, a missing complaint or a bad field is
told the same way whichever door a user came through. Temporal's errors are translated
here into four domain errors; messages name fields and stages, never input values.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from complaints.domain.classify import FirmRules
from complaints.domain.models import (
    ACTION_INPUTS,
    Acknowledge,
    Category,
    Channel,
    ComplaintStatus,
    Escalate,
    Intake,
    NoticeState,
    OpenCase,
    OpenCases,
    Severity,
    Stage,
    complaint_id_of,
    field_errors,
    workflow_id,
)
from complaints.infra.archive import Archive, archive_for
from complaints.infra.codec import KEY_ID, KEYS_SETTING, EncryptionCodec, payloads_in
from complaints.infra.settings import Settings, firm_rules
from complaints.infra.temporal import connect
from complaints.intake import Filed, IntakeRefused, file_complaint
from workflows.complaint import ComplaintWorkflow
from workflows.emergency import EmergencyTeamWorkflow
from workflows.visibility import (
    BREACHED,
    CATEGORY,
    CHANNEL,
    CODES,
    ESCALATED,
    HANDLER,
    NEXT_DEADLINE,
    PAUSED,
    SEVERITY,
    STAGE,
)

RPC_TIMEOUT = Settings.rpc_timeout
"""How long a query or update may wait for a worker, unless configured (COMPLAINTS_RPC_TIMEOUT)."""

OUTCOME_WAIT = timedelta(seconds=2)
"""How long asking for a queued update's outcome waits before answering that it is still queued."""

ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
KEY_PATTERN = r"^[A-Za-z0-9._:\-]{1,64}$"

CASES_PER_QUERY = 200
"""Complaint ids named in one visibility query (`WorkflowId IN (...)`): stores limit a query's terms."""


# --- what can go wrong, in the desk's words ---------------------------------------------


class DeskError(Exception):
    """A request the desk cannot carry out; the message is safe to show (no input values)."""


class NotFound(DeskError):
    """No such complaint (HTTP 404)."""


class NotAllowed(DeskError):
    """The caller's role may do this, but not to this complaint (HTTP 403)."""


class Refused(DeskError):
    """The complaint's stage does not accept the action (HTTP 409)."""


class Unavailable(DeskError):
    """Temporal or the archive did not answer (HTTP 503); nothing was lost, try again."""


class Queued(DeskError):
    """No worker answered in time (HTTP 202): the update waits in Temporal under its key, is checked
    and applied when a worker returns, and its outcome is read back by the same key."""

    def __init__(self, complaint_id: str, key: str) -> None:
        super().__init__(f"queued, not yet checked or applied: no worker answered in time; its key is {key}")
        self.complaint_id, self.key = complaint_id, key


class Invalid(DeskError):
    """Bad input (HTTP 422): each (field, reason), never the offending value."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors))
        self.errors = errors

    @classmethod
    def of(cls, err: ValidationError) -> Invalid:
        return cls(field_errors(err))


HTTP_STATUS: dict[type[DeskError], int] = {Queued: 202, NotAllowed: 403, NotFound: 404, Refused: 409, Invalid: 422,
                                            Unavailable: 503}
"""Each error's HTTP status, in the API and the workbench alike."""


# --- listing -----------------------------------------------------------------------------


class Filters(BaseModel):
    """The list filters of contract section 5, checked against the vocabularies."""

    model_config = ConfigDict(extra="forbid")

    stage: Stage | None = None
    category: Category | None = None
    severity: Severity | None = None
    channel: Channel | None = None
    escalated: bool | None = None
    breached: bool | None = None
    code: str | None = Field(None, pattern=r"^[ABC]:[0-9]{1,12}$")
    """One JR/T 0169-2018 code with its axis, e.g. `B:0302` (ComplaintCodes)."""
    handler: str | None = Field(None, pattern=r"^[a-z0-9._-]+$")
    """The person id holding the complaint (ComplaintHandler); in the API `me` is the key's person."""
    limit: int = Field(100, ge=1, le=1000)

    def visibility_query(self, task_queue: str) -> str:
        """The Temporal visibility query; values are vocabulary words, so quoting is safe."""
        terms = ["WorkflowType = 'ComplaintWorkflow'", f"TaskQueue = '{task_queue}'"]
        for key, value in ((STAGE, self.stage), (CATEGORY, self.category), (SEVERITY, self.severity),
                           (CHANNEL, self.channel)):
            if value is not None:
                terms.append(f"{key.name} = '{value.value}'")
        for key, flag in ((ESCALATED, self.escalated), (BREACHED, self.breached)):
            if flag is not None:
                terms.append(f"{key.name} = {'true' if flag else 'false'}")
        for key, word in ((CODES, self.code), (HANDLER, self.handler)):
            if word is not None:  # their patterns leave nothing to quote
                terms.append(f"{key.name} = '{word}'")
        return " AND ".join(terms)

    @classmethod
    def parse(cls, values: dict[str, Any]) -> Filters:
        try:
            return cls.model_validate({k: v for k, v in values.items() if v is not None})
        except ValidationError as err:
            raise Invalid.of(err) from None


class Listed(BaseModel):
    """One row of a list: what visibility knows, no personal data."""

    complaint_id: str
    stage: str | None = None
    category: str | None = None
    severity: str | None = None
    channel: str | None = None
    escalated: bool = False
    breached: bool = False
    paused: bool = False
    next_deadline: datetime | None = None
    codes: list[str] = []
    handler: str | None = None
    """The person id holding it (set with a people file only)."""
    started_at: datetime | None = None
    running: bool = True


class Breach(BaseModel):
    """A deadline that passed unmet, from the archive: no personal data."""

    complaint_id: str
    deadline: str
    due_at: datetime
    breached_at: datetime
    stage: str
    category: str | None = None
    severity: str | None = None


class Stranded(BaseModel):
    """A complaint the archive holds open whose workflow will not close it: it ended without
    closing (`terminated`, `failed`, `timed_out`, `canceled`, `completed`, `continued_as_new`),
    is gone (`not_found`), or runs as a reset's new run (`reset`), whose records the archive
    skips as duplicates of the replaced run's."""

    complaint_id: str
    archived_stage: str
    received_at: datetime
    workflow: str
    ended_at: datetime | None = None


# --- the desk ------------------------------------------------------------------------------


@dataclass
class Desk:
    client: Client
    archive: Archive
    task_queue: str
    team_id: str
    rpc_timeout: timedelta = RPC_TIMEOUT
    rules: FirmRules = field(default_factory=FirmRules)  # a firm's own classification words

    # intake

    async def file(self, body: Intake | dict[str, Any], drill: bool = False) -> Filed:
        """File a complaint (idempotent on channel and external_ref); `drill`: an emergency drill's."""
        try:
            intake = body if isinstance(body, Intake) else Intake.model_validate(body)
        except ValidationError as err:
            raise Invalid.of(err) from None
        try:
            return await file_complaint(self.client, self.task_queue, intake, self.archive, rules=self.rules,
                                        drill=drill)
        except IntakeRefused as err:
            raise Invalid([(err.field, err.reason)]) from None
        except RPCError as err:
            raise _unavailable(err) from None
        except SQLAlchemyError:
            raise _archive_down() from None

    # one complaint

    def _handle(self, complaint_id: str) -> WorkflowHandle[Any, Any]:
        if not _is_id(complaint_id):
            raise NotFound("no such complaint")
        return self.client.get_workflow_handle(workflow_id(complaint_id))

    async def status(self, complaint_id: str) -> ComplaintStatus:
        """The `status` query; a complaint decided or closed also lists the reviews filed against it,
        so without the archive its status is 503 rather than a status that silently omits them."""
        handle = self._handle(complaint_id)
        try:
            status = await handle.query(ComplaintWorkflow.status, rpc_timeout=self.rpc_timeout)
        except RPCError as err:
            raise (_not_found(err, complaint_id) or await self._sealed(handle, complaint_id)
                   or _unavailable(err)) from None
        except WorkflowQueryFailedError as err:
            raise (await self._sealed(handle, complaint_id)
                   or Unavailable(f"complaint {complaint_id} could not answer: {err}")) from None
        if status.stage is Stage.closed or "decision" in status.met:
            try:
                status.reviews = await asyncio.to_thread(self.archive.reviews_of, complaint_id)
            except SQLAlchemyError:
                raise _archive_down("it lists the reviews of a decided or closed complaint") from None
        return status

    async def _sealed(self, handle: WorkflowHandle[Any, Any], complaint_id: str) -> Unavailable | None:
        """Why a complaint cannot answer when its history holds a payload no configured key opens:
        the worker cannot run it either, and no retry will change that until the key is added."""
        codec = self.client.data_converter.payload_codec
        if not isinstance(codec, EncryptionCodec):
            return None
        try:
            async for event in handle.fetch_history_events(rpc_timeout=self.rpc_timeout):
                kid = next((p.metadata.get(KEY_ID, b"").decode() for p in payloads_in(event) if not codec.opens(p)),
                           None)
                if kid is not None:
                    what = "input" if event.event_id == 1 else f"event {event.event_id}"
                    return Unavailable(f"complaint {complaint_id}'s {what} is sealed with key id {kid} that no "
                                       f"configured key opens ({KEYS_SETTING}); it waits until that key is added")
        except RPCError:
            return None
        return None

    async def act(self, complaint_id: str, action: str, payload: dict[str, Any], key: str | None = None
                  ) -> ComplaintStatus:
        """A handler's update: the new status, or Refused naming the stage and what it accepts.

        `key` is the Temporal update id, so an action sent again with the same key attaches to the
        first one and answers its outcome instead of being applied (or refused) a second time.
        """
        model = ACTION_INPUTS.get(action)
        if model is None:
            raise NotFound(f"unknown action {action!r}; actions are {', '.join(ACTION_INPUTS)}")
        if not isinstance(payload, dict):
            raise Invalid([("body", "must be a JSON object")])
        try:
            model.model_validate(payload)
        except ValidationError as err:
            raise Invalid.of(err) from None
        key = update_key(key)
        handle = self._handle(complaint_id)
        try:
            # Accepted, then the result, each bounded: execute_update polls without a deadline for the
            # result of an update a worker accepted but has not finished (say it was stopped meanwhile).
            update = await handle.start_update(getattr(ComplaintWorkflow, action), payload, id=key,
                                               wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                                               rpc_timeout=self.rpc_timeout)
            return await update.result(rpc_timeout=self.rpc_timeout)
        except WorkflowUpdateFailedError as err:
            raise _refusal(err) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise Queued(complaint_id, key) from None
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND and await self._closed(handle):
                raise Refused(f"{action} refused: the complaint is in stage closed, which accepts nothing") from None
            raise _not_found(err, complaint_id) or _unavailable(err) from None

    async def outcome(self, complaint_id: str, key: str) -> ComplaintStatus:
        """The outcome of the action sent under `key`: the status it answered, its refusal, or Queued.

        Temporal keeps no record of a refused update, so a refusal the caller did not wait for is
        not found here; sending the action again with the same key answers it.
        """
        handle = self._handle(complaint_id)
        if re.fullmatch(KEY_PATTERN, key) is None:
            raise NotFound("no update under this key")
        try:
            return await handle.get_update_handle(key, result_type=ComplaintStatus).result(rpc_timeout=OUTCOME_WAIT)
        except WorkflowUpdateFailedError as err:
            raise _refusal(err) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise Queued(complaint_id, key) from None
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise _unavailable(err) from None
            if await self._described(handle) is None:
                raise NotFound(f"no complaint {complaint_id}") from None
            raise NotFound(f"no update {key} on complaint {complaint_id}: none was sent under this key, or it was "
                           "refused (Temporal keeps no refusal); send the action again with this key to see its "
                           "outcome") from None

    async def escalate(self, complaint_id: str, payload: dict[str, Any]) -> None:
        """A manager's escalation to the emergency team (the `escalate` signal)."""
        try:
            escalation = Escalate.model_validate(payload)
        except ValidationError as err:
            raise Invalid.of(err) from None
        handle = self._handle(complaint_id)
        try:
            await handle.signal(ComplaintWorkflow.escalate, escalation.model_dump(mode="json"),
                                rpc_timeout=self.rpc_timeout)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND and await self._closed(handle):
                raise Refused("escalate refused: the complaint is closed") from None
            raise _not_found(err, complaint_id) or _unavailable(err) from None

    async def _closed(self, handle: WorkflowHandle[Any, Any]) -> bool:
        described = await self._described(handle)
        return described is not None and described.status != WorkflowExecutionStatus.RUNNING

    async def _described(self, handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionDescription | None:
        try:
            return await handle.describe(rpc_timeout=self.rpc_timeout)
        except RPCError:
            return None

    # many complaints

    async def list(self, filters: Filters) -> list[Listed]:
        """Complaints from Temporal visibility, newest first."""
        rows = []
        try:
            async for wf in self.client.list_workflows(filters.visibility_query(self.task_queue),
                                                       limit=filters.limit, rpc_timeout=self.rpc_timeout):
                sa = wf.typed_search_attributes
                rows.append(Listed(
                    complaint_id=complaint_id_of(wf.id), stage=sa.get(STAGE), category=sa.get(CATEGORY),
                    severity=sa.get(SEVERITY), channel=sa.get(CHANNEL), escalated=bool(sa.get(ESCALATED)),
                    breached=bool(sa.get(BREACHED)), paused=bool(sa.get(PAUSED)), next_deadline=sa.get(NEXT_DEADLINE),
                    codes=list(sa.get(CODES) or []), handler=sa.get(HANDLER), started_at=wf.start_time,
                    running=wf.status == WorkflowExecutionStatus.RUNNING,
                ))
        except RPCError as err:
            raise _unavailable(err) from None
        return rows

    async def breaches_since(self, moment: datetime) -> list[Breach]:
        """Deadlines breached since `moment`, latest first (a manager's day of breaches)."""
        try:
            rows = await asyncio.to_thread(self.archive.breaches_since, moment)
        except SQLAlchemyError:
            raise _archive_down() from None
        return [Breach(deadline=row.pop("name"), **row) for row in rows]

    async def reconcile(self) -> list[Stranded]:
        """Every archived-open complaint whose workflow no longer runs as the one that archived it."""
        try:
            archived = await asyncio.to_thread(self.archive.open_complaints)
        except SQLAlchemyError:
            raise _archive_down() from None
        gate = asyncio.Semaphore(16)

        async def check(complaint_id: str) -> tuple[str | None, datetime | None]:
            async with gate:
                return await self._workflow_state(complaint_id)

        states = await asyncio.gather(*(check(row["complaint_id"]) for row in archived))
        return [Stranded(complaint_id=row["complaint_id"], archived_stage=row["stage"], received_at=row["received_at"],
                         workflow=state, ended_at=ended)
                for row, (state, ended) in zip(archived, states, strict=True) if state]

    async def _workflow_state(self, complaint_id: str) -> tuple[str | None, datetime | None]:
        """(state, ended at) of a complaint's workflow; no state while its first run is running."""
        request = DescribeWorkflowExecutionRequest(namespace=self.client.namespace,
                                                   execution=WorkflowExecution(workflow_id=workflow_id(complaint_id)))
        try:  # the raw answer: the status and run ids are all it needs, no search attributes to decode
            described = await self.client.workflow_service.describe_workflow_execution(request,
                                                                                         timeout=self.rpc_timeout)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return "not_found", None
            raise _unavailable(err) from None
        info = described.workflow_execution_info
        status = WorkflowExecutionStatus(info.status)
        if status is WorkflowExecutionStatus.RUNNING:  # a complaint's workflow has one run unless reset
            return ("reset" if info.first_run_id not in ("", info.execution.run_id) else None), None
        return status.name.lower(), info.close_time.ToDatetime(tzinfo=timezone.utc)

    # the emergency team

    async def open_cases(self, current_stages: bool = True) -> OpenCases:
        """The emergency team's open escalated cases (none before the first escalation), each with its
        complaint's stage now unless `current_stages` is off (the stage the team was told)."""
        handle = self.client.get_workflow_handle(self.team_id)
        try:
            found = await handle.query(EmergencyTeamWorkflow.open_cases, rpc_timeout=self.rpc_timeout)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return OpenCases(cases=[])
            raise _unavailable(err) from None
        if current_stages:
            await self._current_stages(found.cases)
        return found

    async def _current_stages(self, cases: list[OpenCase]) -> None:
        """Give each case its complaint's stage from visibility: the team is told the stage only
        when a complaint is escalated, and the complaint moves on while the team works on it."""
        ids = [workflow_id(c.complaint_id) for c in cases if _is_id(c.complaint_id)]
        now: dict[str, Stage] = {}
        for start in range(0, len(ids), CASES_PER_QUERY):
            wanted = ", ".join(f"'{wid}'" for wid in ids[start:start + CASES_PER_QUERY])
            query = f"TaskQueue = '{self.task_queue}' AND WorkflowId IN ({wanted})"
            try:
                async for wf in self.client.list_workflows(query, rpc_timeout=self.rpc_timeout):  # newest first
                    stage = wf.typed_search_attributes.get(STAGE)
                    if stage and wf.id not in now:
                        now[wf.id] = Stage(stage)
            except RPCError as err:
                raise _unavailable(err) from None
        for case in cases:
            case.stage = now.get(workflow_id(case.complaint_id), case.stage)

    async def acknowledge(self, complaint_id: str, lead: Any) -> OpenCase:
        """The emergency team takes a case and names its lead."""
        try:
            ack = Acknowledge.model_validate({"complaint_id": complaint_id, "lead": lead})
        except ValidationError as err:
            bad = Invalid.of(err)
            if any(field == "complaint_id" for field, _ in bad.errors):
                raise NotFound(f"complaint {complaint_id} is not an open emergency case") from None
            raise bad from None
        handle = self.client.get_workflow_handle(self.team_id)
        try:
            return await handle.execute_update(EmergencyTeamWorkflow.acknowledge, ack.model_dump(mode="json"),
                                               rpc_timeout=self.rpc_timeout)
        except WorkflowUpdateFailedError as err:
            raise _refusal(err) from None
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise Unavailable("the emergency team did not answer in time; try again") from None
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise NotFound(f"complaint {complaint_id} is not an open emergency case") from None
            raise _unavailable(err) from None

    # health

    async def outbox(self, status: str | None = None, complaints: list[str] | None = None) -> list[NoticeState]:
        """The archive's notices and what became of each, oldest first; only `status` ones, or only
        those of `complaints`, if given."""
        return await notices_of(self.archive, status, complaints)

    async def health(self) -> dict[str, bool]:
        """Whether Temporal and the archive answer right now."""

        async def temporal() -> bool:
            return await self.client.service_client.check_health(timeout=timedelta(seconds=3))

        return {"temporal": await _answers(temporal), "archive": await archive_answers(self.archive)}


async def notices_of(archive: Archive, status: str | None = None, complaints: list[str] | None = None
                     ) -> list[NoticeState]:
    """The outbox needs only the archive: the CLI reads it without reaching Temporal."""
    try:
        rows = await asyncio.to_thread(archive.deliveries, status, complaints)
    except SQLAlchemyError:
        raise _archive_down() from None
    return [NoticeState.model_validate(row) for row in rows]


async def archive_answers(archive: Archive) -> bool:
    def ping() -> bool:
        with archive.engine.connect() as db:
            db.execute(text("SELECT 1"))
        return True

    return await _answers(lambda: asyncio.to_thread(ping))


async def _answers(probe: Callable[[], Any]) -> bool:
    try:
        return bool(await asyncio.wait_for(probe(), timeout=5))
    except Exception:  # noqa: BLE001 - any failure means "does not answer"
        return False


def _is_id(complaint_id: str) -> bool:
    return re.fullmatch(ID_PATTERN, complaint_id) is not None


def update_key(key: str | None) -> str:
    """The update id of an action: the caller's Idempotency-Key, or a fresh one when it sent none."""
    if key is None:
        return uuid.uuid4().hex
    if re.fullmatch(KEY_PATTERN, key) is None:
        raise Invalid([("Idempotency-Key", "must be 1 to 64 letters, digits, '.', '_', ':' or '-'")])
    return key


def _refusal(err: WorkflowUpdateFailedError) -> DeskError:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        if cause.type == "BadPayload":
            return Invalid([("body", cause.message)])
        if cause.type == "NotFound":
            return NotFound(cause.message)
        return Refused(cause.message)
    return Refused(str(cause or err))


def _not_found(err: RPCError, complaint_id: str) -> NotFound | None:
    return NotFound(f"no complaint {complaint_id}") if err.status == RPCStatusCode.NOT_FOUND else None


def _archive_down(why: str = "") -> Unavailable:
    return Unavailable(f"the archive did not answer{f' ({why})' if why else ''}; try again")


def _unavailable(err: RPCError) -> Unavailable:
    if err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return Unavailable("no worker answered in time (is a worker running on the task queue?); try again")
    return Unavailable(f"Temporal did not answer ({err.status.name if err.status else 'error'}); try again")


# --- wiring ---------------------------------------------------------------------------------


@asynccontextmanager
async def open_desk(settings: Settings) -> AsyncIterator[Desk]:
    """A desk on a fresh Temporal client and the configured archive (for the CLI and starter)."""
    try:
        client = await connect(settings)
    except RuntimeError:
        raise Unavailable(f"cannot reach Temporal at {settings.temporal_address} (TEMPORAL_ADDRESS)") from None
    yield desk_for(settings, client)


def desk_for(settings: Settings, client: Client) -> Desk:
    return Desk(client, archive_for(settings), settings.task_queue, settings.emergency_team_id,
                settings.rpc_timeout, firm_rules(settings.rules_file))

