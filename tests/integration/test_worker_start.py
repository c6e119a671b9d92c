"""The worker refuses to start, in one plain line, when its configuration cannot be used."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from complaints.infra.migrations import upgrade
from complaints.infra.db import engine_for
from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ready_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    upgrade(engine_for(url))
    return url


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"COMPLAINTS_POLICY_FILE": "{tmp}/policy.toml"}, "deadlines.plan"),
        ({"COMPLAINTS_CODEC_KEYS": "broken"}, "codec key"),
        ({"COMPLAINTS_HOLIDAY_FILE": "{tmp}/missing.toml"}, "COMPLAINTS_HOLIDAY_FILE"),
        ({"COMPLAINTS_CODES_FILE": "{tmp}/missing.toml"}, "COMPLAINTS_CODES_FILE: cannot read"),
        ({"COMPLAINTS_CODES_FILE": "{tmp}/policy.toml"}, "deadlines: unknown key"),
        ({"TEMPORAL_ADDRESS": "127.0.0.1:1"}, "cannot reach Temporal"),
        ({"COMPLAINTS_METRICS_ADDRESS": "port nine"}, "COMPLAINTS_METRICS_ADDRESS"),
    ],
)
def test_a_worker_with_unusable_configuration_says_why_and_exits(tmp_path, ready_db, env, says):
    (tmp_path / "policy.toml").write_text('[deadlines]\nplan = "two days"\n')
    settings = {k: v.format(tmp=tmp_path) for k, v in env.items()}
    run = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, COMPLAINTS_DB_URL=ready_db, COMPLAINTS_DATA_DIR=str(tmp_path),
                                  **{"COMPLAINTS_CODEC_KEYS": TEST_KEY, **settings}))
    assert run.returncode == 2
    assert says in run.stderr and "Traceback" not in run.stderr


async def test_a_worker_registers_the_search_attributes_a_namespace_lacks(tmp_path, ready_db):
    """A namespace set up before a release that added an attribute (`ComplaintCodes`) would fail every
    workflow task that upserts it: the worker adds what is missing, as `complaints setup` does."""
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    from tests.devserver import DevServer, free_port
    from tests.faults.support import WorkerProcess, ready_client, worker_env
    from tests.conftest import binary
    from workflows.visibility import ALL

    server = DevServer(f"127.0.0.1:{free_port()}", None, tmp_path / "temporal.db").start(
        binary("temporal"), search_attributes=False)
    worker = WorkerProcess(worker_env(server.address, ready_db, "bare", TEST_KEY), tmp_path / "worker.log")
    try:
        worker.start()
        client = await ready_client(server.address)
        known = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace))
        assert {key.name for key in ALL} <= set(known.custom_attributes)
    finally:
        worker.kill()
        server.stop()
