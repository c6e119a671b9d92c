"""The workbench at /desk: handlers' queue and complaint pages, the emergency board, managers'
breaches. Server-rendered (Jinja2) with htmx for the live queue, served from the package (no CDN,
no build step). No logic of its own: it calls the desk and the case file as the API does."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from complaints.web.routes import HERE, Forbidden, SignInFirst, render, router
from complaints.web.session import Sessions
from complaints.web.text import lang_of


async def _sign_in_first(request: Request, _: Exception) -> Response:
    if request.headers.get("hx-request"):  # a poll from a page whose session ended: the whole page goes
        return Response(status_code=200, headers={"HX-Redirect": "/desk/signin"})
    return RedirectResponse("/desk/signin", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> HTMLResponse:
    session = request.app.state.sessions.read(request) or Sessions.fresh()
    return render(request, "problem.html", session, lang_of(request), 403, alert=str(exc))


def install(app: FastAPI, codec_key: bytes) -> None:
    """Serve the workbench from `app`, its sessions signed with a secret derived from `codec_key`."""
    app.state.sessions = Sessions(codec_key)
    app.include_router(router)
    app.mount("/desk/static", StaticFiles(directory=HERE / "static"), name="desk-static")
    app.add_exception_handler(SignInFirst, _sign_in_first)
    app.add_exception_handler(Forbidden, _forbidden)
