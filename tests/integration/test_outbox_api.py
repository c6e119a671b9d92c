"""`GET /outbox`: what became of each notice, for auditors and managers."""

from __future__ import annotations

import httpx

from activities.delivery import NOT_CONFIGURED
from tests.integration.apihelp import api_settings, app, auth, eventually, http, intake  # noqa: F401


async def test_the_outbox_lists_each_notice_with_its_state_and_no_text(http: httpx.AsyncClient) -> None:  # noqa: F811
    filed = await http.post("/complaints", json=intake("OUTBOX-1"), headers=auth("channel"))
    cid = filed.json()["complaint_id"]

    async def notices() -> list[dict]:
        return (await http.get("/outbox", headers=auth("auditor"))).json()

    found = await eventually(notices, lambda rows: any(r["complaint_id"] == cid and r["last_error"] for r in rows))
    [ack] = [r for r in found if r["complaint_id"] == cid and r["kind"] == "acknowledgement"]
    assert (ack["status"], ack["channel"], ack["last_error"]) == ("pending", "sms", NOT_CONFIGURED)
    assert "message" not in ack and "Test Person" not in str(found)
    assert (await http.get("/outbox?status=failed", headers=auth("manager"))).json() == []
    bad = await http.get("/outbox?status=lost", headers=auth("manager"))
    assert bad.status_code == 422 and "status" in bad.text and "lost" not in bad.text
