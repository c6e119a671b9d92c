"""Every route of the real app against every role: the contract's table, route by route.

The table is the contract (section 5 and the codec endpoint of section 6); the test also
checks that the app has no route outside it, so a new route cannot ship unguarded.
"""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from complaints.api import examples
from complaints.domain.models import ACTION_INPUTS
from tests.integration.apihelp import KEYS, api_settings, app, auth, http, intake  # noqa: F401

EVERYONE = frozenset(KEYS)
READERS = frozenset({"handler", "manager", "emergency", "auditor"})
NOBODY_NEEDS_A_KEY = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect")}  # Swagger UI's own page
CONTRACT: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/complaints"): frozenset({"channel"}),
    ("GET", "/complaints/{complaint_id}"): EVERYONE,
    ("GET", "/complaints"): READERS,
    ("POST", "/complaints/{complaint_id}/escalate"): frozenset({"manager"}),
    **{("POST", f"/complaints/{{complaint_id}}/{action}"): frozenset({"handler"}) for action in ACTION_INPUTS},
    ("POST", "/complaints/{complaint_id}/assign"): frozenset({"manager"}),
    ("POST", "/complaints/{complaint_id}/{action}"): frozenset({"handler"}),
    ("GET", "/complaints/{complaint_id}/updates/{idempotency_key}"): READERS,
    ("GET", "/complaints/{complaint_id}/case"): frozenset({"handler", "manager", "auditor"}),
    ("POST", "/complaints/{complaint_id}/evidence"): frozenset({"channel", "handler", "manager"}),
    ("POST", "/complaints/{complaint_id}/legal-hold"): frozenset({"manager"}),
    ("GET", "/complaints/{complaint_id}/evidence/{sha256}"): frozenset({"handler", "manager", "auditor"}),
    ("GET", "/emergency/cases"): frozenset({"emergency", "manager"}),
    ("POST", "/emergency/cases/{complaint_id}/acknowledge"): frozenset({"emergency"}),
    ("GET", "/reports/regulatory"): frozenset({"manager", "auditor"}),
    ("GET", "/outbox"): frozenset({"auditor", "manager"}),
    ("POST", "/codec/decode"): READERS,
    ("POST", "/codec/encode"): frozenset({"manager"}),
    ("POST", "/codec/k/{key}/decode"): READERS,
    ("POST", "/codec/k/{key}/encode"): frozenset({"manager"}),
}

WORKBENCH: dict[tuple[str, str], int] = {
    ("GET", "/desk"): 303, ("GET", "/desk/queue/rows"): 303, ("GET", "/desk/complaints/{complaint_id}"): 303,
    ("GET", "/desk/complaints/{complaint_id}/evidence/{sha256}"): 303, ("GET", "/desk/emergency"): 303,
    ("GET", "/desk/breaches"): 303, ("GET", "/desk/signin"): 200,
    ("POST", "/desk/signin"): 403, ("POST", "/desk/signout"): 403,
    ("POST", "/desk/complaints/{complaint_id}/act/{action}"): 403,
    ("POST", "/desk/complaints/{complaint_id}/escalate"): 403,
    ("POST", "/desk/complaints/{complaint_id}/evidence"): 403,
    ("POST", "/desk/emergency/{complaint_id}/acknowledge"): 403,
}
"""The workbench's routes, and their answer without a session: a page sends the browser to sign in,
a form is refused for want of the session's CSRF token (the roles per page: test_workbench.py)."""


def api_routes(routes: list, prefix: str = "") -> list[tuple[str, APIRoute]]:
    """(path, route) of every API route, through included routers (FastAPI >= 0.16x nests them)."""
    found = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found += api_routes(inner.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            found.append((prefix + route.path, route))
    return found


def app_routes(application: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path); the codec's CORS preflight excepted, which by design needs no key."""
    return {(method, path) for path, route in api_routes(application.routes) for method in route.methods
            if method != "HEAD" and not (method == "OPTIONS" and path == "/codec/{path:path}")}


def body_for(path: str) -> dict | None:
    action = path.rsplit("/", 1)[-1]
    if path == "/complaints":
        return intake("ACL-1")
    if action in examples.ACTIONS:
        return examples.ACTIONS[action]
    return {"escalate": examples.ESCALATE, "acknowledge": examples.ACKNOWLEDGE,
            "decode": {"payloads": []}, "encode": {"payloads": []}}.get(action)


async def call(http: httpx.AsyncClient, method: str, path: str, cid: str, key: str | None) -> httpx.Response:
    """The route with the complaint's id; a key-in-path route carries `key`, others send it as a bearer."""
    url = re.sub(r"\{action\}", "no_such_action", path.replace("{complaint_id}", cid)).replace(
        "{idempotency_key}", "no-such-update")
    if "{key}" in url:
        return await http.request(method, url.replace("{key}", key or "-"), json=body_for(path))
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return await http.request(method, url, json=body_for(path), headers=headers)


async def test_the_app_has_exactly_the_contract_routes(app: FastAPI) -> None:  # noqa: F811
    assert app_routes(app) == set(CONTRACT) | NOBODY_NEEDS_A_KEY | set(WORKBENCH)


async def test_no_workbench_route_answers_without_a_session(app: FastAPI) -> None:  # noqa: F811
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        for (method, path), status in WORKBENCH.items():
            url = path.format(complaint_id="ANY", action="withdraw", sha256="0" * 64)
            answer = await http.request(method, url, data={"key": KEYS["handler"]} if method == "POST" else None,
                                        headers=auth("manager"))  # a bearer key opens no page
            assert answer.status_code == status, (method, path)
            if status == 303:
                assert answer.headers["location"] == "/desk/signin"


async def test_every_route_and_role(http: httpx.AsyncClient) -> None:  # noqa: F811
    filed = await http.post("/complaints", json=intake("ACL-0"), headers=auth("channel"))
    cid = filed.json()["complaint_id"]
    for (method, path), allowed in CONTRACT.items():
        assert (await call(http, method, path, cid, None)).status_code == 401, path
        assert (await call(http, method, path, cid, "not-a-key")).status_code == 401, path
        for role, key in KEYS.items():
            answer = await call(http, method, path, cid, key)
            if role in allowed:
                assert answer.status_code not in (401, 403), (method, path, role, answer.text)
            else:
                assert answer.status_code == 403, (method, path, role, answer.text)
    for method, path in NOBODY_NEEDS_A_KEY:
        assert (await http.request(method, path)).status_code == 200
    preflight = await http.options("/codec/k/x/decode", headers={"Origin": "http://localhost:8233",
                                                                 "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204  # the browser asks before it sends a key
