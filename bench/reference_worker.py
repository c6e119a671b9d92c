"""`python -m bench.reference_worker`: one worker of the reference workflow (TEMPORAL_ADDRESS, BENCH_REFERENCE_QUEUE)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from bench.reference_workflow import ReferenceWorkflow, reference_step


async def main() -> int:
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"])
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=os.environ["BENCH_REFERENCE_QUEUE"], workflows=[ReferenceWorkflow],
                      activities=[reference_step], activity_executor=ThreadPoolExecutor(max_workers=32)):
        print("worker started", flush=True)
        await stop.wait()
    return 0


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    os._exit(code)
