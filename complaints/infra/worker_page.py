"""The worker's page at COMPLAINTS_METRICS_ADDRESS: `/metrics`, the Temporal runtime's Prometheus
text (the runtime serves it on a loopback port beside), and `/readyz`, the checks of
complaints/readiness.py, so an orchestrator can ask a worker the question it asks the API.

A small HTTP/1.0 responder on asyncio: a web server would bring its own signal handling,
and the worker's SIGTERM must stay the worker's.
"""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request
from collections.abc import Awaitable, Callable

from complaints.infra.settings import SettingError
from complaints.readiness import failing

Probe = Callable[[], Awaitable[dict[str, str]]]
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def loopback_address() -> str:
    """A free 127.0.0.1 port for the runtime's own Prometheus server, behind this page."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def _runtime_page(runtime_address: str) -> bytes:
    with urllib.request.urlopen(f"http://{runtime_address}/metrics", timeout=10) as page:
        return page.read()


async def _answer(path: str, runtime_address: str, probe: Probe) -> tuple[int, str, bytes]:
    if path == "/metrics":
        return 200, PROMETHEUS_TEXT, await asyncio.to_thread(_runtime_page, runtime_address)
    if path == "/readyz":
        checks = await probe()
        body = {"ready": not failing(checks), "failing": failing(checks), "checks": checks}
        return 200 if body["ready"] else 503, "application/json", json.dumps(body).encode()
    return 404, "text/plain", b"not found: /metrics and /readyz are served here\n"


async def open_page(address: str, runtime_address: str, probe: Probe) -> asyncio.Server:
    """Serve the page on `address` (host:port) until the returned server is closed; SettingError
    naming COMPLAINTS_METRICS_ADDRESS when it cannot be served there."""
    reasons = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = (await reader.readline()).decode("latin-1").split()
            while (await reader.readline()).strip():  # the headers: nothing here needs them
                pass
            path = request[1].split("?", 1)[0] if len(request) > 1 else "/"
            try:
                status, kind, body = await _answer(path, runtime_address, probe)
            except Exception as err:  # noqa: BLE001 - the runtime's page away: say so, keep serving
                status, kind, body = 500, "text/plain", f"{type(err).__name__}\n".encode()
            writer.write(f"HTTP/1.0 {status} {reasons[status]}\r\nContent-Type: {kind}\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    host, _, port = address.rpartition(":")
    try:
        return await asyncio.start_server(handle, host or "0.0.0.0", int(port))
    except (ValueError, OSError) as err:
        raise SettingError(f"COMPLAINTS_METRICS_ADDRESS {address}: cannot serve there ({err})") from None
