"""Structured logs: one JSON line per event, personal data masked wherever it appears.

Two layers, because neither alone is enough: fields known to hold complaint text or
identity are withheld by name, however deeply nested; every remaining string (the event,
formatted exceptions, the standard library's and Temporal's own records) is masked by
pattern for phone numbers, ID numbers, bank cards and e-mail addresses, and for the places
where libraries quote their input (validation errors, SQL parameters, model reprs).
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

from complaints.infra.tracing import trace_id

NEVER_LOGGED = frozenset({
    # complaint text, in the intake and in the handlers' actions
    "content", "subject", "requested_remedy", "evidence", "findings", "plan", "remedies", "result", "comment",
    "note", "root_cause", "improvements", "reason",
    # messages to the complainant quote the staff's free text; the archive's outbox keeps them
    "notice",
    # identity
    "name", "complainant", "phone", "email", "id_number", "customer_id", "customer_key", "intake", "repeat",
    # credentials
    "authorization", "api_key", "key", "keys", "codec_keys",
})
"""Fields whose values are complaint text, identity or secrets: dropped, not masked."""

_TEXT_FIELDS = "|".join(sorted(NEVER_LOGGED))

MASKS: list[tuple[re.Pattern[str], str]] = [
    # where libraries quote input: pydantic errors, SQLAlchemy errors, reprs and JSON of models
    (re.compile(r"input_value=.*?(?=, input_type=|\]$|$)", re.M), "input_value=[withheld]"),
    (re.compile(r"\[parameters: .*?\](?=\s*(?:\(Background|\n|$))", re.S), "[parameters: withheld]"),
    (re.compile(rf"\b({_TEXT_FIELDS})=(['\"]).*?(?<!\\)\2", re.S), r"\1=[withheld]"),
    (re.compile(rf"(['\"])({_TEXT_FIELDS})\1(\s*:\s*)(['\"]).*?(?<!\\)\4", re.S), r"\1\2\1\3\4[withheld]\4"),
    # a codec endpoint that carries its key in the path (the Web UI's form, see api/codec.py)
    (re.compile(r"(/codec/k/)[^/\s\"']+"), r"\1[key]"),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{6,}"), r"\1[key]"),
    # personal numbers and addresses; longest numbers first, so an ID number is not half-masked as a phone
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"(?<![\dA-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![\dA-Za-z])"),
     "[id-number]"),
    (re.compile(r"(?<!\d)[1-9]\d{16}[\dXx](?!\d)"), "[id-number]"),
    (re.compile(r"(?<!\d)\d{4}(?:[ \-]?\d{4}){2}[ \-]?\d{1,4}(?:[ \-]?\d{1,3})?(?!\d)"), "[card]"),
    (re.compile(r"(?<!\d)(?:\+?86[ \-]?)?1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}(?!\d)"), "[phone]"),
    (re.compile(r"(?<!\d)0\d{2,3}[ \-]?\d{7,8}(?!\d)"), "[phone]"),
]
"""Applied in order to every string that reaches a log record."""

OWN_IDS = re.compile(r"(?<![A-Za-z0-9])C[0-9A-F]{15}(?![A-Za-z0-9])|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")
"""Complaint ids and run ids: digit runs inside them are not phone numbers, and logs need them whole."""


def mask(text: str) -> str:
    kept: list[str] = []

    def keep(found: re.Match[str]) -> str:
        kept.append(found.group())
        return f"\x00{len(kept) - 1}\x00"

    text = OWN_IDS.sub(keep, text)
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text) if kept else text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: "[withheld]" if str(k).lower() in NEVER_LOGGED else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask(str(value))  # a model, an exception, a path: as the renderer would print it, masked


def mask_personal_data(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: withhold complaint text, mask numbers and addresses."""
    return _scrub(event)


def add_trace_id(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the current trace's id, so a log line leads to its trace."""
    found = trace_id()
    if found:
        event.setdefault("trace_id", found)
    return event


def configure(level: str = "INFO") -> None:
    """Route structlog and the standard library (Temporal's own logs) through the masker."""
    shared = [
        structlog.contextvars.merge_contextvars,
        add_trace_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, mask_personal_data,
                    structlog.processors.JSONRenderer(ensure_ascii=False)],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info,
                    mask_personal_data, structlog.processors.JSONRenderer(ensure_ascii=False, default=str)],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # servers that bring their own handlers
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


log = structlog.get_logger("complaints")
