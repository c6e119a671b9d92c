"""Fault-test fixtures: a dev server of the test's own (so it can be stopped), a PostgreSQL
archive, and worker processes that are always cleaned up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from temporalio.client import Client

from complaints.infra.migrations import upgrade
from complaints.infra.temporal import register_search_attributes
from tests.conftest import TEST_KEY, binary
from tests.devserver import DevServer, free_port
from tests.faults.support import WorkerProcess, ready_client, worker_env
from workflows.visibility import ALL


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DevServer]:
    """A dev server on a persistent SQLite file in the test's directory."""
    dev = DevServer(f"127.0.0.1:{free_port()}", None, tmp_path / "temporal.db")
    dev.start(binary("temporal"))
    try:
        yield dev
    finally:
        dev.stop()


@pytest.fixture
async def fclient(server: DevServer) -> AsyncIterator[Client]:
    client = await ready_client(server.address)
    await register_search_attributes(client, ALL)
    yield client


@pytest.fixture
def archive_url(pg_schema: str) -> Iterator[str]:
    """A PostgreSQL archive at the current schema (what `complaints db upgrade` does)."""
    engine = create_engine(pg_schema)
    upgrade(engine)
    engine.dispose()
    yield pg_schema


@pytest.fixture
def archive_engine(archive_url: str) -> Iterator[Engine]:
    engine = create_engine(archive_url)
    yield engine
    engine.dispose()


@pytest.fixture
def workers(tmp_path: Path, server: DevServer, task_queue: str) -> Iterator:
    """start(db_url, policy=None, **settings) -> a running worker process (settings: more environment);
    every one is stopped at the end."""
    started: list[WorkerProcess] = []

    def start(db_url: str, policy: Path | None = None, **settings: str) -> WorkerProcess:
        env = worker_env(server.address, db_url, task_queue, TEST_KEY, policy) | settings
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.kill()
