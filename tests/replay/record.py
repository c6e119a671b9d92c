"""Record the histories that tests/replay/test_replay.py replays.

Run `python -m tests.replay.record` only when a workflow change is MEANT to be
incompatible and every running complaint has been drained; otherwise the replay test is
the alarm that a deployment would break complaints already weeks into their lifecycle.
The payloads are encrypted with the test suite's key (tests.conftest.TEST_KEY).

`happy-path`, `breach-path` and `regulator-path` were recorded before the
`archive-local-activities` patch (archive writes as regular activities): they stand for the
complaints that started before it, so do not re-record them. `*-local-archive` are the same
scripts recorded after it, and `*-two-lanes` after the `release-2026-12` patch (archive
writes and alerts in lanes of their own). Name the paths to record: `python -m
tests.replay.record HAPPY-PATH-TWO-LANES BREACH-PATH-TWO-LANES CANCELLED-PATH-TWO-LANES`.
`cancelled-path-two-lanes`: a lead named by the team, a forged one ignored, then a cancellation.
`*-2027-01` after `release-2027-01` (notices delivered from the alerts lane, the decision
deadline met when its letter is sent): `python -m tests.replay.record HAPPY-PATH-2027-01
BREACH-PATH-2027-01 CANCELLED-PATH-2027-01 REGULATOR-PATH-2027-01`. `*-2027-02` after
`release-2027-02`, recorded with the demo people file (assignment at assessment, `ComplaintHandler`;
visibility's count of open work taken as none), and `drill-path-2027-02` an emergency drill's:
`python -m tests.replay.record HAPPY-PATH-2027-02 BREACH-PATH-2027-02 CANCELLED-PATH-2027-02
REGULATOR-PATH-2027-02 DRILL-PATH-2027-02`. `*-2027-03` after `release-2027-03` (the deadline
clock wakes ahead of each alarm): `python -m tests.replay.record HAPPY-PATH-2027-03 BREACH-PATH-2027-03
REGULATOR-PATH-2027-03`. `*-2027-04` after `release-2027-04` (the receipt's archive writes after the
assignment, never beside it): `python -m tests.replay.record HAPPY-PATH-2027-04 BREACH-PATH-2027-04
CANCELLED-PATH-2027-04 REGULATOR-PATH-2027-04`.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.assignment import Assigner
from complaints.domain.models import Intake
from complaints.domain.people import People
from complaints.domain.policy import Policy
from complaints.domain.workdays import WorkingCalendar
from complaints.infra.settings import Settings
from complaints.infra.temporal import data_converter, register_search_attributes
from complaints.intake import file_complaint
from tests.conftest import TEST_KEY, binary, postman, sqlite_archive
from tests.workflows.conftest import BODY, STEPS
from worker import new_worker
from workflows.visibility import ALL

HERE = Path(__file__).parent / "histories"
QUEUE = "replay-recording"


async def drive(env: WorkflowEnvironment, archive, ref: str, script) -> str:
    intake = Intake.model_validate({**BODY, "external_ref": ref})
    filed = await file_complaint(env.client, QUEUE, intake, archive, now=await env.get_current_time(),
                                 drill=script is drill)
    handle = env.client.get_workflow_handle(filed.workflow_id)
    await asyncio.sleep(0.5)
    await script(env, handle)
    await handle.result()
    history = await handle.fetch_history()
    (HERE / f"{ref.lower()}.json").write_text(history.to_json())
    return filed.workflow_id


async def happy(env, handle):
    for name, payload in STEPS:
        await handle.execute_update(name, payload)


async def breach(env, handle):
    await env.sleep(timedelta(hours=2))  # assessment and its warning pass, escalation to the team
    await handle.signal("escalate", {"reason": "called the regulator", "by": "manager-li"})
    for name, payload in STEPS:
        await handle.execute_update(name, payload)


async def regulator(env, handle):
    await handle.execute_update(*STEPS[0])
    await handle.execute_update("extend", {"handler": "handler-wang", "approver": "manager-li",
                                           "approver_role": "manager", "reason": "complex", "days": 10})
    await handle.execute_update("pause", {"handler": "handler-wang", "reason": "forensic appraisal"})
    await env.sleep(timedelta(days=3))
    await handle.execute_update("resume", {"handler": "handler-wang"})
    for name, payload in STEPS[1:]:
        await handle.execute_update(name, payload)


async def acknowledged(env, complaint_id: str) -> None:
    """The emergency team acknowledges the complaint's case once the alert has opened it."""
    team = env.client.get_workflow_handle("emergency-team-replay")
    for _ in range(100):  # the team's case opens once the alert activity has run
        try:
            if any(c["complaint_id"] == complaint_id for c in (await team.query("open_cases"))["cases"]):
                break
        except Exception:  # noqa: BLE001 - the team's workflow is being started by the alert
            pass
        await asyncio.sleep(0.1)
    await team.execute_update("acknowledge", {"complaint_id": complaint_id, "lead": "lead-zhao"})


async def cancelled(env, handle):
    status = await handle.execute_update(*STEPS[0])  # with the interim measure
    await handle.signal("escalate", {"reason": "called the regulator", "by": "manager-li"})
    await acknowledged(env, status["complaint_id"])
    await handle.signal("lead_assigned", "mallory")  # forged: confirmed with the team, ignored
    await asyncio.sleep(0.5)
    await handle.cancel(reason="cancelled from the Web UI")


async def drill(env, handle):
    """An emergency drill: escalated, acknowledged by the team, ended."""
    await handle.signal("escalate", {"reason": "drill", "by": "manager-li"})
    await acknowledged(env, (await handle.query("status"))["complaint_id"])
    await handle.execute_update("withdraw", {"handler": "drill", "reason": "drill ended"})


PATHS = {"HAPPY-PATH": happy, "BREACH-PATH": breach, "REGULATOR-PATH": regulator,
         "HAPPY-PATH-LOCAL-ARCHIVE": happy, "BREACH-PATH-LOCAL-ARCHIVE": breach,
         "HAPPY-PATH-TWO-LANES": happy, "BREACH-PATH-TWO-LANES": breach, "CANCELLED-PATH-TWO-LANES": cancelled,
         "HAPPY-PATH-2027-01": happy, "BREACH-PATH-2027-01": breach, "CANCELLED-PATH-2027-01": cancelled,
         "REGULATOR-PATH-2027-01": regulator, "HAPPY-PATH-2027-02": happy, "BREACH-PATH-2027-02": breach,
         "CANCELLED-PATH-2027-02": cancelled, "REGULATOR-PATH-2027-02": regulator, "DRILL-PATH-2027-02": drill,
         "HAPPY-PATH-2027-03": happy, "BREACH-PATH-2027-03": breach, "REGULATOR-PATH-2027-03": regulator,
         "HAPPY-PATH-2027-04": happy, "BREACH-PATH-2027-04": breach, "CANCELLED-PATH-2027-04": cancelled,
         "REGULATOR-PATH-2027-04": regulator}
DEMO_PEOPLE = Path(__file__).parents[2] / "deploy" / "people.demo.toml"


async def none_open(_: Assigner, person_id: str) -> int:
    return 0


async def main(names: list[str]) -> None:
    HERE.mkdir(exist_ok=True)
    settings = Settings(codec_keys=TEST_KEY)
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=binary("temporal-test-server"),
                                                        data_converter=data_converter(settings))
    await register_search_attributes(env.client, ALL)
    archive = sqlite_archive(Path(tempfile.mkdtemp()))
    Assigner.open_work = none_open  # the time-skipping server counts no visibility
    async with new_worker(env.client, QUEUE, Policy(), WorkingCalendar(), archive, "emergency-team-replay",
                          postman(archive), people=People.load(DEMO_PEOPLE)):
        for ref in names:
            print("recorded", await drive(env, archive, ref, PATHS[ref]))
    await env.shutdown()


if __name__ == "__main__":
    unknown = [name for name in sys.argv[1:] if name not in PATHS]
    if not sys.argv[1:] or unknown:
        sys.exit(f"name the paths to record, of {', '.join(PATHS)}")
    asyncio.run(main(sys.argv[1:]))
