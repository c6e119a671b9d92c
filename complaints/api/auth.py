"""API keys and roles: `Authorization: Bearer <key>`, each key one role or one person (contract
sections 5 and 7).

Keys come from `COMPLAINTS_API_KEYS` (`key1:channel,key2:manager,key3:h.zhang,...`) or, when that
names a file, from the file (one entry a line). `key:<role>` is a bare role (channels, machines);
`key:<person id>` binds the key to a person of `COMPLAINTS_PEOPLE_FILE`, whose role is the file's.
Missing or unknown key: 401; wrong role: 403.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from fastapi import Depends, HTTPException, Request, status

from complaints.domain.models import Role
from complaints.domain.people import People, Person, on_behalf

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
    """Who the key belongs to, as the read audit names it: the person id, or the role and the
    key's fingerprint (never the key itself)."""
    person: Person | None = None
    """The person the key is bound to (`key:<person id>`); None for a bare role's key."""

    @property
    def person_id(self) -> str | None:
        return self.person.id if self.person else None


def parse_keys(configured: str | None, people: People | None = None) -> dict[str, Caller]:
    """{key: caller} from the setting's value, or from the file it names; a person's key needs `people`."""
    if not configured:
        return {}
    path = Path(configured)
    text = path.read_text(encoding="utf-8") if ":" not in configured and path.is_file() else configured
    keys: dict[str, Caller] = {}
    for entry in text.replace(",", "\n").split():
        if entry.startswith("#"):
            continue
        key, _, holder = entry.rpartition(":")
        person = people.person(holder) if people else None
        if not key or (holder not in ROLES and person is None):
            raise ApiKeyError(f"COMPLAINTS_API_KEYS: entry ending {holder!r} needs key:role with role one of {ROLES}"
                              + (", or key:<person id> of COMPLAINTS_PEOPLE_FILE" if people else
                                 " (key:<person id> needs COMPLAINTS_PEOPLE_FILE)"))
        fingerprint = hashlib.sha256(key.encode()).hexdigest()[:8]
        keys[key] = (Caller(person.role, person.id, person) if person else
                     Caller(holder, f"{holder}:key-{fingerprint}"))
    return keys


def identify(keys: Mapping[str, Caller], key: str) -> Caller | None:
    """The caller a key stands for (`app.state.api_keys`), compared in constant time; None: unknown."""
    for known, who in keys.items():
        if hmac.compare_digest(known.encode(), key.strip().encode()):
            return who
    return None


def caller(request: Request) -> Caller:
    """The caller from its bearer key, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing API key: send Authorization: Bearer <key>",
                            headers={"WWW-Authenticate": "Bearer"})
    who = identify(request.app.state.api_keys, key)
    if who is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    return who


def require(*roles: str) -> Callable[..., Caller]:
    """A dependency admitting only callers whose key has one of `roles` (403 otherwise)."""

    def check(who: Caller = Depends(caller)) -> Caller:
        if who.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {who.role} may not do this; needs {' or '.join(roles)}")
        return who

    return check


def acting(who: Caller, people: People | None, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload of `action` as `who` sends it: with a people file and a person's key, its acting
    field (handler, by, lead) filled or checked and the assignee and approver checked against the
    file (`NotThePerson`, a 403, names the field); otherwise as given, names from the body."""
    if people is None or who.person is None:
        return payload
    return on_behalf(people, who.person, action, payload)
