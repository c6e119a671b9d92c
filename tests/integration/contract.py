"""A hostile client that reads the API's contract from the outside: schemathesis, once per role.

`served()` runs the real app on a free port, with a worker on its task queue, in a thread
of its own (its own event loop), against a Temporal dev server that only this run uses: what
the run files never meets another test's complaint. `run()` points schemathesis at the app's
`/openapi.json` with one role's key and reports the cases it sent and the failures it found.

The checks are schemathesis's own: no 5xx, every status documented, every answer matching
its schema (body, content type, headers), schema-violating requests rejected, valid ones
accepted (an answer the role, the complaint's stage or its existence explains is an
acceptance), and 405 with the path's methods in `Allow` for the methods a path lacks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import uvicorn
from schemathesis import openapi
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, from_schema
from schemathesis.engine.events import EngineFinished, FatalError, NonFatalError, ScenarioFinished
from schemathesis.engine.recorder import CheckNode

from complaints.api.app import create_app
from complaints.domain.policy import Policy
from complaints.domain.workdays import WorkingCalendar
from complaints.infra.archive import archive_for
from complaints.infra.migrations import upgrade
from complaints.infra.settings import Settings
from complaints.infra.temporal import connect, register_search_attributes
from tests.devserver import DevServer, free_port
from workflows.visibility import ALL

ROLE_KEYS = {"channel": "contract-channel", "handler": "contract-handler", "manager": "contract-manager",
             "emergency": "contract-emergency", "auditor": "contract-auditor"}
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "negative_data_rejection",
          "positive_data_acceptance", "unsupported_method", "allow_header_conformance")
ACCEPTED = ["2xx", "401", "403", "404", "409"]
"""A valid request may still be refused for who sends it (401, 403), for a complaint that does not
exist (404, generated ids name none) or for the complaint's stage (409)."""
REJECTED = ["400", "401", "403", "404", "405", "409", "413", "422"]
OWN = {
    "channel": r"^POST /complaints$",
    "handler": r"^(POST /complaints/\{complaint_id\}/(?!escalate$)\w+|GET /complaints.*)$",
    "manager": r"^(POST /complaints/\{complaint_id\}/escalate|POST /codec/encode|GET /emergency/cases)$",
    "emergency": r"^POST /emergency/cases/\{complaint_id\}/acknowledge$",
    "auditor": r"^(POST /codec/decode|GET /healthz)$",
}
"""The operations each role's coverage run takes, each operation once, by a role allowed to call it: the
coverage phase's boundary and schema-violating cases reach the route's checks rather than a 403."""
PHASES = ("examples", "coverage", "fuzzing")


@dataclass
class Tally:
    """One role's run: how many cases schemathesis sent, and what failed, one line each."""

    role: str
    cases: int = 0
    failures: list[str] = field(default_factory=list)


@contextmanager
def served(temporal: str, folder: Path, codec_keys: str) -> Iterator[str]:
    """The app on a free port with a worker, on a dev server started here; yields its base URL."""
    server = DevServer(f"127.0.0.1:{free_port()}", None, folder / "temporal.db").start(temporal)
    try:
        port = free_port()
        settings = Settings(
            temporal_address=server.address, codec_keys=codec_keys, task_queue="contract",
            emergency_team_id="emergency-team-contract", db_url=f"sqlite:///{folder / 'archive.db'}",
            api_keys=",".join(f"{key}:{role}" for role, key in ROLE_KEYS.items()), rpc_timeout=timedelta(seconds=5))
        with _running(settings, port):
            yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextmanager
def _running(settings: Settings, port: int) -> Iterator[None]:
    """Worker and API in one background event loop, stopped when the block ends."""
    ready, failed = threading.Event(), []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        from worker import new_worker

        try:
            client = await connect(settings)
            await register_search_attributes(client, ALL)
            archive = archive_for(settings)
            upgrade(archive.engine)
            api = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                                log_level="warning"))
            async with new_worker(client, settings.task_queue, Policy(), WorkingCalendar(), archive,
                                  settings.emergency_team_id):
                serving = asyncio.create_task(api.serve())
                while not api.started and not serving.done():
                    await asyncio.sleep(0.05)
                ready.set()
                await stop.wait()
                api.should_exit = True
                await serving
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            failed.append(error)
            ready.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(120)
    try:
        if failed:
            raise failed[0]
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        loop.close()


def run(base_url: str, role: str, examples: int, phases: tuple[str, ...] = PHASES, operations: str | None = None,
        seed: int = 16) -> Tally:
    """Schemathesis as `role` over every documented operation (or those whose `METHOD /path` matches
    `operations`), in `phases`: `examples` fuzzed cases per operation (schemathesis's max-examples,
    positive and negative ones), the documented examples and the coverage phase's deterministic cases."""
    config = SchemathesisConfig.from_dict({
        "seed": seed,
        "headers": {"Authorization": f"Bearer {ROLE_KEYS[role]}"},
        "generation": {"mode": "all", "max-examples": examples, "database": "none"},
        "phases": {phase: {"enabled": phase in phases} for phase in (*PHASES, "stateful")},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS},
                   "positive_data_acceptance": {"expected-statuses": ACCEPTED},
                   "negative_data_rejection": {"expected-statuses": REJECTED}},
        "workers": 1,
        "request-timeout": 30,
    })
    schema = openapi.from_url(f"{base_url}/openapi.json", config=config)
    if operations:
        schema = schema.include(name_regex=operations)
    tally = Tally(role)
    for event in from_schema(schema).execute():
        if isinstance(event, ScenarioFinished):
            tally.cases += len(event.recorder.cases)
            for checks in event.recorder.checks.values():
                tally.failures += [f"{event.recorder.label}: {check.name}: {_title(check)}"
                                   for check in checks if check.status == Status.FAILURE]
        elif isinstance(event, NonFatalError):
            tally.failures.append(f"{event.label}: error: {event.info.title}: {event.info.message}"[:500])
        elif isinstance(event, FatalError):
            tally.failures.append(f"fatal: {event.exception!r}"[:500])
        elif isinstance(event, EngineFinished):
            tally.failures += [str(failure)[:300] for failure in event.failures]
    tally.failures = sorted(set(tally.failures))
    return tally


def _title(check: CheckNode) -> str:
    info = check.failure_info
    if info is None:
        return ""
    failure = info.failure
    return f"{failure.title}: {failure.message}".replace("\n", " ")[:400]
