"""Bounds on what the API reads, checked before any route parses a body.

A body over its route's size limit is refused with 413 as soon as its declared length or its
bytes so far exceed it, so it is never held in memory. A JSON body within the limit is read
whole and refused with 422 when it is not UTF-8 or nests deeper than `MAX_NESTING` levels: the
JSON parser, pydantic and protobuf recurse once per level, and such a body would otherwise end
in a `RecursionError` (a 500) in one of them. An evidence upload (multipart, up to 50 MB a
file) is only counted as it streams to its route.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from complaints.infra.evidence import MAX_BYTES
from complaints.infra.nesting import MAX_NESTING, nests_deeper

BODY_LIMIT = 1_000_000
"""Bytes a complaint or action body may have: ten times the largest valid one, far from exhausting memory."""

CODEC_BODY_LIMIT = 4_000_000
"""Bytes a codec call may have: a payload at Temporal's own limit (2 MB) fits, base64 and all."""

UPLOAD_LIMIT = MAX_BYTES + BODY_LIMIT
"""Bytes an evidence upload may have: one largest file and its multipart framing."""

LIMITS: tuple[tuple[str, int], ...] = (("/complaints", BODY_LIMIT), ("/emergency", BODY_LIMIT),
                                       ("/codec", CODEC_BODY_LIMIT), ("/desk", BODY_LIMIT))
"""Each path prefix that takes a body (JSON, or the workbench's forms), and its size limit."""


def _refused(status: int, detail: object) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def unreadable(body: bytes) -> str | None:
    """Why a JSON body cannot be handed to a parser, or None."""
    try:
        body.decode()
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    if nests_deeper(body, MAX_NESTING):
        return f"nests deeper than {MAX_NESTING} levels"
    return None


class BodyGuard:
    """The size and nesting bounds, as ASGI middleware in front of every route."""

    def __init__(self, app: ASGIApp, limits: tuple[tuple[str, int], ...] = LIMITS) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = next((size for prefix, size in self.limits if scope.get("path", "").startswith(prefix)), None)
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH") or limit is None:
            return await self.app(scope, receive, send)
        if scope["path"].endswith("/evidence"):
            return await self._upload(scope, receive, send)
        too_large = _refused(413, f"request body over {limit} bytes")
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await too_large(scope, receive, send)
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                return await too_large(scope, receive, send)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if reason := unreadable(body):
            return await _refused(422, [{"field": "body", "reason": reason}])(scope, receive, send)
        await self.app(scope, _replay(body, receive), send)

    async def _upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Evidence files stream to their route, counted on the way: never read whole here."""
        too_large = f"request body over {UPLOAD_LIMIT} bytes (each evidence file may have {MAX_BYTES})"
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > UPLOAD_LIMIT:
            return await _refused(413, too_large)(scope, receive, send)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > UPLOAD_LIMIT:
                raise HTTPException(413, too_large)
            return message

        await self.app(scope, counted, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, then whatever the client sends next (its disconnect)."""
    pending = [body]

    async def replayed() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replayed
