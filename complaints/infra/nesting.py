"""How deep a JSON text nests, found without parsing it.

Python's JSON parser, pydantic and protobuf all recurse once per level, and a hostile body a
few hundred levels deep reaches Python's recursion limit in one of them. Nothing the service
reads or writes nests more than a handful of levels, so a body deeper than `MAX_NESTING` is
refused (the API) or left as it is (the codec) before any of them sees it.
"""

from __future__ import annotations

import re

MAX_NESTING = 32
"""Levels of `[` and `{` a JSON text may open; nothing the service makes comes near it."""

_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]+|[\]}]+')
"""A string (skipped whole, escapes included), a run of openings, or a run of closings."""


def nests_deeper(data: bytes, levels: int = MAX_NESTING) -> bool:
    """Whether `data` opens more than `levels` brackets at once (valid JSON or not: an unclosed
    run counts, since a parser recurses into it before it finds the text invalid)."""
    depth = 0
    for token in _TOKENS.finditer(data):
        run = token.group()
        if run[0] in b"[{":
            depth += len(run)
            if depth > levels:
                return True
        elif run[0] != 0x22:
            depth = max(0, depth - len(run))
    return False
