"""API keys and roles: `Authorization: Bearer <key>`, each key one role (contract section 5).

Keys come from `COMPLAINTS_API_KEYS` (`key1:channel,key2:manager,...`) or, when that names
a file, from the file (one `key:role` a line). Missing or unknown key: 401; wrong role: 403.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from fastapi import Depends, HTTPException, Request, status

from complaints.domain.models import Role

ROLES: tuple[str, ...] = get_args(Role)
READERS = ("handler", "manager", "emergency", "auditor")
"""Who may list complaints."""
CASE_READERS = ("handler", "manager", "auditor")
"""Who may read a complaint's personal data: those who handle, supervise or audit it."""
UPLOADERS = ("channel", "handler", "manager")
"""Who may add evidence: the channel that took the complaint, and the staff handling it."""


class ApiKeyError(ValueError):
    """A key configuration that cannot be used."""


@dataclass(frozen=True)
class Caller:
    role: str
    name: str = ""
    """Who the key belongs to, as the read audit names it: the role and the key's fingerprint
    (never the key itself)."""


def parse_keys(configured: str | None) -> dict[str, str]:
    """{key: role} from the setting's value, or from the file it names."""
    if not configured:
        return {}
    path = Path(configured)
    text = path.read_text(encoding="utf-8") if ":" not in configured and path.is_file() else configured
    keys: dict[str, str] = {}
    for entry in text.replace(",", "\n").split():
        if entry.startswith("#"):
            continue
        key, _, role = entry.rpartition(":")
        if not key or role not in ROLES:
            raise ApiKeyError(f"COMPLAINTS_API_KEYS: entry ending {role!r} needs key:role with role one of {ROLES}")
        keys[key] = role
    return keys


def caller(request: Request) -> Caller:
    """The caller's role from its bearer key, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing API key: send Authorization: Bearer <key>",
                            headers={"WWW-Authenticate": "Bearer"})
    found = identify(request.app.state.api_keys, key.strip())
    if found is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    return found


def fingerprint(key: str) -> str:
    """A key's SHA-256: what the workbench's session names it by (never the key itself)."""
    return hashlib.sha256(key.encode()).hexdigest()


def identify(keys: dict[str, str], key: str, *, by_fingerprint: bool = False) -> Caller | None:
    """The caller a configured key (or, `by_fingerprint`, its fingerprint) stands for; None if unknown."""
    for known, role in keys.items():
        if hmac.compare_digest((fingerprint(known) if by_fingerprint else known).encode(), key.encode()):
            return Caller(role, f"{role}:key-{fingerprint(known)[:8]}")
    return None


def require(*roles: str) -> Callable[..., Caller]:
    """A dependency admitting only callers whose key has one of `roles` (403 otherwise)."""

    def check(who: Caller = Depends(caller)) -> Caller:
        if who.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {who.role} may not do this; needs {' or '.join(roles)}")
        return who

    return check
