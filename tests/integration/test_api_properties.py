"""Hostile input at every endpoint: never a 5xx, and no complaint accepted before is lost.

Hypothesis runs in a worker thread and sends each request into the test's event loop,
where the app and the Temporal worker live, so the worker keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints.api import examples
from complaints.domain.models import ACTION_INPUTS
from tests.integration.apihelp import api_settings, app, auth, http, intake  # noqa: F401

HOSTILE_TEXT = st.sampled_from([
    "", " ", "\x00", "\ud800", "\udfff lone surrogate", "'; DROP TABLE complaints; --", "<script>alert(1)</script>",
    "../../etc/passwd", "%00%0a", "投诉" * 3000, "x" * 10_001, "\u202e reversed", "🙂" * 50, "1e309", "null",
    "2026-02-30T25:61:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
]) | st.text(max_size=40)
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | HOSTILE_TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12) | HOSTILE_TEXT, inner, max_size=4), max_leaves=12)
EXAMPLE_BODIES: dict[str, dict[str, Any]] = {
    "intake": intake("PROP-EXAMPLE"),
    **examples.ACTIONS,
    "escalate": {"reason": "r", "by": "m"},
    "acknowledge": {"lead": "l"},
}


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> Any:
    """A valid body with one part dropped, replaced by something hostile, or an unknown key added."""
    body = copy.deepcopy(EXAMPLE_BODIES[kind])
    for _ in range(draw(st.integers(1, 3))):
        target, keys = body, list(body)
        if isinstance(body.get("complainant"), dict) and draw(st.booleans()):
            target, keys = body["complainant"], list(body["complainant"])
        key = draw(st.sampled_from(keys + ["unexpected"]))
        if draw(st.booleans()) and key in target:
            del target[key]
        else:
            target[key] = draw(JSON)
    return body


def body_for(kind: str) -> st.SearchStrategy[Any]:
    return mutated(kind) | JSON | st.binary(max_size=200)


def in_url(text: str) -> str:
    """Percent-encoded, lone surrogates too, short enough for a URL."""
    return quote(text[:300], safe="", errors="surrogatepass")


def endpoint_requests(known: list[str]) -> st.SearchStrategy[tuple[str, str, str, Any]]:
    """(role, method, url, body) for every endpoint; ids are known ones or hostile ones."""
    ids = st.sampled_from(known) | HOSTILE_TEXT.map(in_url)
    actions = st.sampled_from(list(ACTION_INPUTS))
    return st.one_of(
        body_for("intake").map(lambda b: ("channel", "POST", "/complaints", b)),
        st.tuples(ids, actions).flatmap(lambda t: body_for(t[1]).map(
            lambda b: ("handler", "POST", f"/complaints/{t[0]}/{t[1]}", b))),
        st.tuples(ids, body_for("escalate")).map(lambda t: ("manager", "POST", f"/complaints/{t[0]}/escalate", t[1])),
        st.tuples(ids, body_for("acknowledge")).map(
            lambda t: ("emergency", "POST", f"/emergency/cases/{t[0]}/acknowledge", t[1])),
        ids.map(lambda i: ("auditor", "GET", f"/complaints/{i}", None)),
        st.dictionaries(st.sampled_from(["stage", "category", "severity", "channel", "escalated", "breached",
                                         "limit", "other"]), HOSTILE_TEXT, max_size=4)
        .map(lambda q: ("handler", "GET", "/complaints?" + "&".join(f"{k}={in_url(v)}" for k, v in q.items()), None)),
    )


async def test_hostile_bodies_never_get_a_5xx_and_never_lose_a_complaint(http: httpx.AsyncClient) -> None:
    before = []
    for ref in ("PROP-1", "PROP-2", "PROP-3"):
        filed = await http.post("/complaints", json=intake(ref), headers=auth("channel"))
        assert filed.status_code == 201
        before.append(filed.json()["complaint_id"])
    loop = asyncio.get_running_loop()
    accepted: list[str] = []

    def send(role: str, method: str, url: str, body: Any) -> httpx.Response:
        # bytes as they are; JSON ASCII-escaped, so lone surrogates and NaN get through to the server
        content = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        headers = {**auth(role), "Content-Type": "application/json"}
        request = http.request(method, url, content=content, headers=headers)
        return asyncio.run_coroutine_threadsafe(request, loop).result(timeout=60)

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(endpoint_requests(before))
    def never_5xx(call: tuple[str, str, str, Any]) -> None:
        answer = send(*call)
        assert answer.status_code < 500, (call[1], call[2].split("?")[0][:60], answer.status_code, answer.text[:300])
        if call[2] == "/complaints" and answer.status_code == 201:
            accepted.append(answer.json()["complaint_id"])

    await asyncio.to_thread(never_5xx)
    for cid in before + accepted:
        status = await http.get(f"/complaints/{cid}", headers=auth("auditor"))
        assert status.status_code == 200 and status.json()["complaint_id"] == cid
