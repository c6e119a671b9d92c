"""Real receivers on loopback for the delivery tests: an SMTP server (aiosmtpd) that keeps
every message, and an HTTP receiver that keeps every request."""

from __future__ import annotations

import email
import email.policy
import ipaddress
import json
import ssl
import threading
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.devserver import free_port


class MailSink:
    """An SMTP server on 127.0.0.1; `messages` holds what it accepted, parsed."""

    def __init__(self, port: int | None = None, answer: str = "250 OK", tls: ssl.SSLContext | None = None,
                 implicit_tls: bool = False) -> None:
        self.port = port or free_port()
        self.answer, self.tls, self.implicit_tls = answer, tls, implicit_tls
        self.messages: list[EmailMessage] = []
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"{'smtps' if self.implicit_tls else 'smtp'}://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        if self.answer.startswith("250"):
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return self.answer

    def start(self) -> MailSink:
        tls = {"ssl_context": self.tls} if self.implicit_tls else {"tls_context": self.tls, "require_starttls": True}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **(tls if self.tls else {}))
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


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, for TLS on loopback; trust it with SSL_CERT_FILE."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file
