"""A handful of demo complaints in different stages, so a new user sees the desk at work.

Idempotent: each demo has its own channel reference, so loading twice files nothing new.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

from temporalio.client import Client

from complaints.domain.models import Intake
from complaints.infra.archive import Archive
from complaints.intake import file_complaint

HANDLER = "handler-wang"
ASSESS = {"handler": HANDLER, "category": "collection.off_hours", "severity": "normal", "interim_measure": True}
INVESTIGATE = {"handler": HANDLER, "findings": "Dialler log shows calls at 23:10 and 23:40",
               "root_cause": "dialler ignored quiet hours", "substantiated": True}
PROPOSE = {"handler": HANDLER, "plan": "Written apology; quiet hours enforced in the dialler",
           "remedies": ["written apology", "dialler fix"]}

DEMOS: list[tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]] = [
    ({"channel": "phone", "external_ref": "DEMO-1", "content": "催收员晚上十一点多连续打电话，态度恶劣。",
      "complainant": {"name": "演示一", "phone": "13800000001"},
      "respondent": {"kind": "agency", "id": "AGENCY-07", "name": "Outsourced agency 7"}}, []),
    ({"channel": "web_form", "external_ref": "DEMO-2", "content": "催收人员打电话给我的单位领导和家人，泄露欠款。",
      "complainant": {"name": "演示二", "phone": "13800000002"}},
     [("assess", {**ASSESS, "category": "collection.third_party"})]),
    ({"channel": "email", "external_ref": "DEMO-3", "subject": "Unauthorised card transaction",
      "content": "A payment of 4,999 CNY I did not make appeared on my card statement.",
      "complainant": {"name": "Demo Three", "email": "demo3@example.com"}},
     [("assess", {**ASSESS, "category": "card.unauthorized_transaction", "severity": "high"}),
      ("investigate", INVESTIGATE), ("propose_solution", PROPOSE)]),
    ({"channel": "sms", "external_ref": "DEMO-4", "content": "催收员说要上门弄死我，我很害怕。",
      "complainant": {"name": "演示四", "phone": "13800000004"}}, []),
    ({"channel": "letter", "external_ref": "DEMO-5", "content": "信用卡年费收费不合理，要求退还。",
      "complainant": {"name": "演示五", "phone": "13800000005"}, "received_at": "hours-ago:3"}, []),
    ({"channel": "regulator", "external_ref": "DEMO-6", "content": "监管转办：客户反映分期还款计划被拒绝。",
      "complainant": {"name": "演示六", "phone": "13800000006"}},
     [("assess", {**ASSESS, "category": "service.repayment_plan", "severity": "high", "interim_measure": False}),
      ("pause", {"handler": HANDLER, "reason": "external appraisal of the repayment capacity"})]),
]
"""(intake body, the actions that move it): waiting in assessment, in investigation, in
solution, urgent and escalated, received three hours ago by letter (its assessment deadline
already breached), and a regulator transfer paused for external appraisal."""


def _body(body: dict[str, Any], now: datetime) -> dict[str, Any]:
    received = body.get("received_at")
    if isinstance(received, str) and received.startswith("hours-ago:"):
        body = {**body, "received_at": (now - timedelta(hours=int(received.split(":")[1]))).isoformat()}
    return body


async def load_demo(client: Client, task_queue: str, archive: Archive) -> list[str]:
    """File the demo complaints that are not there yet and move them; returns every demo id."""
    now = datetime.now(timezone.utc)
    ids = []
    for body, actions in DEMOS:
        filed = await file_complaint(client, task_queue, Intake.model_validate(_body(body, now)), archive)
        ids.append(filed.complaint_id)
        if filed.created:
            handle = client.get_workflow_handle(filed.workflow_id)
            while (await handle.query("status"))["stage"] == "receipt":  # handlers act once it is assessed
                await asyncio.sleep(0.1)
            for update, payload in actions:
                await handle.execute_update(update, payload)
    return ids
