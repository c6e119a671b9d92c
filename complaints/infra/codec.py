"""Payload encryption: AES-GCM with a key id in each payload, so keys can be rotated.

New payloads use the current (first) key; payloads written under a retired key still
decrypt as long as that key stays listed. Values the domain marks public (statuses,
summaries: stages, categories and deadlines only) stay readable so the Web UI and the
`temporal` CLI can show them without the codec; the free-text fields inside them are
sealed one by one (`SEALED_FIELDS`).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DefaultFailureConverter, PayloadCodec, PayloadConverter

from complaints.domain.models import Public, PublicText

ENCRYPTED = b"binary/encrypted"
SEALED_FIELDS = frozenset({"reason", "name"})
"""Free text inside public values (escalation, pause and extension reasons, a respondent's
name): staff write there whatever the case needs, a complainant's name or number included,
so these fields are encrypted in place while the rest of the status stays readable."""
SEALED = "sealed:"
READABLE_FAILURES = frozenset({"WrongStage", "BadPayload", "Refused"})
"""Application error types whose messages the workflow composes from stage and field names,
ids, dates and the rules' own words, never input values: refusals people must read without
the codec (the contract smoke test reads them with the plain `temporal` CLI)."""
KEY_ID = "encryption-key-id"
VISIBILITY = "complaintflow-visibility"


class CodecKeyError(ValueError):
    """A key configuration that cannot be used; the message says which entry."""


def parse_keys(text: str) -> dict[str, bytes]:
    """`kid:base64key` entries separated by commas or new lines; the first is current."""
    keys: dict[str, bytes] = {}
    for number, entry in enumerate(text.replace(",", "\n").split(), 1):
        kid, _, b64 = entry.partition(":")
        try:
            key = base64.b64decode(b64, validate=True)
        except ValueError:
            key = b""
        if not kid or len(key) not in (16, 24, 32):  # never echo the entry: it may be key material
            raise CodecKeyError(f"codec key {number} ({kid or 'no id'!r}): expected kid:base64 of a 128/192/256-bit key")
        keys[kid] = key
    if not keys:
        raise CodecKeyError("no codec key configured")
    return keys


def new_key_entry(kid: str) -> str:
    return f"{kid}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


def load_or_create_keys(configured: str | None, key_file: Path) -> dict[str, bytes]:
    """Keys from configuration, else from `key_file`, created atomically on first use."""
    if configured:
        return parse_keys(configured)
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=key_file.parent, delete=False) as tmp:
            tmp.write(new_key_entry("local-1") + "\n")
        os.chmod(tmp.name, 0o600)
        try:
            os.link(tmp.name, key_file)  # fails if another process created it first: use theirs
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp.name)
    return parse_keys(key_file.read_text())


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: dict[str, bytes]) -> None:
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._current = next(iter(keys))

    @property
    def current_key_id(self) -> str:
        return self._current

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") == ENCRYPTED:
            return payload
        if payload.metadata.get(VISIBILITY) == b"public":
            # the tag has done its work; without it the `temporal` CLI prints the JSON, not base64
            untagged = Payload(metadata={k: v for k, v in payload.metadata.items() if k != VISIBILITY},
                               data=payload.data)
            if payload.metadata.get("messageType") == b"temporal.api.sdk.v1.WorkflowMetadata":
                return untagged  # handler names and the current details, composed without free text
            return _rewrite_fields(untagged, self.seal_text)
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, payload.SerializeToString(), self._current.encode())
        return Payload(metadata={"encoding": ENCRYPTED, KEY_ID: self._current.encode()}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCRYPTED:
            return _rewrite_fields(payload, self.open_text) if SEALED.encode() in payload.data else payload
        kid = payload.metadata.get(KEY_ID, b"").decode()
        if kid not in self._keys:
            raise CodecKeyError(f"payload encrypted with unknown key {kid!r}: add it to the retired keys")
        plain = self._keys[kid].decrypt(payload.data[:12], payload.data[12:], kid.encode())
        return Payload.FromString(plain)

    def try_decrypt(self, payload: Payload) -> Payload:
        """Decrypt, or hand back the payload as it is when no listed key opens it."""
        try:
            return self.decrypt(payload)
        except (CodecKeyError, InvalidTag, ValueError):
            return payload

    def seal_text(self, text: str) -> str:
        """`sealed:<kid>:<base64 nonce+ciphertext>`, for one field of a public value."""
        if text.startswith(SEALED):
            return text
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, text.encode(), self._current.encode())
        return f"{SEALED}{self._current}:{base64.b64encode(nonce + sealed).decode()}"

    def open_text(self, text: str) -> str:
        """The field's text; left sealed when no listed key opens it, so the rest stays readable."""
        kid, _, b64 = text.removeprefix(SEALED).partition(":")
        if not text.startswith(SEALED) or kid not in self._keys:
            return text
        try:
            raw = base64.b64decode(b64, validate=True)
            return self._keys[kid].decrypt(raw[:12], raw[12:], kid.encode()).decode()
        except (InvalidTag, ValueError):
            return text


def _rewrite_fields(payload: Payload, change: Callable[[str], str]) -> Payload:
    """The payload with `change` applied to every `SEALED_FIELDS` string in its JSON."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: change(v) if k in SEALED_FIELDS and isinstance(v, str) else walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    try:
        value = json.loads(payload.data)
    except ValueError:
        return payload
    changed = walk(value)
    if changed == value:
        return payload
    data = json.dumps(changed, ensure_ascii=False, separators=(",", ":")).encode()
    return Payload(metadata=dict(payload.metadata), data=data)


class PublicAwarePayloadConverter(PydanticPayloadConverter):
    """Pydantic JSON conversion that tags public values so the codec leaves them readable."""

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        payloads = super().to_payloads(values)
        for value, payload in zip(values, payloads, strict=True):
            if isinstance(value, Public | PublicText | WorkflowMetadata):
                payload.metadata[VISIBILITY] = b"public"
        return payloads


class SealedFailureConverter(DefaultFailureConverter):
    """Failure messages and stack traces go through the codec, refusals excepted.

    Temporal stores failure messages in plain text. An unexpected error can quote its input
    (a database error its SQL parameters, a validation error the value it refused), so every
    failure's message and stack trace move into the encoded attributes, which the codec
    encrypts; only the workflow's own refusals (`READABLE_FAILURES`) stay readable, so a
    handler using the plain `temporal` CLI still learns why an update was refused.
    """

    def to_failure(self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure) -> None:
        super().to_failure(exception, payload_converter, failure)  # causes come back through here
        info = failure.application_failure_info
        readable = failure.HasField("application_failure_info") and info.type in READABLE_FAILURES
        if readable or failure.HasField("encoded_attributes") or not (failure.message or failure.stack_trace):
            return
        failure.encoded_attributes.CopyFrom(payload_converter.to_payloads(
            [{"message": failure.message, "stack_trace": failure.stack_trace}])[0])
        failure.message = "Encoded failure"
        failure.stack_trace = ""
