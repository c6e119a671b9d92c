"""Emergency drills on the time-skipping server: marked complaints through the real process, the
team's acknowledgement measured (or shown missed), the complainant never written to, and the
drill's complaints closed when it ends."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from complaints.cli.drill import keep, show
from complaints.cli.operate import show_cases
from complaints.desk import Desk
from complaints.domain.models import OpenCase
from complaints.drills import ENDED, Drill, Scenario
from complaints.infra.archive import Archive
from workflows.visibility import DRILL

from .conftest import attribute


async def case_of(desk: Desk, complaint_id: str) -> OpenCase:
    """The team's case of the complaint, once its escalation has reached the team (bounded)."""
    for _ in range(200):
        found = [c for c in (await desk.open_cases(current_stages=False)).cases if c.complaint_id == complaint_id]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{complaint_id} never reached the emergency team")


async def test_an_urgent_drill_measures_the_teams_acknowledgement(env, client, archive: Archive, task_queue,
                                                                   team_id, worker, capsys) -> None:
    desk = Desk(client, archive, task_queue, team_id)
    drill = await Drill.start(desk, Scenario.urgent)
    [cid] = drill.complaint_ids
    case = await case_of(desk, cid)
    assert case.drill and case.acknowledged_at is None
    show_cases(await desk.open_cases(current_stages=False))
    assert "[DRILL]" in capsys.readouterr().out  # the team sees it is a drill
    await env.sleep(timedelta(seconds=40))  # the team takes 40 s to answer
    await desk.acknowledge(cid, "lead-li")

    await drill.watch(timedelta(minutes=10), poll=0.05)  # returns once every case is acknowledged
    await drill.end()
    report = await drill.report()

    [row] = report["complaints"]
    assert row["acknowledgement"] == "acknowledged" and row["lead"] == "lead-li"
    assert row["escalation"] == "urgent_assessment" and row["to_escalation"] < 5
    assert 40 <= row["to_acknowledgement"] < 45
    assert [s["stage"] for s in row["stages"]] == ["receipt", "assessment", "closed"]
    assert report["summary"]["acknowledged"] == 1 and report["summary"]["missed"] == 0
    # the complainant is never written to; the team's alert is tried (no channel configured in tests)
    notices = {(n["kind"], n["recipient"]): n for n in row["notices"]}
    assert notices["acknowledgement", "complainant"]["status"] == "suppressed"
    assert notices["acknowledgement", "complainant"]["channel"] is None
    assert notices["emergency", "emergency-team"]["last_error"] == "channel not configured"
    assert report["summary"]["passed"] is False  # a staff notice did not go out: the drill says so
    assert [n["kind"] for n in report["summary"]["staff_notices_not_out"]] == ["emergency", "lead_assigned"]

    archived = archive.complaint(cid)
    assert archived["drill"] is True and archived["outcome"] == "withdrawn"
    assert [e["details"].get("reason") for e in archive.audit_trail(cid) if e["action"] == "withdraw"] == [ENDED]
    assert await attribute(client.get_workflow_handle(f"complaint-{cid}"), DRILL) == "yes"
    await case_of_closed(desk, cid)


async def case_of_closed(desk: Desk, complaint_id: str) -> None:
    for _ in range(200):
        if all(c.complaint_id != complaint_id for c in (await desk.open_cases(current_stages=False)).cases):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{complaint_id}'s emergency case still open after the drill ended")


async def test_a_breach_drill_without_acknowledgement_reports_it_missed(env, client, archive: Archive, task_queue,
                                                                         team_id, worker, tmp_path, capsys) -> None:
    desk = Desk(client, archive, task_queue, team_id)
    drill = await Drill.start(desk, Scenario.breach, n=2)
    await env.sleep(timedelta(minutes=3))  # the drill's assessment deadline (2 minutes) passes
    for cid in drill.complaint_ids:
        await case_of(desk, cid)
    await drill.watch(timedelta(seconds=1), poll=0.05)  # nobody acknowledges
    await drill.end()
    report = await drill.report()

    for row in report["complaints"]:
        assert row["acknowledgement"] == "missed" and row["to_acknowledgement"] is None
        assert row["escalation"] == "sla_breach" and 120 <= row["to_escalation"] < 125
        assert row["breaches"] == ["assessment"]
        assert {n["status"] for n in row["notices"] if n["recipient"] == "complainant"} == {"suppressed"}
    assert report["summary"]["missed"] == 2 and report["summary"]["passed"] is False

    show(report)
    assert capsys.readouterr().out.count("MISSED") == 2
    data, chart = keep(report, tmp_path)
    assert json.loads(data.read_text())["complaints"][0]["acknowledgement"] == "missed"
    assert chart.read_bytes().startswith(b"\x89PNG")


async def test_a_rejection_drill_escalates_as_the_customer_rejected_twice(env, client, archive: Archive,
                                                                          task_queue, team_id, worker) -> None:
    desk = Desk(client, archive, task_queue, team_id)
    drill = await Drill.start(desk, Scenario.rejection)
    await drill.play()
    [cid] = drill.complaint_ids
    await case_of(desk, cid)
    await desk.acknowledge(cid, "lead-zhao")
    await drill.watch(timedelta(minutes=10), poll=0.05)
    await drill.end()
    [row] = (await drill.report())["complaints"]
    assert row["escalation"] == "customer_rejection" and row["acknowledgement"] == "acknowledged"
    stages = [s["stage"] for s in row["stages"]]
    assert stages.count("feedback") == 2 and stages[-1] == "closed"
    assert {e["actor"] for e in archive.audit_trail(cid) if e["kind"] == "action"} == {"drill"}
