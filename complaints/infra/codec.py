"""Payload encryption: AES-GCM with a key id in each payload, so keys can be rotated.

New payloads use the current (first) key; payloads written under a retired key still
decrypt as long as that key stays listed. Values the domain marks public (statuses,
summaries: stages, categories and deadlines only) stay readable so the Web UI and the
`temporal` CLI can show them without the codec; the free-text fields inside them are
sealed one by one (`SEALED_FIELDS`).

Keys come only from configuration: a process that made its own key would seal complaints
no worker can open, so every process but the project's `make` and `complaints setup --new-codec-key`
refuses to start without one, and a key's id is its fingerprint.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    DefaultFailureConverter,
    PayloadCodec,
    PayloadConverter,
    SerializationContext,
    WithSerializationContext,
)

from complaints.domain.models import Public, PublicText
from complaints.infra.metrics import count, process_meter
from complaints.infra.nesting import nests_deeper
from complaints.infra.settings import SettingError

ENCRYPTED = b"binary/encrypted"
SEALED_FIELDS = frozenset({"reason", "name"})
"""Free text inside public values (escalation, pause and extension reasons, a respondent's
name): staff write there whatever the case needs, a complainant's name or number included,
so these fields are encrypted in place while the rest of the status stays readable."""
SEALED = "sealed:"
READABLE_FAILURES = frozenset({"WrongStage", "BadPayload", "Refused", "UnreadablePayload"})
"""Application error types whose messages the workflow composes from stage and field names,
ids, dates and the rules' own words, never input values: refusals people must read without
the codec (the contract smoke test reads them with the plain `temporal` CLI), and the
codec's own refusal, which names only a workflow id and a key id."""
KEY_ID = "encryption-key-id"
COMPRESS_FROM = 200
"""Sealed payloads from this many bytes on are compressed first (zlib) when that makes them
smaller: the history keeps every one, and JSON shrinks to a third."""
ZLIB = b"\x78"
"""A zlib stream's first byte; a serialized Payload never starts with it (it would be field
15, which Payload does not have), so a sealed payload says by itself whether it was compressed
and those sealed before compression stay readable."""
VISIBILITY = "complaintflow-visibility"
KEYS_SETTING = "COMPLAINTS_CODEC_KEYS"
KEY_FILE_SETTING = "COMPLAINTS_CODEC_KEY_FILE"


class CodecKeyError(SettingError):
    """A key configuration that cannot be used; the message names the setting and the entry."""


class UnreadablePayload(CodecKeyError):
    """A payload sealed with a key id no configured key opens; names the workflow and the key id."""


def key_id(key: bytes) -> str:
    """A key's id, from its fingerprint: two different keys never share one, so a stray key
    shows as an unknown id instead of a known id that fails to open."""
    return "k-" + hashlib.sha256(b"complaintflow codec key id:" + key).hexdigest()[:16]


def parse_keys(text: str, source: str = KEYS_SETTING) -> dict[str, bytes]:
    """`kid:base64key` entries separated by commas or new lines; the first is current.

    One id naming two different keys is refused: which of them would open a payload under it?
    """
    keys: dict[str, bytes] = {}
    for number, entry in enumerate(text.replace(",", "\n").split(), 1):
        kid, _, b64 = entry.partition(":")
        try:
            key = base64.b64decode(b64, validate=True)
        except ValueError:
            key = b""
        if not kid or len(key) not in (16, 24, 32):  # never echo the entry: it may be key material
            raise CodecKeyError(f"{source}: codec key {number} ({kid or 'no id'!r}): "
                                "expected kid:base64 of a 128/192/256-bit key")
        if keys.setdefault(kid, key) != key:
            raise CodecKeyError(f"{source}: codec key {number} reuses id {kid!r} for a different key; "
                                "every key needs an id of its own")
    if not keys:
        raise CodecKeyError(f"{source}: holds no codec key")
    return keys


def new_key_entry() -> str:
    """A fresh 256-bit key as `kid:base64key`, its id made from its fingerprint."""
    key = AESGCM.generate_key(bit_length=256)
    return f"{key_id(key)}:{base64.b64encode(key).decode()}"


def load_keys(configured: str | None, key_file: Path) -> dict[str, bytes]:
    """The key ring from `COMPLAINTS_CODEC_KEYS`, else from the key file; never a new key."""
    if configured:
        return parse_keys(configured)
    try:
        text = key_file.read_text()
    except FileNotFoundError:
        raise CodecKeyError(f"no codec key: set {KEYS_SETTING}, or {KEY_FILE_SETTING} (now {key_file}, "
                            "which does not exist); `complaints setup --new-codec-key` makes one") from None
    except OSError as err:
        raise CodecKeyError(f"{KEY_FILE_SETTING} {key_file}: cannot be read ({err.strerror})") from None
    return parse_keys(text, f"{KEY_FILE_SETTING} {key_file}")


def create_key_file(key_file: Path) -> str:
    """A new private key file holding one fresh key; returns its id. Never replaces a file:
    its key may already seal complaints."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    entry = new_key_entry()
    with tempfile.NamedTemporaryFile("w", dir=key_file.parent, delete=False) as tmp:
        tmp.write(entry + "\n")
    os.chmod(tmp.name, 0o600)
    try:
        os.link(tmp.name, key_file)  # atomic, and fails if the file exists
    except FileExistsError:
        raise CodecKeyError(f"{KEY_FILE_SETTING} {key_file} exists already; its key may seal complaints, "
                            "so it is kept as it is") from None
    finally:
        os.unlink(tmp.name)
    return entry.partition(":")[0]


def rotate_key_file(key_file: Path) -> str:
    """Put a fresh key first in the key file (the current one from the next start on), every
    listed key kept after it so what they sealed stays readable; returns the new key's id."""
    keys = load_keys(None, key_file)
    entry = new_key_entry()
    lines = [entry] + [f"{kid}:{base64.b64encode(key).decode()}" for kid, key in keys.items()]
    with tempfile.NamedTemporaryFile("w", dir=key_file.parent, delete=False) as tmp:
        tmp.write("\n".join(lines) + "\n")
    os.chmod(tmp.name, 0o600)
    os.replace(tmp.name, key_file)
    return entry.partition(":")[0]


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload anywhere in a protobuf message: inputs, results, headers, memo, user
    metadata, failures' encoded attributes, search attributes."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            items = [v for v in value.values() if isinstance(v, Message)]
        elif isinstance(value, Message):
            items = [value]
        else:
            items = list(value)
        for item in items:
            yield from payloads_in(item)


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    def __init__(self, keys: dict[str, bytes]) -> None:
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._current = next(iter(keys))
        self._workflow_id: str | None = None

    def with_context(self, context: SerializationContext) -> Self:
        """A copy that knows whose payloads it handles, so a refusal names the complaint."""
        bound = copy.copy(self)
        bound._workflow_id = getattr(context, "workflow_id", None)
        return bound

    @property
    def current_key_id(self) -> str:
        return self._current

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        try:
            return [self.decrypt(p) for p in payloads]
        except UnreadablePayload:
            count(process_meter(), "complaints_undecryptable_inputs")
            raise

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
        plain = payload.SerializeToString()
        if len(plain) >= COMPRESS_FROM and len(packed := zlib.compress(plain, 6)) < len(plain):
            plain = packed
        nonce = os.urandom(12)
        sealed = self._keys[self._current].encrypt(nonce, plain, self._current.encode())
        return Payload(metadata={"encoding": ENCRYPTED, KEY_ID: self._current.encode()}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCRYPTED:
            return _rewrite_fields(payload, self.open_text) if SEALED.encode() in payload.data else payload
        kid = payload.metadata.get(KEY_ID, b"").decode()
        plain = self._open(kid, payload.data)
        if plain is None:
            whose = f"{self._workflow_id}: " if self._workflow_id else ""
            raise UnreadablePayload(f"{whose}payload sealed with key id {kid!r}, which no configured key opens "
                                    f"({KEYS_SETTING} or {KEY_FILE_SETTING})")
        return Payload.FromString(zlib.decompress(plain) if plain[:1] == ZLIB else plain)

    def _open(self, kid: str, sealed: bytes) -> bytes | None:
        """The plain bytes of `nonce + ciphertext`, or None when no configured key opens them."""
        cipher = self._keys.get(kid)
        try:
            return cipher.decrypt(sealed[:12], sealed[12:], kid.encode()) if cipher else None
        except InvalidTag:
            return None

    def opens(self, payload: Payload) -> bool:
        """Whether a configured key opens `payload` (a plain one needs none)."""
        try:
            self.decrypt(payload)
        except UnreadablePayload:
            return False
        return True

    def try_decrypt(self, payload: Payload) -> Payload:
        """Decrypt, or hand back the payload as it is when no listed key opens it."""
        try:
            return self.decrypt(payload)
        except ValueError:
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
        if not text.startswith(SEALED):
            return text
        kid, _, b64 = text.removeprefix(SEALED).partition(":")
        try:
            plain = self._open(kid, base64.b64decode(b64, validate=True))
            return text if plain is None else plain.decode()
        except ValueError:
            return text


def _rewrite_fields(payload: Payload, change: Callable[[str], str]) -> Payload:
    """The payload with `change` applied to every `SEALED_FIELDS` string in its JSON."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: change(v) if k in SEALED_FIELDS and isinstance(v, str) else walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    if nests_deeper(payload.data):
        return payload  # not a value of ours: walking it could exhaust the stack
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
            if isinstance(value, PublicText | WorkflowMetadata | Public):
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
