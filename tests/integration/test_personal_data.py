"""Personal data on a real Temporal server (contract section 6).

What is stored is read back the way an outsider would: with a client that has no codec,
scanning every byte of the history, the description and the visibility listing. Then the
same history is read through the codec endpoint, the way the Web UI does, and everything
comes back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.message import Message
from sqlalchemy import text
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest, ListWorkflowExecutionsRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from complaints.api.auth import parse_keys as parse_api_keys
from complaints.api.codec import codec_router
from complaints.domain.models import ComplaintStatus, Intake, Stage, complaint_id_of
from complaints.infra.archive import Archive
from complaints.infra.codec import KEY_ID, VISIBILITY, new_key_entry, payloads_in
from complaints.infra.settings import Settings
from complaints.infra.temporal import connect, data_converter
from complaints.intake import file_complaint
from tests.conftest import BIN, binary
from tests.devserver import DevServer, free_port

NAME, PHONE, ID_NUMBER, EMAIL = "欧阳小明", "13912345678", "11010519491231002X", "ouyang.xm@example.com"
CARD = "6222021234567890123"
TEXT = f"催收员半夜给我单位打电话，说要上门。我的卡号{CARD}已经还清了。"
FINDINGS = f"通话记录显示催收员联系了{NAME}的同事，并留下了{PHONE}。"
SECRETS = {"name": NAME, "phone": PHONE, "ID number": ID_NUMBER, "e-mail": EMAIL, "card": CARD,
           "complaint text": TEXT, "findings": FINDINGS}
HANDLER = "h.li"
READER_KEY = "k-auditor"


def intake(ref: str) -> Intake:
    return Intake.model_validate({
        "channel": "phone", "external_ref": ref, "subject": f"{NAME}的投诉", "content": TEXT,
        "requested_remedy": "停止联系我的单位", "evidence": [f"{NAME}-通话录音.mp3"],
        "complainant": {"name": NAME, "phone": PHONE, "email": EMAIL, "id_number": ID_NUMBER},
        "respondent": {"kind": "agency", "id": "AG-9"},
    })


ASSESS = {"handler": HANDLER, "category": "collection.third_party", "severity": "high", "interim_measure": True}
INVESTIGATE = {"handler": HANDLER, "findings": FINDINGS, "root_cause": "agency script", "substantiated": True,
               "evidence": [f"{NAME}-call-log.csv"]}


# --- reading what the server stores ---------------------------------------------------


def found(data: bytes) -> list[str]:
    """Which secrets `data` holds, raw or JSON-escaped."""
    return [label for label, secret in SECRETS.items()
            if secret.encode() in data or json.dumps(secret).strip('"').encode() in data]


async def stored(address: str, wid: str) -> tuple[list[Message], Message]:
    """The history, the description and the visibility listing, as a client without the codec sees them."""
    plain = await Client.connect(address)
    history = await plain.get_workflow_handle(wid).fetch_history()
    described = await plain.workflow_service.describe_workflow_execution(DescribeWorkflowExecutionRequest(
        namespace="default", execution=WorkflowExecution(workflow_id=wid)))
    listed = await plain.workflow_service.list_workflow_executions(ListWorkflowExecutionsRequest(
        namespace="default", query=f'WorkflowId = "{wid}"'))
    return [*history.events, described, listed], history


@pytest.fixture
async def codec_api(dev_settings: Settings) -> AsyncIterator[str]:
    """The codec endpoint served over HTTP, as the Web UI and the `temporal` CLI reach it."""
    app = FastAPI()
    app.state.settings = dev_settings
    app.state.api_keys = parse_api_keys(f"{READER_KEY}:auditor,k-channel:channel")
    app.include_router(codec_router)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                                           lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}/codec"
    server.should_exit = True
    await serving


async def decode_over_http(endpoint: str, payloads: list[Payload], key: str = READER_KEY) -> list[Payload]:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{endpoint}/decode", json=MessageToDict(Payloads(payloads=payloads)),
                                 headers={"Authorization": f"Bearer {key}", "X-Namespace": "default"})
    answer.raise_for_status()
    return list(ParseDict(answer.json(), Payloads()).payloads)


async def until(probe, seconds: float = 20):  # noqa: ANN001, ANN201 - a small poll
    for _ in range(int(seconds / 0.2)):
        result = await probe()
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError("condition not reached in time")


async def file_and_assess(client: Client, task_queue: str, archive: Archive, ref: str) -> WorkflowHandle:
    filed = await file_complaint(client, task_queue, intake(ref), archive)
    handle = client.get_workflow_handle(filed.workflow_id)
    await until(lambda: stage_is(handle, Stage.assessment))
    await handle.execute_update("assess", ASSESS)
    return handle


async def stage_is(handle: WorkflowHandle, stage: Stage) -> bool:
    return (await handle.query("status", result_type=ComplaintStatus)).stage is stage


async def escalated(handle: WorkflowHandle) -> bool:
    return (await handle.query("status", result_type=ComplaintStatus)).escalated


async def archived(archive: Archive, complaint_id: str, entries: int) -> bool:
    return len(await asyncio.to_thread(archive.audit_trail, complaint_id)) >= entries


# --- the tests -------------------------------------------------------------------------


async def test_history_holds_ciphertext_only_and_the_codec_endpoint_reads_it(
        dev_server: DevServer, dev_client: Client, dev_worker, archive: Archive, task_queue: str,
        codec_api: str) -> None:
    handle = await file_and_assess(dev_client, task_queue, archive, f"PD-{uuid.uuid4().hex[:8]}")
    await handle.execute_update("investigate", INVESTIGATE)
    await handle.signal("escalate", {"reason": f"{NAME}说要找媒体曝光", "by": "m.wu"})  # free text in the status
    await handle.execute_update("pause", {"handler": HANDLER, "reason": f"等待鉴定，客户电话{PHONE}"})
    # a handler on the plain `temporal` CLI: plain arguments still work, refusals read plainly
    plain = await Client.connect(dev_server.address)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await plain.get_workflow_handle(handle.id).execute_update(
            "summarize", {"handler": HANDLER, "root_cause": "x", "improvements": ["y"]})
    assert "solution" in str(refused.value.cause)
    complaint_id = complaint_id_of(handle.id)
    await until(lambda: archived(archive, complaint_id, 6))  # receipt, stage, assess, investigate, escalation, pause

    messages, history = await stored(dev_server.address, handle.id)
    assert [found(m.SerializeToString()) for m in messages] == [[]] * len(messages)

    payloads = [p for m in history.events for p in payloads_in(m)]
    sealed = [p for p in payloads if p.metadata.get(KEY_ID)]
    assert len(sealed) >= 10 and {p.metadata[KEY_ID] for p in sealed} == {b"test-1"}
    assert [p for p in payloads if VISIBILITY in p.metadata] == []  # the tag stays home: plain readers get JSON
    decoded = await decode_over_http(codec_api, payloads)
    assert sorted(found(b"".join(p.SerializeToString() for p in decoded))) == sorted(SECRETS)


async def test_temporal_cli_shows_ciphertext_without_the_codec_and_plain_text_with_it(
        dev_server: DevServer, dev_client: Client, dev_worker, archive: Archive, task_queue: str,
        codec_api: str) -> None:
    """The done-criterion: `temporal workflow show` without the codec shows only ciphertext."""
    handle = await file_and_assess(dev_client, task_queue, archive, f"PD-{uuid.uuid4().hex[:8]}")
    show = [binary("temporal"), "workflow", "show", "--workflow-id", handle.id, "--address", dev_server.address,
            "--output", "json"]

    async def run(*extra: str) -> str:
        proc = await asyncio.create_subprocess_exec(*show, *extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return out.decode()

    assert found((await run()).encode()) == []
    await handle.signal("escalate", {"reason": f"{NAME}说要找媒体曝光", "by": "m.wu"})
    await until(lambda: escalated(handle))
    query = await asyncio.create_subprocess_exec(
        binary("temporal"), "workflow", "query", "--workflow-id", handle.id, "--type", "status", "--address",
        dev_server.address, "--output", "json", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, _ = await query.communicate()
    status = json.loads(out)["queryResult"][0]  # the contract smoke test's plain read of the status
    assert status["stage"] == "investigation" and status["escalations"][0]["source"] == "manager"
    assert status["escalations"][0]["reason"].startswith("sealed:") and found(out) == []
    update = await asyncio.create_subprocess_exec(  # the smoke's update: its answer, the new status, reads plainly
        binary("temporal"), "workflow", "update", "execute", "--workflow-id", handle.id, "--name", "investigate",
        "--input", json.dumps(INVESTIGATE), "--address", dev_server.address, "--output", "json",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await update.communicate()
    assert update.returncode == 0, err.decode()
    assert json.loads(out)["result"]["stage"] == "solution" and found(out) == []
    with_codec = await run("--codec-endpoint", codec_api, "--codec-auth", f"Bearer {READER_KEY}")
    decoded = with_codec.encode() + b"".join(
        base64_values(json.loads(with_codec)))  # the CLI prints payload data as base64 JSON
    assert {"name", "phone", "ID number", "complaint text"} <= set(found(decoded))


def base64_values(tree: object) -> Iterator[bytes]:
    import base64

    if isinstance(tree, dict):
        for value in tree.values():
            yield from base64_values(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from base64_values(value)
    elif isinstance(tree, str) and len(tree) >= 8 and re.fullmatch(r"[A-Za-z0-9+/]+=*", tree):
        try:
            yield base64.b64decode(tree)
        except ValueError:
            pass


async def test_a_failure_that_quotes_personal_data_is_stored_sealed(
        dev_server: DevServer, dev_client: Client, dev_worker, archive: Archive, task_queue: str) -> None:
    """A database error quotes its SQL parameters (the phone number here, the key of the
    collection-contact suspension); Temporal keeps the activity's last failure in plain text
    unless the failure converter seals it. (Archive writes run as local activities, whose
    failed attempts the server does not store; the interim measure is a regular activity.)"""
    with archive.engine.begin() as db:
        db.execute(text("DROP TABLE contact_suspensions"))
    handle = await file_and_assess(dev_client, task_queue, archive, f"PD-{uuid.uuid4().hex[:8]}")

    async def failing_activity():  # noqa: ANN202
        pending = (await handle.describe()).raw_description.pending_activities
        return next((a for a in pending if a.HasField("last_failure")), None)

    activity = await until(failing_activity)
    try:
        assert activity.last_failure.message == "Encoded failure"
        messages, _ = await stored(dev_server.address, handle.id)
        assert [found(m.SerializeToString()) for m in messages] == [[]] * len(messages)
        error = await dev_client.data_converter.decode_failure(activity.last_failure)
        assert "no such table: contact_suspensions" in str(error) and PHONE in str(error)
    finally:
        await handle.terminate("test over")


async def test_complaints_started_under_the_old_key_progress_after_rotation(
        dev_server: DevServer, dev_settings: Settings, dev_client: Client, archive: Archive, task_queue: str,
        team_id: str, policy, calendar, codec_api: str) -> None:  # noqa: ANN001
    from worker import new_worker

    async with new_worker(dev_client, task_queue, policy, calendar, archive, team_id):
        handle = await file_and_assess(dev_client, task_queue, archive, f"ROT-{uuid.uuid4().hex[:8]}")
    complaint_id = complaint_id_of(handle.id)

    key_b = new_key_entry()
    kid_b = key_b.partition(":")[0].encode()
    rotated = dataclasses.replace(dev_settings, codec_keys=f"{key_b},{dev_settings.codec_keys}")
    client_b = await connect(rotated)
    async with new_worker(client_b, task_queue, policy, calendar, archive, team_id):  # replays A's history
        status = await client_b.get_workflow_handle(handle.id).execute_update("investigate", INVESTIGATE,
                                                                              result_type=ComplaintStatus)
        assert status.stage is Stage.solution
        await until(lambda: archived(archive, complaint_id, 4))
    assert [e["action"] for e in archive.audit_trail(complaint_id)][-1] == "investigate"

    _, history = await stored(dev_server.address, handle.id)
    kids = [p.metadata[KEY_ID] for e in history.events for p in payloads_in(e) if p.metadata.get(KEY_ID)]
    assert kids[0] == b"test-1" and kids[-1] == kid_b and set(kids) == {b"test-1", kid_b}
    rotated_codec = data_converter(rotated).payload_codec
    assert rotated_codec is not None
    decoded = await rotated_codec.decode([p for e in history.events for p in payloads_in(e)])
    assert sorted(found(b"".join(p.SerializeToString() for p in decoded))) == sorted(SECRETS)
    # an API not yet moved to the new key still reads what was written before; newer payloads stay sealed
    old_reader = await decode_over_http(codec_api, [p for e in history.events for p in payloads_in(e)])
    assert {p.metadata.get(KEY_ID) for p in old_reader if p.metadata.get(KEY_ID)} == {kid_b}


LOG_PATTERNS = {
    "mobile": re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)"),
    "ID number": re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"),
    "e-mail": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "bank card": re.compile(r"(?<!\d)\d{16,19}(?!\d)"),
}


async def test_worker_logs_of_a_lifecycle_mask_personal_data(
        dev_server: DevServer, dev_settings: Settings, dev_client: Client, archive: Archive, task_queue: str,
        tmp_path: Path) -> None:
    """`python worker.py`, as `make run` starts it, through a whole complaint; its log is read by pattern."""
    log_file = tmp_path / "worker.log"
    env = dict(os.environ, TEMPORAL_ADDRESS=dev_server.address, COMPLAINTS_TASK_QUEUE=task_queue,
               COMPLAINTS_DB_URL=f"sqlite:///{tmp_path / 'archive.db'}", COMPLAINTS_CODEC_KEYS=dev_settings.codec_keys,
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    root = Path(__file__).resolve().parents[2]
    with log_file.open("w") as log:
        worker = subprocess.Popen([sys.executable, "worker.py"], cwd=root, env=env, stdout=log, stderr=log,
                                  start_new_session=True)
    try:
        handle = await file_and_assess(dev_client, task_queue, archive, f"LOG-{uuid.uuid4().hex[:8]}")
        for action, payload in [
            ("investigate", INVESTIGATE),
            # reasons are staff free text that reaches the complainant's notices, which the worker logs
            ("extend", {"handler": HANDLER, "approver": "m.wu", "approver_role": "manager", "days": 10,
                        "reason": f"等待客户补充材料，联系电话{PHONE}，邮箱{EMAIL}"}),
            ("pause", {"handler": HANDLER, "reason": f"笔迹鉴定，身份证号{ID_NUMBER}，卡号{CARD}"}),
            ("resume", {"handler": HANDLER}),
            ("propose_solution", {"handler": HANDLER, "plan": f"向{NAME}书面道歉，电话{PHONE}", "remedies": ["apology"]}),
            ("record_execution", {"handler": HANDLER, "result": f"已致电{PHONE}并发邮件至{EMAIL}"}),
            ("record_feedback", {"handler": HANDLER, "accepted": True, "comment": f"{NAME}接受"}),
            ("record_revisit", {"handler": HANDLER, "reached": True, "satisfaction": 4}),
            ("summarize", {"handler": HANDLER, "root_cause": "agency script", "improvements": ["retrain"]}),
        ]:
            await handle.execute_update(action, payload)
        assert (await handle.result())["outcome"] == "resolved"
        await until(lambda: archived(archive, complaint_id_of(handle.id), 12))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
    assert {"worker started", "archived", "notice"} <= {line["event"] for line in lines}
    notices = {line["kind"]: line["notice"] for line in lines if line["event"] == "notice"}
    assert {"acknowledgement", "extension", "pause"} <= set(notices)  # logged, their free text withheld
    assert set(notices.values()) == {"[withheld]"}
    whole = log_file.read_text()
    assert found(whole.encode()) == []
    assert {label: pattern.findall(whole) for label, pattern in LOG_PATTERNS.items()} == dict.fromkeys(LOG_PATTERNS, [])
