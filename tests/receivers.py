"""Real receivers on loopback for the delivery tests: an SMTP server (aiosmtpd) that keeps
every message, and an HTTP receiver that keeps every request."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.devserver import free_port


class MailSink:
    """An SMTP server on 127.0.0.1; `messages` holds what it accepted, parsed."""

    def __init__(self, port: int | None = None, answer: str = "250 OK") -> None:
        self.port = port or free_port()
        self.answer = answer
        self.messages: list[EmailMessage] = []
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        if self.answer.startswith("250"):
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return self.answer

    def start(self) -> MailSink:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


class HttpReceiver:
    """An HTTP server on 127.0.0.1 that answers `status` with a JSON `reply` and keeps each
    request's headers and raw body."""

    def __init__(self, status: int = 200, reply: dict | None = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status, self.reply = status, reply if reply is not None else {"id": "provider-1"}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                answer = json.dumps(receiver.reply).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> HttpReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
