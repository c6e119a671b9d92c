"""Personal data sealed at rest in the archive, field by field, with the codec's key ring.

Each sealed column holds `sealed:<key id>:<base64 nonce+ciphertext>` (AES-GCM, the codec's
own format), written under the current key; a row written under an older key stays readable
while that key is listed. Columns looked up by value (phone, ID number, customer id) get a
keyed hash (HMAC-SHA256) beside them, so duplicate detection still finds a repeat without
the archive ever holding the plain value.

The key ring rides on the engine's dialect (`seal_with`), so `SealedText` columns encrypt
and decrypt inside SQLAlchemy and no query code changes; an engine without one refuses to
write or read personal data rather than store it in the clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, String, Text, TypeDecorator

from .codec import SEALED
from .settings import SettingError

LOOKUP_LABEL = b"complaintflow archive lookup hash"


class Sealer:
    """Seal, open and hash one field's value under a key ring (first key current)."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        self.keys = keys
        self.current_key_id = next(iter(keys))
        self._lookup = {kid: hmac.new(key, LOOKUP_LABEL, hashlib.sha256).digest() for kid, key in keys.items()}

    def seal(self, value: str) -> str:
        """Always sealed, even text that looks sealed already (a complainant may type anything);
        the codec's own format, so `open` reads it."""
        kid = self.current_key_id
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[kid]).encrypt(nonce, value.encode(), kid.encode())
        return f"{SEALED}{kid}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, value: str) -> str:
        """The plain text (a value never sealed, from before 0005, as it is); a value no listed key
        opens is an error naming its key id, never handed out as if it were the text."""
        if not value.startswith(SEALED):
            return value
        kid, _, b64 = value.removeprefix(SEALED).partition(":")
        try:
            raw = base64.b64decode(b64, validate=True)
            return AESGCM(self.keys[kid]).decrypt(raw[:12], raw[12:], kid.encode()).decode()
        except (KeyError, ValueError, InvalidTag):
            raise SettingError(f"archive value sealed with key id {kid!r}, which no configured codec key opens "
                               "(COMPLAINTS_CODEC_KEYS or COMPLAINTS_CODEC_KEY_FILE)") from None

    def digest(self, value: str | None) -> str | None:
        """The keyed hash written beside a value, under the current key."""
        return None if value is None else self._hash(self.current_key_id, value)

    def digests(self, value: str) -> list[str]:
        """The value's hash under every listed key: a lookup finds rows hashed before a rotation."""
        return [self._hash(kid, value) for kid in self._lookup]

    def _hash(self, kid: str, value: str) -> str:
        return hmac.new(self._lookup[kid], value.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def key_of(value: str) -> str | None:
        """The key id a sealed value was written under (None for plain text)."""
        return value.removeprefix(SEALED).partition(":")[0] if value.startswith(SEALED) else None


def seal_with(engine: Engine, keys: dict[str, bytes]) -> Sealer:
    """Give `engine` the key ring its `SealedText` columns use; returns the sealer. The ring
    belongs to the engine (one per database URL and process, `db.engine_for`): the last one
    given is the one its columns use."""
    sealer = Sealer(keys)
    engine.dialect.complaints_sealer = sealer  # type: ignore[attr-defined]
    return sealer


def sealer_of(dialect: Any) -> Sealer:
    sealer = getattr(dialect, "complaints_sealer", None)
    if sealer is None:
        raise SettingError("the archive was opened without the codec key ring; personal data is never "
                           "written or read in the clear")
    return sealer


class SealedText(TypeDecorator):
    """Text sealed with the engine's key ring on the way in, opened on the way out.

    `sqlite_length`: the VARCHAR length the column had before it was sealed. SQLite keeps text
    of any length in it and cannot retype a column in place (a table copy would drop the
    complaints every other table refers to), so there the column keeps its old declaration.
    """

    impl = Text
    cache_ok = True

    def __init__(self, sqlite_length: int | None = None) -> None:
        super().__init__()
        self.sqlite_length = sqlite_length

    def load_dialect_impl(self, dialect: Any) -> Any:
        return String(self.sqlite_length) if dialect.name == "sqlite" and self.sqlite_length else Text()

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else sealer_of(dialect).seal(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else sealer_of(dialect).open(value)
