"""The API with a people file (contract section 7): keys bound to people, payloads checked and
filled from the key's person, approvers checked against the file, a handler's own queue, and
assignment at assessment counted in the dev server's visibility."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from complaints.api.app import create_app
from complaints.domain.people import People
from complaints.infra.settings import Settings
from tests.integration.apihelp import api_settings, eventually, intake  # noqa: F401

PEOPLE = """
[teams.service]
categories = ["service.*", "card.amount_error"]

[[people]]
id = "h.zhang"
name = "张华"
email = "h.zhang@firm.example"
role = "handler"
team = "service"

[[people]]
id = "h.li"
name = "李娜"
email = "h.li@firm.example"
role = "handler"
team = "service"

[[people]]
id = "m.chen"
name = "陈静"
email = "m.chen@firm.example"
role = "manager"

[[people]]
id = "m.zhao"
name = "赵敏"
email = "m.zhao@firm.example"
role = "manager"
senior = true
"""
COMPLAINTS = str(Path(sys.executable).parent / "complaints")
KEYS = {"h.zhang": "k-zhang", "h.li": "k-li", "m.chen": "k-chen", "channel": "k-channel", "handler": "k-handler"}


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[who]}"}


@pytest.fixture
def people_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.toml"
    path.write_text(PEOPLE, encoding="utf-8")
    return path


@pytest.fixture
def people_settings(api_settings: Settings, people_file: Path) -> Settings:
    return dataclasses.replace(api_settings, people_file=str(people_file),
                               api_keys=",".join(f"{key}:{who}" for who, key in KEYS.items()))


@pytest.fixture
async def http(people_settings: Settings, people_file: Path, dev_client, task_queue, policy, calendar, archive,
               team_id) -> AsyncIterator[httpx.AsyncClient]:
    from tests.conftest import postman
    from worker import new_worker

    app: FastAPI = create_app(people_settings)
    async with (new_worker(dev_client, task_queue, policy, calendar, archive, team_id, postman(archive),
                           people=People.load(people_file)),
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client):
        yield client


async def assigned(http: httpx.AsyncClient, ref: str) -> dict:
    """A fee charged twice (card.amount_error: team service) filed, once assignment has given it a handler."""
    r = await http.post("/complaints", json=intake(ref), headers=auth("channel"))
    assert r.status_code == 201, r.text
    cid = r.json()["complaint_id"]
    status = await eventually(lambda: http.get(f"/complaints/{cid}", headers=auth("h.zhang")),
                              lambda r: r.json()["handler"] is not None)
    return status.json()


async def queue(http: httpx.AsyncClient, who: str, length: int) -> list[str]:
    found = await eventually(lambda: http.get("/complaints", params={"handler": "me"}, headers=auth(who)),
                             lambda r: len(r.json()) == length)
    assert found.status_code == 200, found.text
    return [row["complaint_id"] for row in found.json()]


async def test_complaints_go_to_the_least_busy_handler_and_each_lists_their_own_queue(http):
    first = await assigned(http, "FEES-1")
    assert first["handler"] == "h.zhang"  # equal work: the first of the team in the file
    assert await queue(http, "h.zhang", 1) == [first["complaint_id"]]
    second = await assigned(http, "FEES-2")
    assert second["handler"] == "h.li"  # h.zhang holds one open complaint, h.li none
    assert await queue(http, "h.li", 1) == [second["complaint_id"]]
    bare = await http.get("/complaints", params={"handler": "me"}, headers=auth("handler"))
    assert bare.status_code == 422 and bare.json()["detail"][0]["field"] == "handler"


async def test_a_payload_names_the_keys_person_or_no_one(http):
    cid = (await assigned(http, "FEES-3"))["complaint_id"]
    assess = {"category": "service.fees", "severity": "normal"}
    r = await http.post(f"/complaints/{cid}/assess", json={**assess, "handler": "h.li"}, headers=auth("h.zhang"))
    assert r.status_code == 403 and "handler: must be h.zhang" in r.json()["detail"]
    r = await http.post(f"/complaints/{cid}/assess", json=assess, headers=auth("h.zhang"))
    assert r.status_code == 200, r.text
    assert r.json()["handler"] == "h.zhang" and r.json()["stage"] == "investigation"

    r = await http.post(f"/complaints/{cid}/assign", json={"handler": "h.li"}, headers=auth("h.zhang"))
    assert r.status_code == 403  # a handler's key may not assign
    r = await http.post(f"/complaints/{cid}/assign", json={"handler": "m.zhao"}, headers=auth("m.chen"))
    assert r.status_code == 403 and "handler: is not a handler" in r.json()["detail"]
    r = await http.post(f"/complaints/{cid}/assign", json={"handler": "h.li"}, headers=auth("m.chen"))
    assert r.status_code == 200 and r.json()["handler"] == "h.li"


async def test_an_approver_is_checked_against_the_people_file(http):
    cid = (await assigned(http, "FEES-4"))["complaint_id"]
    holder = "h.zhang" if (await http.get(f"/complaints/{cid}", headers=auth("h.zhang"))).json()["handler"] \
        == "h.zhang" else "h.li"
    extend = {"approver": "m.chen", "approver_role": "manager", "reason": "waiting for the bank's records", "days": 5}
    r = await http.post(f"/complaints/{cid}/extend", json={**extend, "approver_role": "senior_manager"},
                        headers=auth(holder))
    assert r.status_code == 403 and "approver_role: m.chen is a manager, not a senior manager" in r.json()["detail"]
    r = await http.post(f"/complaints/{cid}/extend", json={**extend, "approver": "h.li"}, headers=auth(holder))
    assert r.status_code == 403 and "approver: is not a manager" in r.json()["detail"]
    r = await http.post(f"/complaints/{cid}/extend", json=extend, headers=auth(holder))
    assert r.status_code == 200, r.text
    assert r.json()["extensions"][0]["approver"] == "m.chen" and r.json()["handler"] == holder


async def test_the_cli_acts_as_the_person_it_names_and_checks_it_against_the_file(http, people_settings):
    settings = people_settings
    status = await assigned(http, "FEES-5")
    env = {**os.environ, "TEMPORAL_ADDRESS": settings.temporal_address, "COMPLAINTS_TASK_QUEUE": settings.task_queue,
           "COMPLAINTS_DB_URL": settings.db_url, "COMPLAINTS_CODEC_KEYS": settings.codec_keys or "",
           "COMPLAINTS_PEOPLE_FILE": settings.people_file or "", "COLUMNS": "200"}
    assess = ["act", status["complaint_id"], "assess", "category=service.fees", "severity=normal"]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([COMPLAINTS, *args], env=env, capture_output=True, text=True, timeout=60)

    assert "--as: assess needs a handler of COMPLAINTS_PEOPLE_FILE" in cli(*assess).stderr
    assert cli(*assess, "--as", "m.chen").returncode == 4  # a manager is not a handler
    mismatch = cli(*assess, "handler=h.li", "--as", "h.zhang")
    assert mismatch.returncode == 4 and "handler: must be h.zhang" in mismatch.stderr
    done = await asyncio.to_thread(cli, *assess, "--as", "h.zhang")
    assert done.returncode == 0, done.stderr
    after = (await http.get(f"/complaints/{status['complaint_id']}", headers=auth("h.zhang"))).json()
    assert after["handler"] == "h.zhang" and after["stage"] == "investigation"
