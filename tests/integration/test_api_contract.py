"""The API as its OpenAPI says, against a hostile client: schemathesis as every role, and the codec
under deep and large bodies.

The project's own hypothesis test (`test_api_properties.py`) throws hostile bodies at the routes
it knows; this one reads the contract from the outside, as a client generated from
`/openapi.json` would, and checks every documented operation against it (`contract.py`).
`bench/contract.py` is the same run with 1,000 examples per operation.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.api.common.v1 import Payload, Payloads

from complaints.api.app import create_app
from complaints.api.limits import CODEC_BODY_LIMIT
from complaints.infra.nesting import MAX_NESTING
from complaints.infra.settings import Settings
from tests.conftest import TEST_KEY, binary
from tests.integration.contract import OWN, ROLE_KEYS, run, served

EXAMPLES = 3
"""Fuzzed cases per operation in the suite (`bench/contract.py` runs 1,000)."""


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served(binary("temporal"), tmp_path_factory.mktemp("contract"), TEST_KEY) as url:
        yield url


@pytest.mark.parametrize("role", ROLE_KEYS)
def test_schemathesis_finds_no_failure_as_any_role(api_url: str, role: str) -> None:
    """Every operation fuzzed as `role`; the coverage phase's boundary and schema-violating cases on
    the operations this role is the one to call (`OWN`), so they reach the route, not a 403."""
    fuzzed = run(api_url, role, EXAMPLES, ("examples", "fuzzing"))
    covered = run(api_url, role, EXAMPLES, ("coverage",), OWN[role])
    schema = openapi.from_url(f"{api_url}/openapi.json")
    every, own = (sum(1 for _ in s.get_all_operations()) for s in (schema, schema.include(name_regex=OWN[role])))
    assert fuzzed.cases >= 2 * every and covered.cases >= 10 * own > 0, (fuzzed.cases, covered.cases)
    assert fuzzed.failures + covered.failures == [], "\n".join(fuzzed.failures + covered.failures)


# --- the codec: deep and large bodies ------------------------------------------------------

CODEC_KEYS = {"manager": "codec-manager", "auditor": "codec-auditor"}


@pytest.fixture(scope="module")
def offline_app() -> FastAPI:
    """The app without Temporal: the codec routes, and the bounds in front of every route, need only the keys."""
    return create_app(Settings(codec_keys=TEST_KEY,
                               api_keys=",".join(f"{key}:{role}" for role, key in CODEC_KEYS.items())))


@pytest.fixture
async def offline_http(offline_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=offline_app), base_url="http://api") as client:
        yield client


def nested(depth: int, leaf: str = '"sealed:x"') -> str:
    return "[" * depth + leaf + "]" * depth


def wire(*payloads: Payload) -> str:
    return json.dumps(MessageToDict(Payloads(payloads=payloads)))


def plain(data: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data.encode())


DEPTHS = st.sampled_from([MAX_NESTING, MAX_NESTING + 1, 600, 700, 990, 5000, 100_000]) | st.integers(1, 2000)


@st.composite
def hostile_bodies(draw: st.DrawFn) -> tuple[str, bytes | None, bool]:
    """(what, body, whether to stream it without a length): deep JSON where a codec call can
    carry it, and bodies around the size limit."""
    depth = draw(DEPTHS)
    where = draw(st.sampled_from(["payload data", "sealed payload data", "body", "metadata", "large", "huge"]))
    if where == "payload data":
        body = wire(plain(nested(depth)))
    elif where == "sealed payload data":  # encoded first by a manager (below), then decoded
        body = wire(plain(nested(depth)))
    elif where == "body":
        body = '{"payloads": [' + nested(depth, "{}") + "]}"
    elif where == "metadata":
        body = '{"payloads": [{"metadata": {"encoding": ' + nested(depth, '"e"') + "}}]}"
    else:  # around the limit, or twice it: each sent whole, or streamed without a length
        size = CODEC_BODY_LIMIT + draw(st.integers(-2000, 2000)) if where == "large" else 2 * CODEC_BODY_LIMIT
        body = wire(plain("x" * (size * 3 // 4 - 100)))
    return where, body.encode(), draw(st.booleans())


async def test_codec_routes_answer_deep_and_large_bodies_with_a_documented_4xx_never_a_500(
        offline_app: FastAPI, offline_http: httpx.AsyncClient) -> None:
    schema = openapi.from_dict(offline_app.openapi())
    operation = {"decode": schema["/codec/decode"]["POST"], "encode": schema["/codec/encode"]["POST"]}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    answered: dict[int, int] = {}

    async def send(url: str, body: bytes, streamed: bool, headers: dict[str, str]) -> httpx.Response:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 1 << 20):
                yield body[start:start + (1 << 20)]

        headers = {"Content-Type": "application/json", **headers}
        answer = await offline_http.post(url, content=chunks() if streamed else body, headers=headers)
        if streamed:  # the checks read the request back: a stream is gone once sent
            answer.request = httpx.Request("POST", answer.request.url, headers=headers)
        return answer

    def checked(kind: str, answer: httpx.Response) -> httpx.Response:
        case = operation[kind].Case(body=None, media_type="application/json")
        case.validate_response(answer, checks=checks)
        assert answer.status_code in (200, 413, 422), answer.text[:300]
        if answer.status_code != 200:
            assert answer.json()["detail"], "a refusal says why"
        answered[answer.status_code] = answered.get(answer.status_code, 0) + 1
        return answer

    loop = asyncio.get_running_loop()

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(hostile_bodies())
    def never_a_500(drawn: tuple[str, bytes, bool]) -> None:
        where, body, streamed = drawn

        def call(url: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
            return asyncio.run_coroutine_threadsafe(send(url, content, streamed, headers), loop).result(120)

        if where == "sealed payload data":
            manager = {"Authorization": f"Bearer {CODEC_KEYS['manager']}"}
            sealed = checked("encode", call("/codec/encode", body, manager))
            body = sealed.content if sealed.status_code == 200 else body
        for url, headers in (("/codec/decode", {"Authorization": f"Bearer {CODEC_KEYS['auditor']}"}),
                             (f"/codec/k/{CODEC_KEYS['auditor']}/decode", {})):
            answer = checked("decode", call(url, body, headers))
            if where.endswith("payload data") and answer.status_code == 200:
                [back] = answer.json()["payloads"]
                assert base64.b64decode(back["data"]).startswith(b"["), "a deep value comes back as it was sent"

    await asyncio.to_thread(never_a_500)
    assert {200, 413, 422} <= set(answered), answered



JSON_ROUTES = ["/complaints", "/complaints/C1/assess", "/complaints/C1/escalate", "/emergency/cases/C1/acknowledge",
               "/codec/decode", "/codec/encode", f"/codec/k/{CODEC_KEYS['auditor']}/decode",
               f"/codec/k/{CODEC_KEYS['manager']}/encode"]


@pytest.mark.parametrize("path", JSON_ROUTES)
async def test_every_json_route_refuses_a_deep_body_with_422_naming_the_body(offline_http: httpx.AsyncClient,
                                                                            path: str) -> None:
    """Refused before any route parses it, so before Temporal is needed: this app has none."""
    for depth in (MAX_NESTING + 1, 600, 990, 100_000):
        for body in (nested(depth, "1"), '{"channel": ' + nested(depth, "1") + "}", "[" * depth):
            answer = await offline_http.post(path, content=body, headers={"Content-Type": "application/json"})
            assert answer.status_code == 422, (depth, answer.text[:200])
            assert answer.json() == {"detail": [{"field": "body", "reason": f"nests deeper than {MAX_NESTING} levels"}]}
    shallow = await offline_http.post(path, content=nested(MAX_NESTING, "1"),
                                      headers={"Content-Type": "application/json"})
    assert "nests deeper" not in shallow.text


async def test_a_405_allows_every_method_of_the_path(offline_http: httpx.AsyncClient) -> None:
    for method, path, allowed in (("OPTIONS", "/complaints", "GET, POST"), ("PUT", "/complaints", "GET, POST"),
                                  ("DELETE", "/complaints/C1", "GET"), ("GET", "/complaints/C1/assess", "POST"),
                                  ("GET", "/codec/decode", "POST, OPTIONS")):
        answer = await offline_http.request(method, path)
        assert (answer.status_code, answer.headers["allow"]) == (405, allowed), (method, path)


@pytest.mark.parametrize("path", JSON_ROUTES[:4])
async def test_a_number_too_long_to_read_is_422_naming_the_body(offline_http: httpx.AsyncClient, path: str) -> None:
    """Python refuses to read an integer of more than 4,300 digits; schemathesis found the 400 it gave."""
    answer = await offline_http.post(path, content=b'{"handler": ' + b"9" * 5000 + b"}",
                                     headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "body"


async def test_a_malformed_multipart_upload_is_422_naming_the_body(offline_http: httpx.AsyncClient) -> None:
    """The long run found a broken multipart body answered an undocumented 400."""
    answer = await offline_http.post("/complaints/C1/evidence", content=b"--x\r\nno headers, no end",
                                     headers={"Content-Type": "multipart/form-data; boundary=x",
                                              "Authorization": "Bearer " + ROLE_KEYS["handler"]})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == "body"
