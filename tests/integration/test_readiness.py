"""`/readyz`: 503 naming the part that is not ready (Temporal, archive, codec keys, worker), and back."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine

from complaints.api.app import create_app
from complaints.infra.codec import new_key_entry
from complaints.infra.migrations import upgrade
from complaints.infra.settings import Settings
from tests.devserver import free_port
from tests.faults.support import TcpProxy, through
from tests.integration.apihelp import api_settings, eventually  # noqa: F401


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


@pytest.fixture
async def relay(pg_schema: str) -> AsyncIterator[TcpProxy]:
    """A PostgreSQL archive reached through a relay the test closes (an outage) and reopens."""
    engine = create_engine(pg_schema)
    upgrade(engine)
    engine.dispose()
    proxy = TcpProxy(urlsplit(pg_schema).port or 5432, free_port())
    await proxy.open()
    yield proxy
    await proxy.close()


async def test_readyz_is_503_naming_the_archive_while_it_is_down_and_200_when_it_is_back(
        api_settings: Settings, pg_schema: str, relay: TcpProxy, dev_worker) -> None:
    settings = dataclasses.replace(api_settings, db_url=through(pg_schema, relay.port))
    async with serving(create_app(settings)) as client:
        ready = await eventually(lambda: client.get("/readyz"), lambda r: r.status_code == 200)
        assert ready.json() == {"ready": True, "failing": [], "checks": {
            "temporal": "ok", "archive": "ok", "codec": "ok", "worker": "ok",
            # no channel configured here: said, and not a failure (a firm may not use one)
            "notices": "pending: channel not configured (COMPLAINTS_SMTP_URL, COMPLAINTS_SMS_WEBHOOK_URL, "
                       "COMPLAINTS_EMERGENCY_WEBHOOK_URL, COMPLAINTS_TEAM_MAIL)"}}
        assert (await client.get("/healthz")).status_code == 200

        await relay.close()
        down = await client.get("/readyz")
        assert down.status_code == 503 and down.json()["failing"] == ["archive"]
        assert down.json()["checks"]["archive"].startswith("the archive cannot be written")
        assert "127.0.0.1" not in down.text  # the reason names the part, never the archive's URL

        await relay.open()
        assert (await client.get("/readyz")).json()["ready"] is True


async def test_readyz_names_a_task_queue_no_worker_polls(api_settings: Settings) -> None:
    async with serving(create_app(dataclasses.replace(api_settings, task_queue="nobody-polls-this"))) as client:
        r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["failing"] == ["worker"]
    assert "nobody-polls-this" in r.json()["checks"]["worker"]


async def test_readyz_names_the_codec_when_a_newer_key_was_rotated_in(api_settings: Settings, dev_worker) -> None:
    app = create_app(api_settings)
    rotated = new_key_entry()
    app.state.settings = dataclasses.replace(api_settings, codec_keys=f"{rotated},{api_settings.codec_keys}")
    async with serving(app) as client:
        r = await eventually(lambda: client.get("/readyz"), lambda r: "worker" not in r.json()["failing"])
    assert r.status_code == 503 and r.json()["failing"] == ["codec"]
    assert rotated.split(":")[0] in r.json()["checks"]["codec"] and rotated.split(":")[1] not in r.text


async def test_readyz_names_temporal_when_it_is_unreachable(api_settings: Settings) -> None:
    lonely = create_app(dataclasses.replace(api_settings, temporal_address=f"127.0.0.1:{free_port()}"))
    async with serving(lonely) as client:
        r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["failing"] == ["temporal", "worker"]
