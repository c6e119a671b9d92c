"""What the fault tests inject faults into: worker processes, a TCP proxy, the archive's trail.

Workers here are real `python worker.py` processes started with the environment an operator
would give them, each in its own process group so a test can SIGKILL it and always clean
it up.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine, select
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from bench.procs import Proc
from bench.shape import STEPS
from complaints.infra.schema import audit, deadlines
from complaints.infra.settings import Settings
from complaints.infra.temporal import connect
from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parents[2]


def policy_file(path: Path, **deadlines: str) -> Path:
    """A policy TOML with the given deadlines (the rest keep their defaults)."""
    lines = ["warning_at = 0.8", "[deadlines]"] + [f'{name} = "{value}"' for name, value in deadlines.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class WorkerProcess(Proc):
    """`python worker.py` as an operator runs it, in its own process group."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__("worker", [sys.executable, "worker.py"], env, log, "worker started")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def worker_env(address: str, db_url: str, task_queue: str, codec_keys: str, policy: Path | None = None) -> dict:
    env = {"TEMPORAL_ADDRESS": address, "COMPLAINTS_DB_URL": db_url, "COMPLAINTS_TASK_QUEUE": task_queue,
           "COMPLAINTS_CODEC_KEYS": codec_keys, "COMPLAINTS_FIRM_NAME": "示例消费金融有限公司"}  # letters name the firm
    if policy:
        env["COMPLAINTS_POLICY_FILE"] = str(policy)
    return env


def through(url: str, port: int) -> str:
    """`url` with its host and port replaced by the relay's on 127.0.0.1."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)
    netloc = f"{host[0]}@127.0.0.1:{port}" if len(host) == 2 else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


class TcpProxy:
    """A TCP relay on 127.0.0.1 that a test can close (refusing and cutting every connection) and reopen."""

    def __init__(self, target_port: int, port: int) -> None:
        self.target_port = target_port
        self.port = port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port, reuse_address=True)

    async def close(self) -> None:
        """The database is gone: new connections are refused, open ones are cut."""
        if self.server:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self.writers -= {writer, up_writer}


async def ready_client(address: str) -> Client:
    """A client of the dev server at `address`, once its frontend answers (it opens its port first)."""
    settings = Settings(temporal_address=address, codec_keys=TEST_KEY)
    for _ in range(120):
        try:
            return await connect(settings)
        except RuntimeError:
            await asyncio.sleep(0.5)
    return await connect(settings)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float, interval: float = 1.0) -> Any:
    """Poll `check` until it returns something truthy; fail with its last answer after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"not reached within {timeout}s; last answer: {last!r}")


async def step(client: Client, complaint_id: str, k: int) -> dict:
    """Apply the happy path's step `k` with a fixed update id, retrying the same id until it answers.

    A handler whose call was cut off calls again; the update id makes that the same call, so the
    complaint moves once whatever happened to the first attempt.
    """
    name, payload = STEPS[k]
    handle = client.get_workflow_handle(f"complaint-{complaint_id}")
    if k == 0:
        await until_assessment(client, complaint_id)
    for _attempt in range(60):
        try:
            status = await handle.execute_update(name, payload, id=f"{complaint_id}-{name}-{k}",
                                                 result_type=dict)
            return status
        except WorkflowUpdateFailedError:
            raise
        except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError):
            await asyncio.sleep(1)
    raise AssertionError(f"{name} on {complaint_id} never answered")


async def until_assessment(client: Client, complaint_id: str) -> None:
    """Wait out `receipt`: a complaint accepts no handler action until its deadlines are fixed."""
    await eventually(lambda: _in_assessment(client, complaint_id), timeout=120, interval=0.2)


async def _in_assessment(client: Client, complaint_id: str) -> bool:
    try:
        return (await status_of(client, complaint_id))["stage"] != "receipt"
    except RPCError:
        return False


async def status_of(client: Client, complaint_id: str) -> dict:
    return await client.get_workflow_handle(f"complaint-{complaint_id}").query("status", result_type=dict)


def trails(engine: Engine, complaint_ids: list[str]) -> dict[str, list[dict]]:
    """Each complaint's audit trail in the order it was written (row id), not re-sorted."""
    found: dict[str, list[dict]] = {cid: [] for cid in complaint_ids}
    with engine.connect() as db:
        rows = db.execute(select(audit.c.complaint_id, audit.c.seq, audit.c.kind, audit.c.action, audit.c.at,
                                 audit.c.details).order_by(audit.c.id)).mappings()
        for row in rows:
            if row["complaint_id"] in found:
                found[row["complaint_id"]].append(dict(row))
    return found


def trail_faults(trail: list[dict]) -> list[str]:
    """What is wrong with one audit trail: duplicates, gaps, or rows written out of order."""
    seqs = [row["seq"] for row in trail]
    faults = []
    if len(seqs) != len(set(seqs)):
        faults.append(f"duplicate seq in {seqs}")
    if seqs != list(range(1, len(seqs) + 1)):
        faults.append(f"not written as 1..n in order: {seqs}")
    if trail and trail[0]["kind"] != "received":
        faults.append(f"first entry is {trail[0]['kind']}")
    return faults


def breached_at(engine: Engine, complaint_ids: list[str]) -> dict[tuple[str, str], tuple[Any, Any]]:
    """(complaint, deadline) -> (due_at, breached_at) for every breach the archive holds."""
    with engine.connect() as db:
        rows = db.execute(select(deadlines.c.complaint_id, deadlines.c.name, deadlines.c.due_at,
                                 deadlines.c.breached_at).where(deadlines.c.breached_at.is_not(None)))
        return {(r.complaint_id, r.name): (r.due_at, r.breached_at) for r in rows if r.complaint_id in complaint_ids}
