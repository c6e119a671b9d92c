"""Evidence files: what they are (sniffed from their bytes), and where they are kept, sealed.

A file is addressed by the SHA-256 of its contents, so the same recording sent twice is
stored once. On disk it is sealed with the codec's key ring (AES-GCM, the key id in the
file's first line and in the archive), so the folder holds no readable name, number or voice.
`Folder` is the storage interface's one implementation: a local directory, which a deployment
points at a mounted volume (`COMPLAINTS_EVIDENCE_DIR`).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .codec import CodecKeyError

MAX_BYTES = 50 * 1024 * 1024
"""The largest evidence file: an hour of phone recording or a scanned contract fits."""


class Unacceptable(ValueError):
    """A file refused, with the reason; `status` is the HTTP answer (413 too large, 415 wrong type)."""

    def __init__(self, name: str, reason: str, status: int) -> None:
        super().__init__(f"{name}: {reason}")
        self.status = status


# --- what a file is -----------------------------------------------------------------------

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"ID3", 0, "audio/mpeg"),
    (b"OggS", 0, "audio/ogg"),
    (b"fLaC", 0, "audio/flac"),
    (b"#!AMR", 0, "audio/amr"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-ole-storage"),  # .doc, .xls, .ppt, Outlook .msg
)
_RIFF = {b"WAVE": "audio/wav", b"WEBP": "image/webp", b"AVI ": "video/x-msvideo"}
_FTYP = {b"M4A ": "audio/mp4", b"heic": "image/heic", b"heix": "image/heic", b"qt  ": "video/quicktime"}
_OFFICE = {"word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
_EXECUTABLES = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")
_HEADER = re.compile(rb"^[A-Za-z][A-Za-z0-9-]*:[ \t]")
ACCEPTED = "recordings, images, PDF, e-mail and office documents"


def sniff(data: bytes, name: str) -> str:
    """The file's media type from its first bytes, never from its name; Unacceptable otherwise."""
    if len(data) > MAX_BYTES:
        raise Unacceptable(name, f"{len(data)} bytes, over the {MAX_BYTES} bytes an evidence file may have", 413)
    if not data:
        raise Unacceptable(name, "the file is empty", 415)
    for magic, at, media_type in _MAGIC:
        if data[at:at + len(magic)] == magic:
            return media_type
    if data.startswith(_EXECUTABLES):
        raise Unacceptable(name, f"an executable or script, whatever its name; accepted: {ACCEPTED}", 415)
    if data[:4] == b"RIFF" and data[8:12] in _RIFF:
        return _RIFF[data[8:12]]
    if data[4:8] == b"ftyp":
        return _FTYP.get(data[8:12], "video/mp4")
    if data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if data[:4] == b"PK\x03\x04":
        return _office(data, name)
    if _is_email(data):
        return "message/rfc822"
    raise Unacceptable(name, f"not a type kept as evidence; accepted: {ACCEPTED}", 415)


def _office(data: bytes, name: str) -> str:
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        entries = []
    for prefix, media_type in _OFFICE.items():
        if any(e.startswith(prefix) for e in entries):
            return media_type
    if "mimetype" in entries:  # OpenDocument
        return "application/vnd.oasis.opendocument"
    raise Unacceptable(name, f"a ZIP archive that is no office document; accepted: {ACCEPTED}", 415)


def _is_email(data: bytes) -> bool:
    """RFC 5322 headers up to the first blank line, with From and Subject or Date among them."""
    head = data[:16384].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    lines = [line for line in head.replace(b"\r\n", b"\n").split(b"\n") if line and line[:1] not in b" \t"]
    names = {line.split(b":", 1)[0].lower() for line in lines}
    return bool(lines) and all(_HEADER.match(line) for line in lines) and b"from" in names and bool(
        {b"subject", b"date"} & names)


# --- where files are kept -----------------------------------------------------------------


class EvidenceStore(Protocol):
    """Sealed blobs by SHA-256 of their plain contents."""

    def put(self, sha256: str, sealed: bytes, replace: bool = False) -> bool: ...
    def get(self, sha256: str) -> bytes | None: ...
    def delete(self, sha256: str) -> None: ...


@dataclass
class Folder:
    """A local directory, two levels of fan-out by hash; writes are atomic (temporary file, then link)."""

    root: Path

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, sealed: bytes, replace: bool = False) -> bool:
        """Keep the blob unless it is kept already (`replace`: re-sealed, it takes the old one's
        place in one step); whether this call wrote it."""
        target = self.path(sha256)
        if target.exists() and not replace:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            tmp.write(sealed)
        if replace:
            os.replace(tmp.name, target)
            return True
        try:
            os.link(tmp.name, target)
        except FileExistsError:
            return False  # a concurrent upload of the same file won
        finally:
            os.unlink(tmp.name)
        return True

    def get(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


# --- sealing ------------------------------------------------------------------------------


def seal_file(keys: dict[str, bytes], data: bytes, sha256: str) -> tuple[str, bytes]:
    """(key id, `<key id>\\n` + nonce + AES-GCM ciphertext), bound to the file's hash."""
    kid = next(iter(keys))
    nonce = os.urandom(12)
    return kid, kid.encode() + b"\n" + nonce + AESGCM(keys[kid]).encrypt(nonce, data, sha256.encode())


def open_file(keys: dict[str, bytes], sealed: bytes, sha256: str) -> bytes:
    kid, _, rest = sealed.partition(b"\n")
    key = keys.get(kid.decode(errors="replace"))
    if key is None:
        raise CodecKeyError(f"evidence {sha256} is sealed with key id {kid.decode(errors='replace')!r}, which no "
                            "configured codec key opens (COMPLAINTS_CODEC_KEYS or COMPLAINTS_CODEC_KEY_FILE)")
    return AESGCM(key).decrypt(rest[:12], rest[12:], sha256.encode())


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
