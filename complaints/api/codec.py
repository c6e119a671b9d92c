"""Temporal's remote codec protocol on the API, so people allowed to read complaints see
them decoded in the Web UI and the `temporal` CLI while the history stays encrypted.

`POST /codec/decode` and `/codec/encode` take `Authorization: Bearer <key>` (the CLI's
`--codec-auth`). A browser UI cannot add that header to its codec calls, so the same
endpoints also answer under `/codec/k/<key>/`: a UI configured with that endpoint (the
dev server's `--ui-codec-endpoint`, or each user's own codec setting in the UI) decodes
with that key's role. Handler, manager, emergency and auditor keys may decode; only a
manager's may encode, since encoding is how the UI writes (a signal typed into it).

A call is bounded before it is read (`complaints.api.limits`): 4 MB, 32 levels of nesting;
its body and answer are declared in the OpenAPI schema (`PAYLOADS`) like any route's.

CORS lives here, on these routes only: the Web UI's origin may POST with Content-Type,
X-Namespace and Authorization; the preflight needs no key. The rest of the API stays
same-origin.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.routing import APIRoute
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from temporalio.api.common.v1 import Payloads

from complaints.api.auth import caller, identify
from complaints.api.errors import answers
from complaints.infra.codec import EncryptionCodec
from complaints.infra.settings import Settings
from complaints.infra.temporal import codec_for

DECODERS = ("handler", "manager", "emergency", "auditor")
ENCODERS = ("manager",)
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"
MAX_PAYLOADS = 10_000
BASE64 = {"type": "string", "contentEncoding": "base64"}
PAYLOADS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"payloads": {"type": "array", "maxItems": MAX_PAYLOADS, "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"metadata": {"type": "object", "additionalProperties": BASE64}, "data": BASE64},
    }}},
}
"""Temporal's `Payloads` as the remote codec protocol writes them (protobuf JSON: bytes in base64)."""
CODEC_CALL: dict[str, Any] = {
    "openapi_extra": {"requestBody": {"required": True, "content": {"application/json": {"schema": PAYLOADS}}}},
    "responses": {200: {"description": "the payloads, decoded or encoded, in the order sent",
                        "content": {"application/json": {"schema": PAYLOADS}}},
                  **answers(400, 401, 403, 413, 422)},
}
"""What the OpenAPI schema says of each codec call: its body, its answer and its refusals."""


def ui_origins(settings: Settings) -> frozenset[str]:
    """The Web UI's origins: the dev server's default port and the configured one."""
    return frozenset(f"http://{host}:{port}" for host in ("localhost", "127.0.0.1")
                     for port in {8233, settings.ui_port})


def _cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin or origin not in ui_origins(request.app.state.settings):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


class CorsRoute(APIRoute):
    """Adds the UI origin's CORS headers to every answer, refusals included, so the UI can
    tell a refused key from a network failure."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            try:
                response = await handle(request)
            except HTTPException as refused:
                refused.headers = {**(refused.headers or {}), **_cors_headers(request)}
                raise
            response.headers.update(_cors_headers(request))
            return response

        return with_cors


codec_router = APIRouter(prefix="/codec", tags=["codec"], route_class=CorsRoute)


def _may(role: str, roles: tuple[str, ...], right: str) -> None:
    if role not in roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {role} may not {right}; needs {' or '.join(roles)}")


def by_header(request: Request) -> str:
    """The caller's role from `Authorization: Bearer <key>` (401 without a known key)."""
    return caller(request).role


def by_path(key: str, request: Request) -> str:
    """The role of the key the UI's endpoint carries in its path."""
    who = identify(request.app.state.api_keys, key)
    if who is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown API key in the codec endpoint")
    return who.role


def _codec(request: Request) -> EncryptionCodec:
    """One codec per app, from the app's settings: the same keys the worker writes with."""
    state = request.app.state
    if getattr(state, "codec", None) is None:
        state.codec = codec_for(state.settings)
    return state.codec


async def _payloads(request: Request) -> Payloads:
    settings: Settings = request.app.state.settings
    namespace = request.headers.get("x-namespace")
    if namespace and namespace != settings.temporal_namespace:
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            f"X-Namespace {namespace[:64]!r}: this codec serves {settings.temporal_namespace!r}")
    try:
        body = json.loads(await request.body())
        if not isinstance(body, dict):
            raise ParseError("expected an object")
        payloads = ParseDict(body, Payloads())
    except (ValueError, ParseError):
        raise HTTPException(422, [{"field": "body", "reason": 'expected {"payloads": [{"metadata": {...}, '
                                                            '"data": "<base64>"}]}'}]) from None
    if len(payloads.payloads) > MAX_PAYLOADS:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"payloads: at most {MAX_PAYLOADS} a call")
    return payloads


def _answer(payloads: list[Any]) -> Response:
    body = MessageToDict(Payloads(payloads=payloads))
    return Response(json.dumps({"payloads": body.get("payloads", [])}), media_type="application/json")


async def _decode(request: Request, role: str) -> Response:
    """Payloads no listed key opens come back as they are: one stray payload must not blank
    the whole page in the UI."""
    _may(role, DECODERS, "read complaint payloads")
    codec = _codec(request)
    return _answer([codec.try_decrypt(p) for p in (await _payloads(request)).payloads])


async def _encode(request: Request, role: str) -> Response:
    """Encoding makes input a workflow trusts: a manager's right, not a reader's."""
    _may(role, ENCODERS, "encode payloads (write to complaints through the UI)")
    return _answer(await _codec(request).encode((await _payloads(request)).payloads))


@codec_router.post("/decode", **CODEC_CALL)
async def decode(request: Request, role: str = Depends(by_header)) -> Response:
    """Decrypt payloads for a reader (handler, manager, emergency, auditor)."""
    return await _decode(request, role)


@codec_router.post("/encode", **CODEC_CALL)
async def encode(request: Request, role: str = Depends(by_header)) -> Response:
    """Encrypt payloads, e.g. a signal typed into the Web UI, with the current key (managers only)."""
    return await _encode(request, role)


@codec_router.post("/k/{key}/decode", include_in_schema=False, **CODEC_CALL)
async def decode_for_ui(request: Request, role: str = Depends(by_path)) -> Response:
    return await _decode(request, role)


@codec_router.post("/k/{key}/encode", include_in_schema=False, **CODEC_CALL)
async def encode_for_ui(request: Request, role: str = Depends(by_path)) -> Response:
    return await _encode(request, role)


@codec_router.options("/{path:path}", include_in_schema=False)
async def preflight(path: str, request: Request) -> Response:
    """CORS preflight: answered without a key (browsers send none), for the UI's origin only."""
    headers = _cors_headers(request)
    if not headers:
        return Response("origin not allowed", status_code=status.HTTP_403_FORBIDDEN)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={
        **headers,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
    })
