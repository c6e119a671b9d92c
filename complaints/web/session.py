"""The workbench's session: a signed cookie naming the signed-in key by its fingerprint, and a
CSRF token every form carries back.

The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
signed with a secret derived from the codec key (nothing to configure, nothing hard-coded) and
valid for `LIFETIME`; it never holds the key itself. A visitor not yet signed in gets a session
with a token only, so the sign-in form is protected like every other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData

from complaints.api.auth import Caller

COOKIE = "complaints_desk"
LIFETIME = timedelta(hours=8)
CSRF_FIELD = "csrf"


def fingerprint(key: str) -> str:
    """A key's SHA-256: what the session names it by (never the key itself)."""
    return hashlib.sha256(key.encode()).hexdigest()


def holder(keys: Mapping[str, Caller], key_fingerprint: str) -> Caller | None:
    """Who the key with this fingerprint stands for now (None once the key is gone from the configuration)."""
    for known, who in keys.items():
        if hmac.compare_digest(fingerprint(known).encode(), key_fingerprint.encode()):
            return who
    return None


@dataclass(frozen=True)
class Session:
    csrf: str
    key: str | None = None
    """The signed-in key's fingerprint; None: not signed in."""


class Sessions:
    """Reads and writes the session cookie with a secret of its own, derived from `codec_key`."""

    def __init__(self, codec_key: bytes) -> None:
        secret = hmac.new(codec_key, b"complaintflow workbench session", hashlib.sha256).hexdigest()
        self.signer = URLSafeTimedSerializer(secret, salt="desk-session")

    def read(self, request: Request) -> Session | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        try:
            data = self.signer.loads(cookie, max_age=int(LIFETIME.total_seconds()))
        except BadSignature:  # tampered, signed with another secret, or expired
            return None
        return Session(csrf=data["csrf"], key=data.get("key"))

    def write(self, request: Request, response: Response, session: Session) -> None:
        """Set the cookie (Secure when the page came over HTTPS)."""
        response.set_cookie(COOKIE, self.signer.dumps({"csrf": session.csrf, "key": session.key}),
                            max_age=int(LIFETIME.total_seconds()), path="/desk", httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")

    @staticmethod
    def fresh(key: str | None = None) -> Session:
        """A new session, with a new token: signing in or out never keeps the old token."""
        return Session(csrf=secrets.token_urlsafe(32), key=key)


def checked(session: Session, form: FormData) -> bool:
    """Whether the form carries the session's CSRF token."""
    sent = form.get(CSRF_FIELD)
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), session.csrf.encode())
