"""The channels a notice travels by: e-mail over SMTP, a signed JSON webhook (SMS, CRM) and
the emergency team's group-robot webhook. Each send carries the notice's stable id (the
e-mail's Message-ID, the webhook's `Idempotency-Key`), so a receiver drops a repeat.

Errors name the channel and the server's answer, never an address or a text: they are kept
in the archive and the workflow's history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

SIGNATURE_HEADER = "X-Complaints-Signature"
TIMESTAMP_HEADER = "X-Complaints-Timestamp"


class NotConfigured(Exception):
    """The channel a notice needs has no setting; the notice stays pending."""


class SendFailed(Exception):
    """A send that did not go through; `permanent` when trying again cannot help."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str = "application/pdf"


def message_id(notice_id: str, sender: str) -> str:
    """`<notice id@sender's domain>`: the same for every attempt at one notice."""
    return f"<{notice_id}@{sender.rpartition('@')[2] or 'localhost'}>"


class Mailer:
    """SMTP: `smtps://` is TLS from the first byte; `smtp://` upgrades with STARTTLS whenever
    the server offers it, and with `require_tls` refuses a server that does not."""

    def __init__(self, url: str, sender: str, require_tls: bool = False, timeout: float = 30) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("COMPLAINTS_SMTP_URL: expected smtp://[user:pass@]host[:port] or smtps://...")
        self.implicit_tls = parts.scheme == "smtps"
        self.host, self.port = parts.hostname, parts.port or (465 if self.implicit_tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password or "")
        self.sender, self.require_tls, self.timeout = sender, require_tls, timeout
        self.tls_context = ssl.create_default_context()

    def send(self, to: str, subject: str, body: str, notice_id: str,
             attachments: tuple[Attachment, ...] = ()) -> str:
        """Send one message; returns its Message-ID."""
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = message_id(notice_id, self.sender)
        msg.set_content(body)
        for item in attachments:
            main, _, sub = item.mime.partition("/")
            msg.add_attachment(item.content, maintype=main, subtype=sub, filename=item.filename)
        try:
            with self._connect() as smtp:
                smtp.send_message(msg)
        except smtplib.SMTPResponseException as err:
            raise SendFailed(f"smtp: server answered {err.smtp_code}", permanent=err.smtp_code >= 500) from None
        except smtplib.SMTPRecipientsRefused as err:
            codes = sorted({code for code, _ in err.recipients.values()})
            raise SendFailed(f"smtp: recipient refused ({', '.join(map(str, codes))})",
                             permanent=all(code >= 500 for code in codes)) from None
        except (OSError, smtplib.SMTPException) as err:
            raise SendFailed(f"smtp: {type(err).__name__} reaching {self.host}:{self.port}") from None
        return msg["Message-ID"]

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls_context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self.tls_context)
                smtp.ehlo()
            elif self.require_tls:
                smtp.quit()
                raise SendFailed(f"smtp: {self.host}:{self.port} offers no STARTTLS and TLS is required")
        if self.user:
            smtp.login(self.user, self.password)
        return smtp


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over `<timestamp>.<raw body>`: a receiver recomputes it, and refuses an old
    timestamp to refuse a replay."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float, tolerance: float = 300) -> bool:
    """What a receiver checks: the signature over this very body, and a fresh timestamp."""
    fresh = abs(now - float(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


class Webhook:
    """One JSON POST per notice; the receiver's 2xx answer is the delivery."""

    def __init__(self, url: str, name: str, secret: str | None = None, timeout: float = 15) -> None:
        self.url, self.name, self.secret, self.timeout = url, name, secret, timeout

    def post(self, payload: dict[str, Any], notice_id: str) -> str:
        """POST the payload; returns the provider's id for it (its `id`, else the notice id)."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": notice_id}
        if self.secret:
            stamp = str(int(time.time()))
            headers |= {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(self.secret, stamp, body)}
        try:
            answer = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as err:
            raise SendFailed(f"{self.name}: {type(err).__name__}") from None
        if answer.status_code >= 300:
            permanent = 400 <= answer.status_code < 500 and answer.status_code not in (408, 409, 425, 429)
            raise SendFailed(f"{self.name}: receiver answered {answer.status_code}", permanent=permanent)
        try:
            reply = answer.json()
        except ValueError:
            reply = {}
        if isinstance(reply, dict) and reply.get("errcode") not in (None, 0):  # WeCom and DingTalk robots
            raise SendFailed(f"{self.name}: robot answered errcode {reply['errcode']}")
        found = reply.get("id") or reply.get("message_id") if isinstance(reply, dict) else None
        return str(found or notice_id)
