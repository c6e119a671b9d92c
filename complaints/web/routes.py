"""The workbench's pages: server-rendered HTML over the same desk the API calls.

Every page needs a signed-in session (else it sends the browser to sign in); every POST carries
the session's CSRF token (else 403). Roles allow what the API allows them: handlers act,
managers escalate and approve extensions, the emergency team acknowledges, auditors only read.
A refusal, a bad field or an outage comes back as the page with the reason in words, in an
element with `role="alert"`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from complaints.api.auth import CASE_READERS, READERS, UPLOADERS, Caller, acting, identify
from complaints.casefile import CaseDesk, attachment
from complaints.desk import HTTP_STATUS, Desk, DeskError, Filters, Invalid, Listed, NotAllowed, Unavailable
from complaints.domain.models import (ACTION_INPUTS, ACTION_ROLES, Acknowledge, Category, ComplaintStatus, Escalate,
                                     Severity, Stage)
from complaints.domain.access import in_queue
from complaints.domain.people import ACTING_FIELD, NotThePerson, People
from complaints.domain.policy import warning_moment
from complaints.infra.evidence import MAX_BYTES, Unacceptable
from complaints.web import forms
from complaints.web.session import CSRF_FIELD, Session, Sessions, checked, fingerprint, holder
from complaints.web.text import LANG_COOKIE, lang_of, words

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/desk", include_in_schema=False)

LOCAL = ZoneInfo("Asia/Shanghai")
QUEUE_SIZE = 500
"""Complaints a queue reads from visibility (newest first) before sorting them by deadline."""
ACTORS = {**{action: (role,) for action, role in ACTION_ROLES.items()}, "extend": ("handler", "manager")}
"""Who takes each action (handlers, where not named), as in the API; in the workbench a manager also
sends `extend`, approving it themself."""
STATUS_OF: dict[type[Exception], int] = {**HTTP_STATUS, NotThePerson: 403}


def _status(err: Exception) -> int:
    return STATUS_OF.get(type(err), 409)


class SignInFirst(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class Forbidden(Exception):
    """A signed-in role that may not do this, or a form without the session's token (403)."""


@dataclass
class Visit:
    """One request's session, caller and words."""

    request: Request
    session: Session
    who: Caller
    lang: str

    def page(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, self.session, self.lang, status_code, who=self.who, **context)

    def acting(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as the API would take it from this caller (checked against their person)."""
        return acting(self.who, self.request.app.state.people, action, payload)

    def may(self, *roles: str) -> None:
        if self.who.role not in roles:
            raise Forbidden(f"role {self.who.role} may not do this; needs {' or '.join(roles)}")


def render(request: Request, template: str, session: Session, lang: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    answer = templates.TemplateResponse(request, template, {"t": words(lang), "lang": lang, "csrf": session.csrf,
                                                            "csrf_field": CSRF_FIELD, "local": _local, **context},
                                        status_code=status_code)
    if request.query_params.get("lang") == lang:
        answer.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/desk", samesite="strict")
    return answer


def _local(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _sessions(request: Request) -> Sessions:
    return request.app.state.sessions


def visit(request: Request) -> Visit:
    """The signed-in visit, or SignInFirst."""
    session = _sessions(request).read(request)
    who = holder(request.app.state.api_keys, session.key) if session and session.key else None
    if session is None or who is None:
        raise SignInFirst
    return Visit(request, session, who, lang_of(request))


async def tokened(request: Request) -> tuple[Session, FormData]:
    """A POST's form and session, the form's CSRF token checked (403) before anything else is looked at."""
    form = await request.form(max_part_size=1024 * 1024)
    session = _sessions(request).read(request)
    if session is None or not checked(session, form):
        raise Forbidden("the form's CSRF token is missing or does not match this session; reload the page")
    return session, form


async def posted(request: Request) -> tuple[Visit, FormData]:
    """A signed-in visit's POST, its CSRF token checked."""
    _, form = await tokened(request)
    return visit(request), form


def _desk(request: Request) -> Desk:
    desk: Desk | None = request.app.state.desk
    if desk is None:
        raise Unavailable("Temporal is not reachable yet; try again shortly")
    return desk


def _cases(request: Request) -> CaseDesk:
    return request.app.state.cases


def _back_to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# --- signing in and out ------------------------------------------------------------------------


@router.get("/signin")
async def signin_page(request: Request) -> HTMLResponse:
    session = _sessions(request).read(request) or Sessions.fresh()
    answer = render(request, "signin.html", session, lang_of(request))
    _sessions(request).write(request, answer, session)
    return answer


@router.post("/signin")
async def signin(request: Request) -> Response:
    session, form = await tokened(request)
    key = form.get("key")
    if not isinstance(key, str) or identify(request.app.state.api_keys, key.strip()) is None:
        lang = lang_of(request)
        return render(request, "signin.html", session, lang, 401, alert=words(lang)("unknown_key"))
    answer = _back_to("/desk")
    _sessions(request).write(request, answer, Sessions.fresh(fingerprint(key.strip())))
    return answer


@router.post("/signout")
async def signout(request: Request) -> Response:
    await posted(request)
    answer = _back_to("/desk/signin")
    _sessions(request).write(request, answer, Sessions.fresh())
    return answer


# --- the queue ---------------------------------------------------------------------------------


@dataclass
class Row:
    listed: Listed
    urgency: str  # ok, warning, breach


def _urgency(row: Listed, now: datetime, warning_at: float) -> str:
    due = row.next_deadline
    if row.breached or (due is not None and due <= now):
        return "breach"
    if due is not None and row.started_at is not None and warning_moment(row.started_at, due, warning_at) <= now:
        return "warning"
    return "ok"


async def _queue(here: Visit) -> tuple[list[Row], dict[str, str]]:
    """Open complaints by their next deadline: the caller's own and their team's, or with `scope=all`
    every open one (a handler sees other teams' rows, not their case files)."""
    request = here.request
    chosen = {name: request.query_params.get(name) or None for name in ("stage", "severity", "category", "scope")}
    filters = {name: value for name, value in chosen.items() if name != "scope"}
    listed = await _desk(request).list(Filters.parse({**filters, "limit": QUEUE_SIZE}))
    now, warning_at = datetime.now(timezone.utc), request.app.state.scan.warning_at
    everyone = chosen["scope"] == "all"
    open_rows = [row for row in listed if row.running and row.stage != Stage.closed.value and (
        everyone or in_queue(here.who.person, request.app.state.people, row.category, row.handler))]
    open_rows.sort(key=lambda row: (row.next_deadline is None, row.next_deadline or now))
    return [Row(row, _urgency(row, now, warning_at)) for row in open_rows], {k: v or "" for k, v in chosen.items()}


@router.get("")
async def queue_page(request: Request) -> HTMLResponse:
    here = visit(request)
    here.may(*READERS)
    try:
        rows, chosen = await _queue(here)
    except DeskError as err:
        return here.page("queue.html", _status(err), rows=[], chosen={}, alert=str(err), vocab=_vocab())
    return here.page("queue.html", rows=rows, chosen=chosen, query=request.url.query, vocab=_vocab())


@router.get("/queue/rows")
async def queue_rows(request: Request) -> HTMLResponse:
    """The queue's rows alone, which the page polls (htmx) to stay current."""
    here = visit(request)
    here.may(*READERS)
    rows, chosen = await _queue(here)
    return here.page("queue_rows.html", rows=rows, chosen=chosen, query=request.url.query)


def _vocab() -> dict[str, list[str]]:
    return {"stage": [s.value for s in Stage if s is not Stage.closed], "severity": [s.value for s in Severity],
            "category": [c.value for c in Category]}


# --- one complaint -----------------------------------------------------------------------------


def _deadline_rows(status: ComplaintStatus) -> list[tuple[str, datetime, list[str]]]:
    """Each deadline, its due time and the words for its state: met, breached or open, and for the
    regulator's clock paused and extended."""
    rows = []
    for name, due in status.deadlines.items():
        state = [w for w, on in (("met", name in status.met), ("breached", name in status.breaches)) if on] or ["open"]
        if name == "decision":
            state += [w for w, on in (("paused", status.paused), ("extended", bool(status.extensions))) if on]
        rows.append((name, due, state))
    return rows


def _timeline(status: ComplaintStatus) -> list[tuple[datetime, str, str, str]]:
    """Stages entered, escalations, extensions and pauses, in the order they happened: (when, what,
    its detail, who)."""
    events = [(h.entered_at, "entered", f"stage.{h.stage.value}", h.actor) for h in status.history]
    events += [(e.at, "escalation", e.source.value, e.by) for e in status.escalations]
    events += [(x.at, "extension", f"+{x.days}d", x.approver) for x in status.extensions]
    for p in status.pauses:
        events.append((p.started_at, "pause", "", p.by))
        if p.resumed_at:
            events.append((p.resumed_at, "resumed", "", ""))
    return sorted(events, key=lambda e: e[0])


def _actions(here: Visit, status: ComplaintStatus) -> list[tuple[str, list[forms.Input], dict[str, str]]]:
    """A form for each action the stage accepts now that the caller's role may take, with what it
    proposes: the caller in the acting field, the proposed classification, a manager as approver."""
    me, manager = here.who.name, here.who.role == "manager"
    proposed = {name: getattr(status, name) for name in ("category", "severity", "product")}
    usual = {"approver": me if manager else "", "approver_role": "manager" if manager else "",
             **{name: value.value for name, value in proposed.items() if value is not None}}
    return [(action, forms.inputs(ACTION_INPUTS[action]), {**usual, ACTING_FIELD.get(action, "handler"): me})
            for action in status.accepts if here.who.role in ACTORS.get(action, ("handler",))]


async def _complaint_page(here: Visit, complaint_id: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    try:
        status = await _desk(here.request).status(complaint_id)
    except DeskError as err:
        return here.page("problem.html", _status(err), alert=str(err))
    case, withheld = None, False
    if here.who.role in CASE_READERS:
        try:
            case = await _cases(here.request).read(complaint_id, here.who.name, "GET /desk/complaints/{id}",
                                                   here.who.person)
        except NotAllowed:
            withheld = True
        except DeskError as err:  # the archive away: the status still shows, the reason above it
            context.setdefault("alert", str(err))
    people: People | None = here.request.app.state.people
    return here.page("complaint.html", status_code, status=status, case=case, deadlines=_deadline_rows(status),
                     timeline=_timeline(status), actions=_actions(here, status),
                     handlers=[p.id for p in people.people.values() if p.role == "handler"] if people else [],
                     withheld=withheld, uploads=here.who.role in UPLOADERS and not withheld, **context)


@router.get("/complaints/{complaint_id}")
async def complaint_page(complaint_id: str, request: Request) -> HTMLResponse:
    here = visit(request)
    here.may(*READERS)
    return await _complaint_page(here, complaint_id)


async def _refused(here: Visit, complaint_id: str, action: str, err: Exception) -> HTMLResponse:
    status = err.status if isinstance(err, Unacceptable) else _status(err)
    return await _complaint_page(here, complaint_id, status, alert=str(err), alert_for=action)


@router.post("/complaints/{complaint_id}/act/{action}")
async def act(complaint_id: str, action: str, request: Request) -> Response:
    here, form = await posted(request)
    model = ACTION_INPUTS.get(action)
    if model is None:
        return here.page("problem.html", 404, alert=f"unknown action; actions are {', '.join(ACTION_INPUTS)}")
    here.may(*ACTORS.get(action, ("handler",)))
    try:
        await _desk(request).act(complaint_id, action, here.acting(action, forms.body(model, form)))
    except (DeskError, NotThePerson) as err:
        return await _refused(here, complaint_id, action, err)
    return _back_to(f"/desk/complaints/{complaint_id}")


@router.post("/complaints/{complaint_id}/escalate")
async def escalate(complaint_id: str, request: Request) -> Response:
    here, form = await posted(request)
    here.may("manager")
    try:
        await _desk(request).escalate(complaint_id, here.acting("escalate", forms.body(Escalate, form)))
    except (DeskError, NotThePerson) as err:
        return await _refused(here, complaint_id, "escalate", err)
    return _back_to(f"/desk/complaints/{complaint_id}")


@router.post("/complaints/{complaint_id}/evidence")
async def upload(complaint_id: str, request: Request) -> Response:
    here, form = await posted(request)
    here.may(*UPLOADERS)
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if not files:
        return await _refused(here, complaint_id, "evidence", Invalid([("files", "choose at least one file")]))
    read = [(f.filename or "unnamed", await f.read(MAX_BYTES + 1)) for f in files]
    try:
        await _cases(request).attach(complaint_id, read, here.who.name)
    except (DeskError, Unacceptable) as err:
        return await _refused(here, complaint_id, "evidence", err)
    return _back_to(f"/desk/complaints/{complaint_id}")


@router.get("/complaints/{complaint_id}/evidence/{sha256}")
async def download(complaint_id: str, sha256: str, request: Request) -> Response:
    here = visit(request)
    here.may(*CASE_READERS)
    try:
        ref, data = await _cases(request).download(complaint_id, sha256, here.who.name,
                                                   "GET /desk/complaints/{id}/evidence/{sha256}", here.who.person)
    except DeskError as err:
        return here.page("problem.html", _status(err), alert=str(err))
    return Response(data, media_type=ref.media_type, headers={"Content-Disposition": attachment(ref.name)})


# --- the emergency team and managers ------------------------------------------------------------


@router.get("/emergency")
async def board(request: Request) -> HTMLResponse:
    here = visit(request)
    here.may("emergency", "manager")
    return await _board(here)


async def _board(here: Visit, status_code: int = 200, **context: Any) -> HTMLResponse:
    try:
        cases = (await _desk(here.request).open_cases()).cases
    except DeskError as err:
        return here.page("board.html", _status(err), cases=[], alert=str(err))
    return here.page("board.html", status_code, cases=cases, **context)


@router.post("/emergency/{complaint_id}/acknowledge")
async def acknowledge(complaint_id: str, request: Request) -> Response:
    here, form = await posted(request)
    here.may("emergency")
    try:
        await _desk(request).acknowledge(complaint_id, here.acting("acknowledge", forms.body(Acknowledge, form)).get("lead"))
    except (DeskError, NotThePerson) as err:
        return await _board(here, _status(err), alert=str(err), alert_for=complaint_id)
    return _back_to("/desk/emergency")


@router.get("/breaches")
async def breaches(request: Request) -> HTMLResponse:
    """The deadlines breached since midnight, Beijing time."""
    here = visit(request)
    here.may("manager")
    midnight = datetime.now(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        found = await _desk(request).breaches_since(midnight)
    except DeskError as err:
        return here.page("breaches.html", _status(err), rows=[], alert=str(err))
    return here.page("breaches.html", rows=found)
