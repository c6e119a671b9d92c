"""Structured logs: one JSON line per event, personal data masked wherever it appears."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

MASKS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"(?<!\d)[1-9]\d{16}[\dXx](?!\d)"), "[id-number]"),
    (re.compile(r"(?<!\d)\d{4}[ \-]?\d{4}[ \-]?\d{4}[ \-]?\d{4}(?:\d{1,3})?(?!\d)"), "[card]"),
    (re.compile(r"(?<!\d)(?:\+?86[ \-]?)?1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}(?!\d)"), "[phone]"),
    (re.compile(r"(?<!\d)0\d{2,3}[ \-]?\d{7,8}(?!\d)"), "[phone]"),
]
"""Longest numbers first: an ID number must not be half-masked as a phone number."""

NEVER_LOGGED = frozenset({"content", "findings", "plan", "result", "comment", "name", "complainant", "subject"})
"""Fields whose values are complaint text or identity: dropped, not masked."""


def mask(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: "[withheld]" if k in NEVER_LOGGED else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def mask_personal_data(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: withhold complaint text, mask numbers and addresses."""
    return _scrub(event)


def configure(level: str = "INFO") -> None:
    """Route structlog and the standard library (Temporal's own logs) through the masker."""
    shared = [
        structlog.contextvars.merge_contextvars,
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
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info,
                    mask_personal_data, structlog.processors.JSONRenderer(ensure_ascii=False)],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


log = structlog.get_logger("complaints")
