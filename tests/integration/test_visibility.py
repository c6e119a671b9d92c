"""What managers find through visibility: the saved-view queries of the README, on a dev server.

Six complaints on one task queue, each left somewhere different (assessment, investigation,
solution and paused, escalated, withdrawn, breached by a real deadline timer); every
query must return exactly the right ones. Visibility is eventually consistent, so each
query is polled until it matches or ten seconds pass.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle

from complaints.domain.models import ComplaintStatus, Intake
from complaints.domain.policy import Policy
from complaints.domain.workdays import WorkingCalendar
from complaints.intake import file_complaint
from tests.conftest import TEST_KEY, binary, sqlite_archive
from tests.devserver import DevServer, free_port
from workflows.complaint import ComplaintWorkflow
from workflows.visibility import ALL, NEXT_DEADLINE

pytestmark = pytest.mark.timeout(120)

NAME, PHONE = "Wang Xiuying", "+8613912345678"
SECRET = "my account number 6222020200112233"  # complaint text: must never reach what the UI shows


def intake(channel: str, content: str, received_at: datetime | None = None) -> Intake:
    return Intake.model_validate({
        "channel": channel, "content": f"{content}; {SECRET}", "received_at": received_at,
        "complainant": {"name": NAME, "phone": PHONE},
    })


async def reach(handle: WorkflowHandle, check, within: float = 20.0) -> ComplaintStatus:
    """Poll the status query until `check(status)` holds: stages move after activities run."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while True:
        status = await handle.query(ComplaintWorkflow.status)
        if check(status) or loop.time() > end:
            return status
        await asyncio.sleep(0.1)


@dataclass
class Desk:
    client: Client
    task_queue: str
    started: datetime
    ids: dict[str, str]  # letter -> workflow id
    next_deadline_at_assessment: datetime | None

    async def listed(self, query: str, expected: set[str], within: float = 10.0) -> set[str]:
        """The letters `query` returns on this desk's task queue, once they match or time is up."""
        scoped = f'({query}) AND TaskQueue="{self.task_queue}"'
        letters = {wid: letter for letter, wid in self.ids.items()}
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while True:
            found = {letters.get(w.id, w.id) async for w in self.client.list_workflows(scoped)}
            if found == expected or loop.time() > end:
                return found
            await asyncio.sleep(0.2)

    def handle(self, letter: str) -> WorkflowHandle:
        return self.client.get_workflow_handle(self.ids[letter])


@pytest.fixture(scope="module")
async def desk(dev_client: Client, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Desk]:
    """A worker and six complaints, each moved to where the queries expect it."""
    from worker import new_worker

    task_queue = f"visibility-{uuid.uuid4().hex[:8]}"
    archive = sqlite_archive(tmp_path_factory.mktemp("visibility"))
    async with new_worker(dev_client, task_queue, Policy(), WorkingCalendar(), archive, f"team-{task_queue}"):
        now = datetime.now(timezone.utc)
        # F: received almost an hour ago, so its assessment deadline timer fires in a few seconds
        # (enough for the worker to arm it first on a busy machine; the rest is set up meanwhile)
        filings = {
            "F": intake("letter", "the collector calls every weekend", now - timedelta(hours=1) + timedelta(seconds=7)),
            "A": intake("phone", "They called me at midnight on a holiday"),
            "B": intake("email", "the collector keeps calling my family"),
            "C": intake("sms", "the annual fee was charged"),
            "D": intake("web_form", "the staff was rude and hung up"),
            "E": intake("online_chat", "wrong amount on my statement"),
        }
        ids = {}
        for letter, body in filings.items():
            ids[letter] = (await file_complaint(dev_client, task_queue, body, archive)).workflow_id
        handles = {letter: dev_client.get_workflow_handle(wid) for letter, wid in ids.items()}
        for h in handles.values():
            await reach(h, lambda s: s.stage == "assessment")
        before = (await handles["B"].describe()).typed_search_attributes.get(NEXT_DEADLINE)

        async def assess(letter: str, category: str, severity: str, product: str = "other") -> None:
            """Each assessment names the product too, so each code B follows from the category
            or that product, not from the classifier's guess at these made-up lines."""
            await handles[letter].execute_update(
                "assess", {"handler": "handler-7", "category": category, "severity": severity, "product": product})

        await assess("B", "collection.third_party", "high")
        await assess("C", "service.fees", "normal")
        await handles["C"].execute_update("investigate", {
            "handler": "handler-7", "findings": "fee charged per the card terms", "root_cause": "terms unclear",
            "substantiated": False})
        await handles["C"].execute_update("pause", {"handler": "handler-7", "reason": "waiting for the card terms audit"})
        await assess("D", "service.attitude", "normal")
        await handles["D"].signal("escalate", {"reason": "third call from this customer", "by": "manager-2"})
        await handles["E"].signal("escalate", {"reason": "customer called the branch", "by": "manager-2"})
        await handles["E"].execute_update("withdraw", {"handler": "handler-7", "reason": "customer withdrew"})
        await reach(handles["D"], lambda s: s.escalated)
        await reach(handles["F"], lambda s: "assessment" in s.breaches)
        await handles["E"].result()
        yield Desk(dev_client, task_queue, now, ids, before)


def utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


QUERIES = {
    "stage": (lambda d: 'ComplaintStage="investigation"', {"B", "D"}),
    "breached": (lambda d: "ComplaintSlaBreached=true", {"F"}),
    "escalated and running": (lambda d: 'ComplaintEscalated=true AND ExecutionStatus="Running"', {"D", "F"}),
    "deadline within 2 hours": (lambda d: f'ComplaintNextDeadline < "{utc(d.started + timedelta(hours=2))}"', {"A"}),
    "deadline within 25 hours": (lambda d: f'ComplaintNextDeadline < "{utc(d.started + timedelta(hours=25))}"',
                                 {"A", "B", "D", "F"}),
    "category": (lambda d: 'ComplaintCategory="collection.third_party"', {"B"}),
    "severity": (lambda d: 'ComplaintSeverity="high"', {"B"}),
    "channel": (lambda d: 'ComplaintChannel="sms"', {"C"}),
    "paused": (lambda d: "ComplaintPaused=true", {"C"}),
    "closed": (lambda d: 'ComplaintStage="closed" AND ExecutionStatus="Completed"', {"E"}),
    "business type (B)": (lambda d: 'ComplaintCodes="B:0202"', {"B"}),  # assessed collection.third_party
    "channel of the business (A)": (lambda d: "ComplaintCodes='A:01035'", {"C"}),  # came in by SMS
}


@pytest.mark.parametrize("name", QUERIES)
async def test_saved_view_returns_exactly_the_right_complaints(desk: Desk, name: str) -> None:
    query, expected = QUERIES[name]
    assert await desk.listed(query(desk), expected) == expected


async def test_next_deadline_follows_the_stage(desk: Desk) -> None:
    """ComplaintNextDeadline is the earliest running deadline, moved on when a stage finishes."""
    expected = {"A": "assessment", "B": "investigation", "C": "plan", "D": "investigation", "F": "investigation"}
    for letter, deadline in expected.items():
        described = await desk.handle(letter).describe()
        status = await desk.handle(letter).query(ComplaintWorkflow.status)
        assert status.next_deadline == deadline
        assert described.typed_search_attributes.get(NEXT_DEADLINE) == status.deadlines[deadline]
    b = await desk.handle("B").query(ComplaintWorkflow.status)
    assert desk.next_deadline_at_assessment == b.deadlines["assessment"]  # before B was assessed
    closed = await desk.handle("E").describe()
    assert closed.typed_search_attributes.get(NEXT_DEADLINE) is None


async def test_complaint_page_tells_its_story(desk: Desk) -> None:
    """Summary, details, current details and named timers and steps: what the Web UI shows."""
    b = desk.handle("B")
    described = await b.describe()
    assert await described.static_summary() == "collection.third_party · normal · email"
    details = await described.static_details()
    assert "Received:" in details and "via email" in details

    metadata = await b.query("__temporal_workflow_metadata")
    current = metadata.current_details
    assert "**Stage:** investigation" in current
    assert "**Next deadline:** investigation" in current
    assert "handler-7" in current
    assert "- assessment: " in current and ", met " in current  # B's deadline list, assessment done
    assert "- investigation: " in current and ", running" in current

    e_current = (await desk.handle("E").query("__temporal_workflow_metadata")).current_details
    assert "**Stage:** closed (withdrawn)" in e_current and "**Next deadline:** none" in e_current

    f_current = (await desk.handle("F").query("__temporal_workflow_metadata")).current_details
    assert "**Breached:** assessment" in f_current and "sla_breach" in f_current
    assert "**breached**" in f_current

    timers, steps = await summaries(desk.client, desk.handle("F"))
    assert "assessment deadline" in timers  # the timer that fired and made the breach
    assert "investigation warning" in timers  # the one armed after it
    assert {"deadlines: fix at receipt", "archive: complaint received", "archive: breach",
            "emergency team: sla_breach"} <= steps
    _, b_steps = await summaries(desk.client, b)
    assert "archive: assess" in b_steps


async def summaries(client: Client, handle: WorkflowHandle) -> tuple[list[str], set[str]]:
    """Timer and activity summaries (local activities' on their markers) from the event history."""
    timers, steps = [], set()
    converter = client.data_converter
    async for event in handle.fetch_history_events():
        if not event.user_metadata.HasField("summary"):
            continue
        [text] = await converter.decode([event.user_metadata.summary])
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            timers.append(text)
        elif event.event_type in (EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
                                  EventType.EVENT_TYPE_MARKER_RECORDED):  # archive writes are local activities
            steps.add(text)
    return timers, steps


async def test_summary_and_details_read_without_the_codec_key(desk: Desk) -> None:
    """A manager whose UI has no codec endpoint still sees the summary, the details and the attributes."""
    plain = await Client.connect(desk.client.service_client.config.target_host)
    described = await plain.get_workflow_handle(desk.ids["A"]).describe()
    assert await described.static_summary() == "collection.off_hours · normal · phone"
    assert "Asia/Shanghai" in (await described.static_details() or "")
    assert described.typed_search_attributes.get(NEXT_DEADLINE) is not None


async def test_no_personal_data_in_what_the_ui_shows(desk: Desk) -> None:
    """Search attributes, summaries and details are plain text: no complainant, no complaint text."""
    for letter in desk.ids:
        handle = desk.handle(letter)
        described = await handle.describe()
        shown = [await described.static_summary() or "", await described.static_details() or "",
                 *(str(pair.value) for pair in described.typed_search_attributes)]
        if letter != "E":
            shown.append((await handle.query("__temporal_workflow_metadata")).current_details)
        text = "\n".join(shown)
        for secret in (NAME, PHONE, SECRET, "6222020200112233"):
            assert secret not in text, f"{secret!r} shown for complaint {letter}"


def test_setup_registers_search_attributes_and_the_schedules_once(tmp_path: Path) -> None:
    """`complaints setup` on a cluster without them adds all eight and the `complaints-retention`
    and `complaints-prevention` schedules, and a second run finds them present."""
    server = DevServer(f"127.0.0.1:{free_port()}", None, tmp_path / "temporal.db")
    server.start(binary("temporal"), search_attributes=False)
    try:
        env = {**os.environ, "TEMPORAL_ADDRESS": server.address, "COMPLAINTS_CODEC_KEYS": TEST_KEY,
               "COMPLAINTS_DATA_DIR": str(tmp_path)}
        command = [str(Path(sys.executable).parent / "complaints"), "setup"]
        first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        assert first.stdout.splitlines() == ["search attributes added: " + ", ".join(sorted(k.name for k in ALL)),
                                             "schedule complaints-retention: created",
                                             "schedule complaints-prevention: created"]
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert second.stdout.splitlines() == ["search attributes: all present", "schedule complaints-retention: present",
                                              "schedule complaints-prevention: present"]
        registered = asyncio.run(custom_attributes(server.address))
        assert {k.name for k in ALL} <= set(registered)
    finally:
        server.stop()


async def custom_attributes(address: str) -> list[str]:
    client = await Client.connect(address)
    known = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace="default"))
    return list(known.custom_attributes)
