"""Two costs the worker pays per complaint, measured apart from the load benchmark:

    python bench/worker_costs.py            # 200 complaints' archive records on PostgreSQL
    python bench/worker_costs.py --n 500 --db-url postgresql+psycopg://...

- **The archive's writes.** One complaint is driven down the happy path on the time-skipping
  server and its records (receipt, assessment, seven actions) are kept; then the same records,
  under `--n` new complaint ids, are written to a fresh PostgreSQL schema with `Archive.write`,
  and the CPU and wall time per complaint are printed.
- **Binding the data converter to a payload's workflow**, which the worker asks for for every
  payload it visits: how many times one complaint asks, and what each costs as the SDK's
  `DataConverter.with_context` clones the converter and as `SealingDataConverter` keeps one
  clone a workflow.
- **The sandbox's import of the workflow modules**, which it repeats for every complaint it
  starts: the median time to import `workflows.complaint` afresh, compiling from source (as
  under PYTHONDONTWRITEBYTECODE with no bytecode on disk) and from the bytecode
  `worker.cache_workflow_bytecode` writes.

A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import timeit
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from sqlalchemy import create_engine, text  # noqa: E402
from temporalio.converter import ActivitySerializationContext, DataConverter, SerializationContext  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from complaints.domain.models import Intake, Record  # noqa: E402
from complaints.domain.policy import Policy  # noqa: E402
from complaints.domain.workdays import WorkingCalendar  # noqa: E402
from complaints.infra.archive import Archive  # noqa: E402
from complaints.infra.migrations import upgrade  # noqa: E402
from complaints.infra.settings import Settings  # noqa: E402
from complaints.infra.temporal import SealingDataConverter, data_converter, register_search_attributes  # noqa: E402
from complaints.intake import file_complaint  # noqa: E402
from tests.conftest import POSTGRES_URL, TEST_KEY, TEST_KEYS, binary, postman, sqlite_archive  # noqa: E402
from tests.workflows.conftest import BODY, STEPS  # noqa: E402
from workflows.visibility import ALL  # noqa: E402


class Recording(Archive):
    """The archive, keeping a copy of every record written to it."""

    def __init__(self, archive: Archive) -> None:
        super().__init__(archive.engine, TEST_KEYS)
        self.records: list[Record] = []

    def write(self, record: Record) -> None:
        self.records.append(record)
        super().write(record)


async def one_complaints_records() -> tuple[list[Record], int]:
    """The records one complaint driven to closed writes, and how many times its run bound the
    data converter to a context."""
    from worker import new_worker

    asked = 0
    bind = SealingDataConverter.with_context

    def counted(self: SealingDataConverter, context: SerializationContext) -> DataConverter:
        nonlocal asked
        asked += 1
        return bind(self, context)

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=data_converter(Settings(codec_keys=TEST_KEY)))
    try:
        await register_search_attributes(env.client, ALL)
        archive = Recording(sqlite_archive(Path(tempfile.mkdtemp())))
        SealingDataConverter.with_context = counted  # type: ignore[method-assign]
        async with new_worker(env.client, "costs", Policy(), WorkingCalendar(), archive, "team-costs", postman(archive)):
            filed = await file_complaint(env.client, "costs", Intake.model_validate(BODY), archive,
                                         now=await env.get_current_time())
            handle = env.client.get_workflow_handle(filed.workflow_id)
            for name, payload in STEPS:
                await handle.execute_update(name, payload)
            await handle.result()
        return archive.records, asked
    finally:
        SealingDataConverter.with_context = bind  # type: ignore[method-assign]
        await env.shutdown()


def binding_cost(rounds: int = 2000) -> tuple[float, float]:
    """Microseconds to bind the data converter to an archive write's context: cloned by the SDK
    every time, and kept a workflow by SealingDataConverter."""
    converter = data_converter(Settings(codec_keys=TEST_KEY))
    context = ActivitySerializationContext(namespace="default", workflow_id="complaint-C1", activity_id="7",
                                           workflow_type="ComplaintWorkflow", activity_type="archive_record",
                                           activity_task_queue="costs", is_local=True)
    cloned = timeit.timeit(lambda: DataConverter.with_context(converter, context), number=rounds)
    kept = timeit.timeit(lambda: converter.with_context(context), number=rounds)
    return cloned / rounds * 1e6, kept / rounds * 1e6


def archive_cost(records: list[Record], n: int, db_url: str) -> tuple[float, float]:
    """CPU and wall milliseconds per complaint to write its records, on a fresh schema."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(db_url)
    with admin.begin() as db:
        db.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = create_engine(f"{db_url}?options=-csearch_path%3D{schema}")
        upgrade(engine)
        archive = Archive(engine, TEST_KEYS)
        batches = [[r.model_copy(update={"complaint_id": f"B{i:015X}"}) for r in records] for i in range(n + 1)]
        for record in batches[0]:  # warm: connections, compiled statements
            archive.write(record)
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in batches[1:]:
            for record in batch:
                archive.write(record)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        engine.dispose()
        return cpu / n * 1000, wall / n * 1000
    finally:
        with admin.begin() as db:
            db.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def import_cost(compiled: bool, rounds: int = 21) -> float:
    """Median milliseconds to import `workflows.complaint` and its sibling modules afresh."""
    import workflows
    from worker import cache_workflow_bytecode

    cache = Path(workflows.__path__[0]) / "__pycache__"
    shutil.rmtree(cache, ignore_errors=True)
    if compiled:
        cache_workflow_bytecode()
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    times = []
    try:
        for _ in range(rounds):
            for name in [m for m in sys.modules if m.startswith("workflows.")]:
                del sys.modules[name]
            started = time.perf_counter()
            __import__("workflows.complaint")
            times.append(time.perf_counter() - started)
    finally:
        sys.dont_write_bytecode = dont_write
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="complaints' records to write (default 200)")
    parser.add_argument("--db-url", default=POSTGRES_URL, help="PostgreSQL for the archive (a fresh schema)")
    args = parser.parse_args()
    records, asked = asyncio.run(one_complaints_records())
    cpu, wall = archive_cost(records, args.n, args.db_url)
    print(f"archive: {len(records)} records a complaint ({', '.join(r.kind for r in records)})")
    print(f"archive: {cpu:.1f} ms CPU and {wall:.1f} ms wall per complaint ({args.n} complaints, PostgreSQL)")
    cloned, kept = binding_cost()
    print(f"converter bound to a context {asked} times a complaint: {cloned:.1f} us a time cloned by the SDK "
          f"({asked * cloned / 1000:.1f} ms a complaint), {kept:.2f} us kept a workflow ({asked * kept / 1000:.2f} ms)")
    source, bytecode = import_cost(compiled=False), import_cost(compiled=True)
    print(f"sandbox import of the workflow modules: {source:.1f} ms from source, {bytecode:.1f} ms from bytecode")


if __name__ == "__main__":
    main()
