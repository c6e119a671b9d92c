"""One complaint's way from intake to `closed`: the intake body and the seven handler updates.

The benchmark drives it through the HTTP API, the fault tests through the Temporal client;
both use these payloads so they exercise the same path.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

HANDLER = "handler-bench"

STEPS: list[tuple[str, dict[str, Any]]] = [
    ("assess", {"handler": HANDLER, "category": "card.amount_error", "severity": "normal"}),
    ("investigate", {"handler": HANDLER, "findings": "The statement charged the annual fee twice.",
                     "root_cause": "batch job rerun", "substantiated": True}),
    ("propose_solution", {"handler": HANDLER, "plan": "Refund the second fee.", "remedies": ["refund"],
                          "amount": 120.0}),
    ("record_execution", {"handler": HANDLER, "result": "Refunded on the next statement."}),
    ("record_feedback", {"handler": HANDLER, "accepted": True}),
    ("record_revisit", {"handler": HANDLER, "reached": True, "satisfaction": 4}),
    ("summarize", {"handler": HANDLER, "root_cause": "batch job rerun", "improvements": ["idempotent fee job"]}),
]
"""The happy path: each update and the stage it leads to is in the contract, section 4."""

STAGE_AFTER = ["investigation", "solution", "solution", "feedback", "revisit", "summary", "closed"]
"""The stage a complaint is in after the first k+1 steps."""


def intake_body(ref: str, received_at: datetime | None = None, channel: str = "web_form") -> dict[str, Any]:
    """A valid intake (contract section 5) with its own channel reference."""
    body: dict[str, Any] = {
        "channel": channel,
        "external_ref": ref,
        "subject": "Annual fee charged twice",
        "content": "My card statement shows the annual fee charged twice, wrong amount this month.",
        "complainant": {"name": "Li Wei", "phone": f"+86 139{zlib.crc32(ref.encode()) % 10**8:08d}",
                        "customer_id": f"cust-{ref}"},
    }
    if received_at is not None:
        body["received_at"] = received_at.isoformat()
    return body
