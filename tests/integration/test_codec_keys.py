"""Issue 11's stranded complaints: a process that made its own codec key sealed complaints no
worker could open. Now only `make run` and `complaints setup --new-codec-key` make a key, every
other process refuses to start without one, and a complaint sealed with a key nobody has says so."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from typer.testing import CliRunner

from complaints.cli.main import app as cli
from complaints.desk import Unavailable, desk_for
from complaints.domain.models import Intake, Stage
from complaints.infra.codec import key_id, new_key_entry, parse_keys
from complaints.infra.db import engine_for
from complaints.infra.migrations import upgrade
from complaints.infra.settings import Settings
from complaints.infra.temporal import connect, data_converter
from complaints.intake import file_complaint
from tests.integration.apihelp import api_settings, app, auth, eventually, intake  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STRAY = new_key_entry()
STRAY_ID = STRAY.partition(":")[0]

COMMANDS = {
    "starter batch": [sys.executable, str(ROOT / "starter.py"), "--batch", "calls.csv"],
    "complaints act": [str(BIN / "complaints"), "act", "C0000000000000001", "assess", "handler=h.li",
                       "category=service.fees", "severity=normal"],
    "complaints status": [str(BIN / "complaints"), "status", "C0000000000000001"],
    "complaints serve": [str(BIN / "complaints"), "serve"],
    "worker": [sys.executable, str(ROOT / "worker.py")],
}


def elsewhere(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A directory that is not the project, and an environment that configures no codec key."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    (cwd / "calls.csv").write_text("channel,content,name,phone\nphone,Rude collector.,Li Hua,13800138000\n")
    db_url = f"sqlite:///{tmp_path / 'archive.db'}"
    upgrade(engine_for(db_url))
    env = {k: v for k, v in os.environ.items() if k not in ("COMPLAINTS_CODEC_KEYS", "COMPLAINTS_CODEC_KEY_FILE")}
    return cwd, {**env, "COMPLAINTS_DATA_DIR": str(tmp_path / "data"), "COMPLAINTS_DB_URL": db_url,
                 "TEMPORAL_ADDRESS": "127.0.0.1:1"}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_process_without_a_configured_key_refuses_in_one_line_and_makes_none(tmp_path: Path, command: str) -> None:
    cwd, env = elsewhere(tmp_path)
    run = subprocess.run(COMMANDS[command], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    [line] = [said for said in run.stderr.splitlines() if not said.startswith("{")]  # besides the JSON log records
    assert "COMPLAINTS_CODEC_KEYS" in line and "COMPLAINTS_CODEC_KEY_FILE" in line
    assert not list(tmp_path.rglob("codec.keys")), "no process but make run and setup makes a key"


def test_setup_new_codec_key_makes_the_key_file_once_then_prints_entries_for_rotation(tmp_path: Path) -> None:
    cwd, env = elsewhere(tmp_path)
    setup = [str(BIN / "complaints"), "setup", "--new-codec-key"]
    made = subprocess.run(setup, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    key_file = tmp_path / "data" / "codec.keys"
    [(kid, key)] = parse_keys(key_file.read_text()).items()
    assert made.returncode == 0 and kid == key_id(key) and kid in made.stdout and str(key_file) in made.stdout
    for configured in ({}, {"COMPLAINTS_CODEC_KEYS": STRAY}):  # the file, or the list in the environment
        printed = subprocess.run(setup, cwd=cwd, env={**env, **configured}, capture_output=True, text=True,
                                 timeout=60)
        [(new_kid, new_key)] = parse_keys(printed.stdout.strip()).items()
        assert printed.returncode == 0 and new_kid == key_id(new_key) and new_kid not in (kid, STRAY_ID)
    assert parse_keys(key_file.read_text()) == {kid: key}, "never replaced"
    assert not (cwd / ".data").exists()


async def test_a_complaint_sealed_with_a_key_nobody_configured_says_so_and_moves_once_it_is_added(
        api_settings: Settings, dev_client: Client, app: FastAPI, archive, policy, calendar,  # noqa: F811
        team_id: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from worker import new_worker

    impatient = dataclasses.replace(api_settings, rpc_timeout=timedelta(seconds=3))  # how long a query waits
    stray = Client(dev_client.service_client, namespace=dev_client.namespace,
                   data_converter=data_converter(Settings(codec_keys=STRAY)))
    async with new_worker(dev_client, api_settings.task_queue, policy, calendar, archive, team_id):
        filed = await file_complaint(stray, api_settings.task_queue, Intake.model_validate(intake("STRAY-1")),
                                     archive)
        cid = filed.complaint_id
        said = f"complaint {cid}'s input is sealed with key id {STRAY_ID} that no configured key opens"

        with pytest.raises(Unavailable, match=said):
            await desk_for(impatient, dev_client).status(cid)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
            answer = await http.get(f"/complaints/{cid}", headers=auth("handler"))
        assert answer.status_code == 503 and said in answer.json()["detail"]
        for name, value in {"TEMPORAL_ADDRESS": api_settings.temporal_address, "COMPLAINTS_DB_URL": api_settings.db_url,
                            "COMPLAINTS_CODEC_KEYS": api_settings.codec_keys or "", "COMPLAINTS_RPC_TIMEOUT": "3"}.items():
            monkeypatch.setenv(name, value)
        shown = await asyncio.to_thread(CliRunner().invoke, cli, ["status", cid])
        assert shown.exit_code == 5 and said in shown.stderr

    logged = [f"{r.getMessage()} {r.exc_info[1] if r.exc_info else ''}" for r in caplog.records]
    assert any(filed.workflow_id in line and STRAY_ID in line for line in logged), logged
    failed = [e async for e in dev_client.get_workflow_handle(filed.workflow_id).fetch_history_events()
              if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert failed and STRAY_ID in failed[0].workflow_task_failed_event_attributes.failure.message  # the Web UI shows it

    with_stray = await connect(dataclasses.replace(api_settings, codec_keys=f"{api_settings.codec_keys},{STRAY}"))
    async with new_worker(with_stray, api_settings.task_queue, policy, calendar, archive, team_id):
        async def stage() -> Stage | None:
            try:
                return (await desk_for(api_settings, with_stray).status(cid)).stage
            except Unavailable:
                return None

        assert await eventually(stage, lambda s: s is Stage.assessment, seconds=60) is Stage.assessment
