"""Fixtures and helpers for the API, CLI and starter tests: the real app on the dev server.

Each test has its own task queue, emergency desk and archive (from the shared fixtures),
and the app is configured with exactly those, so tests sharing one server never meet.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI

from complaints.api.app import create_app
from complaints.infra.settings import Settings
from tests.devserver import free_port

KEYS = {"channel": "k-channel", "handler": "k-handler", "manager": "k-manager", "emergency": "k-emergency",
        "auditor": "k-auditor"}
T = TypeVar("T")


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


def intake(external_ref: str | None = None, **changes: Any) -> dict[str, Any]:
    """A valid intake body (fictitious person), changed as the test needs."""
    body: dict[str, Any] = {
        "channel": "web_form",
        "subject": "Fee charged twice",
        "content": "The annual fee was charged twice on my card this month.",
        "complainant": {"name": "Test Person", "phone": "+86 138 0000 0000"},
    }
    if external_ref:
        body["external_ref"] = external_ref
    body.update(changes)
    return body


def unreachable_archive() -> str:
    """A PostgreSQL URL on a port nobody listens on: the archive as seen during an outage."""
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"


@pytest.fixture
def api_settings(dev_settings: Settings, task_queue: str, team_id: str, tmp_path: Path, archive) -> Settings:
    """Settings for this test's app: its task queue, desk and archive (the `archive` fixture's file)."""
    return dataclasses.replace(
        dev_settings, task_queue=task_queue, emergency_team_id=team_id, db_url=f"sqlite:///{tmp_path / 'archive.db'}",
        evidence_dir=tmp_path / "evidence",
        api_keys=",".join(f"{key}:{role}" for role, key in KEYS.items()),
    )


@pytest.fixture
async def app(api_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(api_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: FastAPI, dev_worker) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


async def eventually(probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], seconds: float = 15) -> T:
    """Poll `probe` until its result satisfies `until` (bounded): visibility is eventually consistent."""
    deadline = time.monotonic() + seconds
    while True:
        result = await probe()
        if until(result) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.2)
