"""The HTTP API of contract section 5: thin routes over `complaints.desk.Desk`.

Every failure becomes a clear status (401/403 auth, 404 unknown, 409 wrong stage, 413 too
large, 422 field and reason, 503 Temporal or archive away, 202 for an action no worker has
taken yet), each declared in the route's OpenAPI `responses` with its body's model
(`complaints.api.errors`); no input yields a 500 and no answer echoes input values. `create_app()` is also
where other routers are included.
"""

# No `from __future__ import annotations`: FastAPI reads the per-action body types at runtime.

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Body,
    Depends,
    FastAPI,
    File,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from complaints.api import examples
from complaints.api.auth import CASE_READERS, READERS, ROLES, UPLOADERS, Caller, acting, parse_keys, require
from complaints.api.codec import codec_router
from complaints.api.errors import answers
from complaints.api.limits import BodyGuard
from complaints.api.reports import reports_router
from complaints.casefile import CaseDesk, attachment
from complaints.api.gauges import Scan
from complaints.api.metrics import RequestMetrics, metrics_router
from complaints.desk import (
    Desk,
    HTTP_STATUS,
    DeskError,
    Filters,
    Invalid,
    Listed,
    NotFound,
    Queued,
    Unavailable,
    archive_answers,
    desk_for,
    update_key,
)
from complaints.domain.codes import CodeTable
from complaints.domain.models import (
    ACTION_INPUTS,
    ACTION_ROLES,
    Actor,
    CaseFile,
    EvidenceRef,
    LegalHold,
    ComplaintStatus,
    DeliveryStatus,
    Escalate,
    Intake,
    NoticeState,
    OpenCase,
    OpenCases,
    Strict,
)
from complaints.domain.people import ACTING_FIELD, NotThePerson
from complaints.domain.policy import Policy
from complaints.infra import logging as logs
from complaints.infra import tracing
from complaints.infra.archive import archive_for
from complaints.infra.codec import load_keys
from complaints.infra.evidence import ACCEPTED, MAX_BYTES, Unacceptable
from complaints.infra.settings import Settings, firm_rules, people_of
from complaints.infra.temporal import codec_for, connect
from complaints.readiness import failing, readiness
from complaints.web import install as install_workbench

RECONNECT_SECONDS = 2.0
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class FiledOut(BaseModel):
    complaint_id: str
    workflow_id: str


class Accepted(BaseModel):
    complaint_id: str
    accepted: bool = True


class UpdateQueued(BaseModel):
    """An action no worker has taken yet: where to read its outcome."""

    complaint_id: str
    idempotency_key: str
    detail: str
    outcome: str


class Lead(Strict):
    lead: Actor


def person_filled(model: type[Strict], field: str) -> type[Strict]:
    """`model` as the API takes it: its acting `field` optional, filled from the key's person (a
    people file) before the whole payload is checked against `model` itself."""
    return create_model(model.__name__, __base__=model, __doc__=model.__doc__, **{field: (Actor | None, Field(
        None, description="who acts; with a key bound to a person, that person's id or left out"))})


class Health(BaseModel):
    temporal: bool
    archive: bool


def get_desk(request: Request) -> Desk:
    desk: Desk | None = request.app.state.desk
    if desk is None:
        raise Unavailable("Temporal is not reachable yet; try again shortly")
    if "complaint_id" in request.path_params:
        tracing.mark_complaint(request.path_params["complaint_id"])
    return desk


DeskDep = Annotated[Desk, Depends(get_desk)]
router = APIRouter(dependencies=[Depends(HTTPBearer(auto_error=False))], responses=answers(401, 403, 422, 503))
"""Every route here needs a key (401, 403), may refuse its input (422) and needs Temporal (503)."""


@router.post("/complaints", status_code=201, response_model=FiledOut, tags=["intake"],
             responses={200: {"model": FiledOut, "description": "already filed under this channel and external_ref"},
                        **answers(413)})
async def file(desk: DeskDep, _: Annotated[Any, Depends(require("channel"))],
               intake: Annotated[Intake, Body(openapi_examples=examples.INTAKE)]) -> JSONResponse:
    """File a complaint; the same (`channel`, `external_ref`) always returns the same complaint."""
    filed = await desk.file(intake)
    body = FiledOut(complaint_id=filed.complaint_id, workflow_id=filed.workflow_id)
    return JSONResponse(body.model_dump(), status_code=201 if filed.created else 200)


@router.get("/complaints", response_model=list[Listed], tags=["complaints"])
async def list_complaints(desk: DeskDep, who: Annotated[Caller, Depends(require(*READERS))],
                          filters: Annotated[Filters, Query()]) -> list[Listed]:
    """Complaints from Temporal visibility, filtered by stage, category, severity, channel, flags and the
    person holding them (`handler=me`: the key's own person)."""
    if filters.handler == "me":
        if who.person_id is None:
            raise Invalid([("handler", "me needs a key bound to a person of COMPLAINTS_PEOPLE_FILE")])
        filters = filters.model_copy(update={"handler": who.person_id})
    return await desk.list(filters)


@router.get("/complaints/{complaint_id}", response_model=ComplaintStatus, tags=["complaints"], responses=answers(404))
async def status(complaint_id: str, desk: DeskDep, _: Annotated[Any, Depends(require(*ROLES))]) -> ComplaintStatus:
    """The complaint's `status` query: stage, deadlines, escalations, history; no personal data."""
    return await desk.status(complaint_id)


@router.get("/complaints/{complaint_id}/case", response_model=CaseFile, tags=["case file"], responses=answers(404))
async def case(complaint_id: str, request: Request, who: Annotated[Caller, Depends(require(*CASE_READERS))]
               ) -> CaseFile:
    """The case file from the archive: text, subject, requested remedy, the complainant's contact
    details, the respondent, the evidence and the stage history. Each read is recorded (who, when, route)."""
    return await request.app.state.cases.read(complaint_id, who.name, "GET /complaints/{id}/case", who.person)


@router.post("/complaints/{complaint_id}/legal-hold", response_model=LegalHold, tags=["case file"],
             responses=answers(404, 413))
async def legal_hold(complaint_id: str, request: Request, _: Annotated[Any, Depends(require("manager"))],
                     body: LegalHold) -> LegalHold:
    """A manager puts the complaint under legal hold (`held: true`), so retention never erases it, or
    releases it."""
    return await request.app.state.cases.hold(complaint_id, body)


@router.post("/complaints/{complaint_id}/evidence", status_code=201, response_model=list[EvidenceRef],
             tags=["case file"], responses=answers(404, 413, 415, _413=f"a file over {MAX_BYTES} bytes",
                                                   _415=f"not one of: {ACCEPTED}"))
async def upload(complaint_id: str, request: Request, files: Annotated[list[UploadFile], File()],
                 who: Annotated[Caller, Depends(require(*UPLOADERS))]) -> list[EvidenceRef]:
    """Evidence files, each up to 50 MB, their type sniffed from their contents: kept sealed, by SHA-256
    (the same file twice is kept once), and listed in the case file."""
    read = [(f.filename or "unnamed", await f.read(MAX_BYTES + 1)) for f in files]
    return await request.app.state.cases.attach(complaint_id, read, who.name)


@router.get("/complaints/{complaint_id}/evidence/{sha256}", tags=["case file"], response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "the file as it was sent"},
                       **answers(404)})
async def download(complaint_id: str, sha256: str, request: Request,
                   who: Annotated[Caller, Depends(require(*CASE_READERS))]) -> Response:
    """An evidence file with its original name and type; the read is recorded like a case file's."""
    ref, data = await request.app.state.cases.download(complaint_id, sha256, who.name,
                                                       "GET /complaints/{id}/evidence/{sha256}", who.person)
    return Response(data, media_type=ref.media_type, headers={"Content-Disposition": attachment(ref.name)})


@router.post("/complaints/{complaint_id}/escalate", status_code=202, response_model=Accepted, tags=["escalation"],
             responses=answers(404, 409, 413, _409="the complaint is closed"))
async def escalate(complaint_id: str, desk: DeskDep, request: Request,
                   who: Annotated[Caller, Depends(require("manager"))],
                   body: Annotated[person_filled(Escalate, "by"),  # type: ignore[valid-type]
                                   Body(openapi_examples={"manager": {"value": examples.ESCALATE}})]) -> Accepted:
    """A manager sends the complaint to the emergency team."""
    await desk.escalate(complaint_id, acting(who, request.app.state.people, "escalate",
                                             body.model_dump(mode="json", exclude_none=True)))
    return Accepted(complaint_id=complaint_id)


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", description="the update id: sending the action again with the same key answers the "
    "first one's outcome instead of applying it twice; 1 to 64 letters, digits, `.`, `_`, `:` or `-`")]
QUEUED = {202: {"model": UpdateQueued, "description": "no worker answered in time: queued, not yet checked or "
                "applied; `outcome` is where to read it"}}


def _action_route(action: str, model: type[Strict]) -> None:
    role = ACTION_ROLES.get(action, "handler")
    body_model = person_filled(model, ACTING_FIELD.get(action, "handler"))

    async def act(complaint_id: str, desk: DeskDep, request: Request, who: Annotated[Caller, Depends(require(role))],
                  body: Annotated[body_model, Body(openapi_examples={action: {"value": examples.ACTIONS[action]}})],  # type: ignore[valid-type]
                  response: Response, idempotency_key: IdempotencyKey = None) -> ComplaintStatus:
        key = update_key(idempotency_key)
        response.headers["Idempotency-Key"] = key
        payload = acting(who, request.app.state.people, action, body.model_dump(mode="json", exclude_unset=True))
        return await desk.act(complaint_id, action, payload, key)

    act.__doc__ = (f"The {role}'s `{action}` update; 409 when the complaint's stage does not accept it. "
                   "The answer's `Idempotency-Key` header is the key it ran under (a new one if none was sent).")
    router.add_api_route(f"/complaints/{{complaint_id}}/{action}", act, methods=["POST"], name=action,
                         response_model=ComplaintStatus, tags=["handler actions"],
                         responses={**answers(404, 409, 413), **QUEUED})


for _action, _model in ACTION_INPUTS.items():
    _action_route(_action, _model)


@router.get("/complaints/{complaint_id}/updates/{idempotency_key}", response_model=ComplaintStatus,
            tags=["handler actions"], responses={**answers(404, 409, _409="the action was refused"), **QUEUED})
async def update_outcome(complaint_id: str, idempotency_key: str, desk: DeskDep,
                         _: Annotated[Any, Depends(require(*READERS))]) -> ComplaintStatus:
    """The outcome of the action sent with this `Idempotency-Key`: the status it answered, 409 its
    refusal, 202 while still queued; 404 for a key Temporal does not know (a refusal is not kept:
    send the action again with the same key to hear it)."""
    return await desk.outcome(complaint_id, idempotency_key)


@router.post("/complaints/{complaint_id}/{action}", include_in_schema=False)
async def unknown_action(complaint_id: str, action: str, _: Annotated[Any, Depends(require("handler"))]) -> None:
    """Any other action name: 404 listing the actions there are."""
    raise NotFound(f"unknown action; actions are {', '.join(ACTION_INPUTS)}")


@router.get("/emergency/cases", response_model=OpenCases, tags=["emergency team"])
async def cases(desk: DeskDep, _: Annotated[Any, Depends(require("emergency", "manager"))]) -> OpenCases:
    """Escalated complaints not yet closed, oldest escalation first."""
    return await desk.open_cases()


@router.post("/emergency/cases/{complaint_id}/acknowledge", response_model=OpenCase, tags=["emergency team"],
             responses=answers(404, 409, 413, _404="not an open emergency case",
                               _409="the emergency team refused it"))
async def acknowledge(complaint_id: str, desk: DeskDep, request: Request,
                      who: Annotated[Caller, Depends(require("emergency"))],
                      body: Annotated[person_filled(Lead, "lead"),  # type: ignore[valid-type]
                                      Body(openapi_examples={"lead": {"value": examples.ACKNOWLEDGE}})]) -> OpenCase:
    """The emergency team takes the case and names its lead (the complaint's status shows it)."""
    lead = acting(who, request.app.state.people, "acknowledge", body.model_dump(exclude_none=True)).get("lead")
    return await desk.acknowledge(complaint_id, lead)


@router.get("/outbox", response_model=list[NoticeState], tags=["notices"])
async def outbox(desk: DeskDep, _: Annotated[Any, Depends(require("auditor", "manager"))],
                 status: Annotated[DeliveryStatus | None, Query(description="only notices in this state")] = None
                 ) -> list[NoticeState]:
    """Every notice with what became of it (`pending`, `sent`, `failed`), its channel, attempts,
    last error and the provider's message id; never its text, which may name the complainant."""
    return await desk.outbox(status)


public = APIRouter()


@public.get("/healthz", response_model=Health, tags=["operations"],
            responses={503: {"model": Health, "description": "Temporal or the archive does not answer"}})
async def healthz(request: Request) -> JSONResponse:
    """200 when Temporal and the archive both answer, else 503 saying which does not."""
    desk: Desk | None = request.app.state.desk
    if desk:
        health = await desk.health()
    else:
        health = {"temporal": False, "archive": await archive_answers(request.app.state.cases.archive)}
    return JSONResponse(health, status_code=200 if all(health.values()) else 503)


class Readiness(BaseModel):
    ready: bool
    failing: list[str]
    checks: dict[str, str]


@public.get("/readyz", response_model=Readiness, tags=["operations"],
            responses={503: {"model": Readiness, "description": "a part is not ready; `failing` names it"}})
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: Temporal answers, the archive takes a write, the codec keys open the newest
    key id, a worker polled the task queue in the last minute. 503 names each failing part."""
    desk: Desk | None = request.app.state.desk
    settings: Settings = request.app.state.settings
    archive = desk.archive if desk else request.app.state.cases.archive
    checks = await readiness(desk.client if desk else None, archive, request.app.state.codec, settings)
    body = Readiness(ready=not failing(checks), failing=failing(checks), checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


# --- errors: one shape, no input values --------------------------------------------------



def _field(loc: tuple[Any, ...]) -> str:
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc
    return (".".join(str(p) for p in parts) or "body")[:120]


def _invalid(errors: list[tuple[str, str]]) -> JSONResponse:
    return JSONResponse({"detail": [{"field": f, "reason": r} for f, r in errors]}, status_code=422)


async def _request_invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)

    def explained(e: dict[str, Any]) -> tuple[str, str]:
        if e.get("type") == "json_invalid":
            return "body", "is not valid JSON"
        return _field(tuple(e.get("loc", ()))), str(e.get("msg", "is invalid")).removeprefix("Value error, ")

    return _invalid([explained(e) for e in exc.errors()])


def _queued(queued: Queued) -> JSONResponse:
    outcome = f"/complaints/{queued.complaint_id}/updates/{queued.key}"
    body = UpdateQueued(complaint_id=queued.complaint_id, idempotency_key=queued.key, detail=str(queued),
                        outcome=outcome)
    return JSONResponse(body.model_dump(), status_code=202, headers={"Location": outcome,
                                                                     "Idempotency-Key": queued.key})


async def _desk_error(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, Invalid):
        return _invalid(exc.errors)
    if isinstance(exc, Queued):
        return _queued(exc)
    return JSONResponse({"detail": str(exc)}, status_code=HTTP_STATUS.get(type(exc), 409))


async def _not_the_person(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=403)


def _documented_methods(request: Request) -> list[str]:
    """The methods the OpenAPI schema documents for the request's path (the router's own answer
    names only the first route's, and a catch-all route would add methods no client may use), and
    OPTIONS under /codec, where the codec answers the Web UI's CORS preflight."""
    paths = request.app.openapi()["paths"]
    found = {method.upper() for template, operations in paths.items()
             if re.fullmatch(re.sub(r"\{[^/]+?\}", "[^/]+", template), request.url.path) for method in operations}
    if request.url.path.startswith("/codec/"):
        found.add("OPTIONS")
    return [method for method in METHODS if method in found]


UNPARSED = "There was an error parsing the body"
"""FastAPI's 400 for a body its parsers gave up on (Starlette's for a multipart body carries the
MultiPartException it met)."""


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's answers, with a 405's `Allow` naming every method the path answers: the
    router names only those of the first route on the path (`OPTIONS /complaints` said `POST`).
    A body FastAPI's parser gave up on other than as invalid JSON (a number of more than 4,300
    digits, which Python refuses to read; a malformed multipart upload) is bad input like any
    other: 422 naming the body."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and (exc.detail == UNPARSED or isinstance(exc.__context__, MultiPartException)):
        return _invalid([("body", "holds a value that cannot be read, such as a number of over 4300 digits"
                          if isinstance(exc.__cause__, ValueError) else "is not well-formed multipart form data")])
    if exc.status_code == 405:
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(_documented_methods(request))}
    return await http_exception_handler(request, exc)


async def _unacceptable(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unacceptable)
    return JSONResponse({"detail": str(exc)}, status_code=exc.status)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logs.log.error("unhandled error", path=request.url.path, error=type(exc).__name__, exc_info=exc)
    return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)


# --- the app -----------------------------------------------------------------------------


async def _connect(app: FastAPI, settings: Settings) -> bool:
    """One try: a Temporal still starting is retried by _keep_connecting, the API answering 503 meanwhile."""
    try:
        app.state.desk = desk_for(settings, await connect(settings, wait=timedelta(0)))
        return True
    except RuntimeError:
        logs.log.warning("temporal not reachable; retrying", address=settings.temporal_address)
        return False


async def _keep_connecting(app: FastAPI, settings: Settings) -> None:
    """Retry until Temporal answers: the API may start before Temporal does (answering 503 meanwhile)."""
    while not await _connect(app, settings):
        await asyncio.sleep(RECONNECT_SECONDS)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    retrying = None if await _connect(app, settings) else asyncio.create_task(_keep_connecting(app, settings))
    scanning = asyncio.create_task(app.state.scan.every(lambda: app.state.desk))
    yield
    for task in (retrying, scanning):
        if task:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    # Swagger UI 5 (it reads OpenAPI 3.1) at /docs from the installed package's assets, never a CDN:
    # complaint desks often run offline. No /redoc: Redoc's bundle fetches its logo from the vendor's CDN.
    app = FastAPIOffline(title="complaintflow", version="0.1.0", lifespan=_lifespan, static_url="/docs-assets",
                         redoc_url=None,
                         description="Complaint intake and handling on Temporal. Send `Authorization: Bearer <key>`.")
    app.state.settings = settings
    app.state.people = people_of(settings.people_file)  # a bad people file: the API does not start
    app.state.api_keys = parse_keys(settings.api_keys, app.state.people)
    app.state.codec = codec_for(settings)  # without a configured key the API does not start
    app.state.codes = CodeTable.load(settings.codes_file)  # a bad COMPLAINTS_CODES_FILE: the API does not start
    firm_rules(settings.rules_file)  # a bad rules file stops the API at start, not at the first complaint
    app.state.cases = CaseDesk.of(settings)
    app.state.desk = None
    app.include_router(router)
    app.include_router(reports_router, dependencies=[Depends(HTTPBearer(auto_error=False))])
    app.include_router(public)
    app.include_router(codec_router)
    app.include_router(metrics_router)
    install_workbench(app, next(iter(load_keys(settings.codec_keys, settings.codec_key_file).values())))
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(DeskError, _desk_error)
    app.add_exception_handler(NotThePerson, _not_the_person)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Unacceptable, _unacceptable)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(BodyGuard)
    app.state.metrics = CollectorRegistry()
    app.state.scan = Scan(app.state.metrics, Policy.load(settings.policy_file).warning_at)
    app.add_middleware(RequestMetrics, registry=app.state.metrics)  # outermost: it sees 413s too
    tracing.instrument(app)
    return app
