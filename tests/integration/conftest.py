"""Integration fixtures: a real dev server, a client, a worker on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from complaints.infra.settings import Settings
from complaints.infra.temporal import connect, register_search_attributes
from tests.conftest import binary, postman
from tests.devserver import DevServer, free_port
from workflows.visibility import ALL


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    server = DevServer(f"127.0.0.1:{free_port()}", None, tmp_path_factory.mktemp("temporal") / "temporal.db")
    server.start(binary("temporal"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dev_settings(dev_server: DevServer, settings: Settings) -> Settings:
    return Settings(temporal_address=dev_server.address, codec_keys=settings.codec_keys)


@pytest.fixture(scope="session")
async def dev_client(dev_settings: Settings) -> AsyncIterator[Client]:
    client = await connect(dev_settings)
    await register_search_attributes(client, ALL)
    yield client


@pytest.fixture
def worker_on(dev_client: Client, task_queue: str, policy, calendar, archive, team_id: str):
    """This test's worker, to start and stop at will: `async with worker_on(): ...` (a worker away and back)."""
    from worker import new_worker

    return lambda: new_worker(dev_client, task_queue, policy, calendar, archive, team_id, postman(archive))


@pytest.fixture
async def dev_worker(worker_on):
    async with worker_on() as running:
        yield running


@pytest.fixture
def archive_path(tmp_path: Path) -> Path:
    return tmp_path / "archive.db"
