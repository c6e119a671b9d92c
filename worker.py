"""The worker: configuration -> Temporal client -> Worker(workflows, activities).

`python worker.py` runs one; start as many as the load needs, on any machine that
reaches Temporal and the archive. A bad policy, holiday or code file stops it at start.
"""

from __future__ import annotations

import asyncio
import compileall
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.runtime import Runtime
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.archive import Archivist
from activities.assignment import Assigner
from activities.collection import CollectionContact
from activities.deadlines import Deadlines
from activities.delivery import Channels, Postman
from activities.emergency import EmergencyDesk
from activities.merge import Merger
from activities.prevention import Prevention
from activities.retention import Eraser
from complaints.domain import codes
from complaints.domain.codes import CodeError, CodeTable
from complaints.domain.models import EMERGENCY_TEAM_ID
from complaints.domain.people import People
from complaints.domain.policy import Policy, PolicyError
from complaints.domain.workdays import HolidayFileError, WorkingCalendar, parse_holiday_file
from complaints.infra import logging as logs
from complaints.infra import tracing
from complaints.infra.archive import Archive, archive_for
from complaints.infra.evidence import EvidenceStore, Folder
from complaints.infra.metrics import metrics_runtime
from complaints.infra.migrations import SchemaBehind, require_current_schema
from complaints.infra.settings import SettingError, Settings, people_of, unconfigured_channels
from complaints.infra.temporal import codec_for, connect, register_search_attributes
from complaints.infra.worker_page import loopback_address, open_page
from complaints.notices.render import Templates
from complaints.readiness import readiness
import workflows
from workflows.complaint import ComplaintWorkflow
from workflows.emergency import EmergencyTeamWorkflow
from workflows.prevention import PreventionWorkflow
from workflows.retention import RetentionWorkflow
from workflows.visibility import ALL


def load_calendar(holiday_file: str | None) -> WorkingCalendar:
    if not holiday_file:
        return WorkingCalendar()
    try:
        with open(holiday_file, encoding="utf-8") as f:
            return WorkingCalendar(parse_holiday_file(f.read()))
    except (OSError, HolidayFileError) as err:
        raise HolidayFileError(f"COMPLAINTS_HOLIDAY_FILE {holiday_file}: {err}") from None


def cache_workflow_bytecode() -> None:
    """The sandbox imports the workflow modules afresh for every complaint it starts. Without
    their bytecode on disk (PYTHONDONTWRITEBYTECODE, common in images and set on our CI) each
    import compiles the source again: 9 ms of CPU per complaint. Writing it once here is
    best effort; a read-only install keeps working, only slower."""
    compileall.compile_dir(workflows.__path__[0], quiet=2)


def new_worker(
    client: Client, task_queue: str, policy: Policy, calendar: WorkingCalendar, archive: Archive,
    team_id: str = EMERGENCY_TEAM_ID, postman: Postman | None = None, evidence: EvidenceStore | None = None,
    people: People | None = None, **options: object,
) -> Worker:
    """The worker of the workflows and every activity; `team_id` names the emergency desk,
    `postman` the channels notices go out by (none configured: every notice stays pending). With
    the `evidence` store it also runs retention, which deletes evidence files as it erases; with
    `people` it assigns complaints reaching assessment to a handler."""
    cache_workflow_bytecode()
    postman = postman or Postman(Channels(), Templates(), archive)
    archivist = Archivist(archive)
    deadlines = Deadlines(policy, calendar)
    contact = CollectionContact(archive)
    desk = EmergencyDesk(client, task_queue, team_id)
    merger = Merger(client)
    prevention = Prevention(archive)
    assigner = Assigner(client, task_queue, people)
    retention = [Eraser(archive, evidence, policy).erase_expired] if evidence else []
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ComplaintWorkflow, EmergencyTeamWorkflow, PreventionWorkflow,
                   *([RetentionWorkflow] if evidence else [])],
        activities=[
            deadlines.plan_deadlines, deadlines.plan_drill_deadlines,
            archivist.archive_receipt, archivist.archive_record,
            contact.suspend_collection_contact, contact.lift_collection_contact,
            desk.alert_emergency_team, desk.close_emergency_case, desk.lead_of, merger.hand_over_repeat,
            archivist.record_delivery, postman.deliver_notice, prevention.find_alarms, prevention.raise_alarms,
            assigner.assign_handler, *retention,
        ],
        activity_executor=ThreadPoolExecutor(max_workers=32),
        **options,  # type: ignore[arg-type]
    )


def runner(settings: Settings) -> dict[str, object]:
    """How the worker runs workflow tasks: at most COMPLAINTS_WORKFLOW_TASK_SLOTS at once, in
    Temporal's sandbox unless COMPLAINTS_WORKFLOW_SANDBOX is off."""
    sandbox = {} if settings.workflow_sandbox else {"workflow_runner": UnsandboxedWorkflowRunner()}
    return {"max_concurrent_workflow_tasks": settings.workflow_task_slots} | sandbox


async def search_attributes_registered(client: Client) -> None:
    """Register the search attributes the workflows upsert that the namespace lacks (as `complaints
    setup` does): a release's new attribute on a namespace set up before it would otherwise fail
    every workflow task. Where this worker may not register them, it says so and goes on."""
    try:
        added = await register_search_attributes(client, ALL)
    except RPCError as err:
        logs.log.warning("search attributes not checked: run `complaints setup` with an administrator's "
                         "credentials if the namespace lacks any", status=err.status.name)
        return
    if added:
        logs.log.info("search attributes registered", added=added)


async def main() -> int:
    logs.configure()
    tracing.from_env("complaintflow-worker")
    try:
        settings = Settings.from_env()
        policy = Policy.load(settings.policy_file)
        calendar = load_calendar(settings.holiday_file)
        codes.use(CodeTable.load(settings.codes_file))
        archive = archive_for(settings)
        require_current_schema(archive.engine)
        channels = Channels.from_settings(settings)
        people = people_of(settings.people_file)
        behind = loopback_address()  # the runtime's own Prometheus server, behind the worker's page
        if settings.metrics_address:
            Runtime.set_default(metrics_runtime(behind))  # before the client: it uses the default
        client = await connect(settings)
        codec = codec_for(settings)
        page = await open_page(settings.metrics_address, behind, lambda: readiness(client, archive, codec, settings)
                               ) if settings.metrics_address else None
    except (PolicyError, HolidayFileError, CodeError, SchemaBehind, SettingError) as err:
        print(f"worker not started: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:  # the SDK's connection failure
        print(f"worker not started: cannot reach Temporal at {settings.temporal_address}: {err}", file=sys.stderr)
        return 2
    await search_attributes_registered(client)
    postman = Postman(channels, Templates(settings.templates_dir), archive)
    worker = new_worker(client, settings.task_queue, policy, calendar, archive, postman=postman,
                        evidence=Folder(settings.evidence_dir), people=people, **runner(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logs.log.info("worker started", task_queue=settings.task_queue, temporal=settings.temporal_address,
                  channels_not_configured=unconfigured_channels(settings),
                  metrics=f"http://{settings.metrics_address}/metrics" if settings.metrics_address else None)
    async with worker:
        await stop.wait()
    if page:
        page.close()
    logs.log.info("worker stopped")
    return 0


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    sys.stderr.flush()
    import os

    os._exit(code)
