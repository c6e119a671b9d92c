"""The `complaints` command as operators run it: the installed entry point in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from complaints.cli.operate import parse_payload, show_status
from complaints.desk import Desk, Filters, desk_for
from complaints.domain.models import DEADLINES, Channel, ComplaintStatus, Outcome, Respondent, Stage
from complaints.infra.settings import Settings
from tests.conftest import binary
from tests.devserver import free_port
from tests.integration.apihelp import api_settings, eventually, intake, unreachable_archive  # noqa: F401

COMPLAINTS = str(Path(sys.executable).parent / "complaints")
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def cli_env(api_settings: Settings) -> dict[str, str]:
    return {**os.environ, "TEMPORAL_ADDRESS": api_settings.temporal_address,
            "COMPLAINTS_TASK_QUEUE": api_settings.task_queue, "COMPLAINTS_DB_URL": api_settings.db_url,
            "COMPLAINTS_EMERGENCY_TEAM_ID": api_settings.emergency_team_id,
            "COMPLAINTS_CODEC_KEYS": api_settings.codec_keys or "", "COLUMNS": "200"}


@pytest.fixture
def desk(api_settings: Settings, dev_client, dev_worker) -> Desk:
    return desk_for(api_settings, dev_client)


async def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = await asyncio.to_thread(subprocess.run, [COMPLAINTS, *args], env=env, capture_output=True, text=True,
                                   timeout=60)
    assert "Traceback" not in done.stderr + done.stdout
    return done


async def filed(desk: Desk, ref: str) -> str:
    cid = (await desk.file(intake(ref))).complaint_id
    await eventually(lambda: desk.status(cid), lambda s: s.stage.value == "assessment")
    return cid


async def test_a_handler_moves_a_complaint_through_every_stage(desk: Desk, cli_env: dict[str, str]) -> None:
    cid = await filed(desk, "CLI-LIFE")
    steps = [
        (["assess", "handler=h.li", "category=service.fees", "severity=normal", "interim_measure=false",
          "respondent.kind=agency", "respondent.id=A-7"], "investigation"),
        (["investigate", "handler=h.li", "findings=Posted twice.", "root_cause=batch rerun", "substantiated=true",
          "evidence=log-1.csv", "evidence=log-2.csv"], "solution"),
        (["propose_solution", "--json", '{"handler": "h.li", "plan": "Refund the fee.", "amount": 120}',
          "remedies=refund"], "solution"),
        (["record_execution", "handler=h.li", "result=Refunded."], "feedback"),
        (["record_feedback", "handler=h.li", "accepted=true"], "revisit"),
        (["record_revisit", "handler=h.li", "reached=true", "satisfaction=4"], "summary"),
        (["summarize", "handler=h.li", "root_cause=batch rerun", "improvements=idempotent posting"], "closed"),
    ]
    for args, stage in steps:
        done = await run(cli_env, "act", cid, *args)
        assert done.returncode == 0, done.stderr
        assert f"{args[0]} accepted; stage {stage}" in done.stdout
    assert (await desk.status(cid)).respondent == Respondent(kind="agency", id="A-7")
    review = (await desk.file(intake("CLI-LIFE-REVIEW", review_of=cid))).complaint_id
    shown, reviewing = await asyncio.gather(run(cli_env, "status", cid), run(cli_env, "status", review))
    assert shown.returncode == 0 and "stage closed" in shown.stdout and "outcome resolved" in shown.stdout
    assert "met" in shown.stdout and "accepts now: nothing" in shown.stdout
    assert f"reviews: {review}" in shown.stdout and f"review of: {cid}" in reviewing.stdout


async def test_refusals_and_unknown_complaints_are_one_line_and_an_exit_code(desk: Desk, cli_env) -> None:
    cid = await filed(desk, "CLI-REFUSE")
    wrong_stage, unknown, bad_payload, bad_filter, not_a_case, no_such_action = await asyncio.gather(
        run(cli_env, "act", cid, "summarize", "handler=h", "root_cause=r", "improvements=i"),
        run(cli_env, "status", "CNOSUCHCOMPLAINT"),
        run(cli_env, "act", cid, "assess", "handler=h", "category=service.fees", "severity=mild"),
        run(cli_env, "list", "--stage", "done"),
        run(cli_env, "ack", cid, "--lead", "e.wu"),
        run(cli_env, "act", cid, "approve", "handler=h"),
    )
    assert wrong_stage.returncode == 4 and wrong_stage.stderr.startswith("refused: summarize refused")
    assert "stage assessment" in wrong_stage.stderr
    assert unknown.returncode == 3 and unknown.stderr.strip() == "not found: no complaint CNOSUCHCOMPLAINT"
    assert bad_payload.returncode == 2 and bad_payload.stderr.startswith("invalid: severity:")
    assert bad_filter.returncode == 2 and bad_filter.stderr.startswith("invalid: stage:")
    assert not_a_case.returncode == 3 and "not an open emergency case" in not_a_case.stderr
    assert no_such_action.returncode == 2 and no_such_action.stderr.startswith("invalid: unknown action 'approve'")
    assert all(len(d.stderr.strip().splitlines()) == 1
               for d in (wrong_stage, unknown, bad_payload, bad_filter, not_a_case, no_such_action))


async def test_status_of_a_closed_complaint_without_the_archive_is_exit_5_naming_it(desk: Desk, cli_env) -> None:
    cid = await filed(desk, "CLI-ARCHIVE-DOWN")
    await desk.act(cid, "withdraw", {"handler": "h.li", "reason": "settled"})
    done = await run({**cli_env, "COMPLAINTS_DB_URL": unreachable_archive()}, "status", cid)
    assert done.returncode == 5, done.stderr
    assert done.stderr.strip() == ("unavailable: the archive did not answer (it lists the reviews of a decided or "
                                   "closed complaint); try again")


async def test_status_without_an_id_prints_the_readiness_checks(desk: Desk, cli_env) -> None:
    ready, down = await asyncio.gather(run(cli_env, "status"),
                                       run({**cli_env, "COMPLAINTS_DB_URL": unreachable_archive()}, "status"))
    assert ready.returncode == 0, ready.stdout
    assert [line.split()[0] for line in ready.stdout.splitlines()] == ["temporal", "archive", "codec", "worker",
                                                                          "notices"]
    assert down.returncode == 5 and "archive   the archive cannot be written" in down.stdout
    assert "temporal  ok" in down.stdout and "worker    ok" in down.stdout
    assert "notices   pending: channel not configured (COMPLAINTS_SMTP_URL" in ready.stdout  # said, not failing


async def test_an_action_no_worker_answers_is_queued_and_its_key_gives_the_outcome_once(
        api_settings: Settings, dev_client, worker_on, cli_env) -> None:
    desk = desk_for(api_settings, dev_client)
    async with worker_on():
        cid = await filed(desk, "CLI-AWAY")
    impatient = {**cli_env, "COMPLAINTS_RPC_TIMEOUT": "1"}
    pause = ["act", cid, "pause", "handler=h.li", "reason=forensic appraisal"]
    queued = await run(impatient, *pause)
    assert queued.returncode == 6, queued.stderr
    assert queued.stderr.startswith(f"queued: pause on {cid} is not yet checked or applied")
    key = queued.stderr.strip().rsplit("repeat this command with --key ", 1)[1]
    async with worker_on():
        done = await eventually(lambda: run(impatient, *pause, "--key", key), lambda d: d.returncode != 6, seconds=30)
        again = await run(impatient, *pause, "--key", key)  # the first outcome, not "refused: already paused"
        status = await desk.status(cid)
    assert (done.returncode, again.returncode) == (0, 0) and f"{cid}: pause accepted" in again.stdout
    assert len(status.pauses) == 1
    bad_key = await run(impatient, *pause, "--key", "not a key")
    assert bad_key.returncode == 2 and bad_key.stderr.startswith("invalid: Idempotency-Key: must be 1 to 64")


async def test_list_escalate_cases_and_ack(desk: Desk, cli_env) -> None:
    quiet, loud = await filed(desk, "CLI-QUIET"), await filed(desk, "CLI-LOUD")
    done = await run(cli_env, "escalate", loud, "--reason", "regulator enquiry", "--by", "m.chen")
    assert done.returncode == 0 and f"{loud}: escalated" in done.stdout
    await eventually(desk.open_cases, lambda found: any(c.complaint_id == loud for c in found.cases))
    await eventually(lambda: desk.list(Filters(escalated=True)), lambda rows: len(rows) == 1)
    cases, listed, everything = await asyncio.gather(
        run(cli_env, "cases"), run(cli_env, "list", "--escalated"), run(cli_env, "list", "--json"))
    assert cases.returncode == 0 and loud in cases.stdout and "manager" in cases.stdout and quiet not in cases.stdout
    assert listed.returncode == 0 and loud in listed.stdout and quiet not in listed.stdout
    assert quiet in everything.stdout and loud in everything.stdout
    acked = await run(cli_env, "ack", loud, "--lead", "e.wu")
    assert acked.returncode == 0 and f"{loud}: lead e.wu" in acked.stdout
    status = await eventually(lambda: desk.status(loud), lambda s: s.lead == "e.wu")
    assert status.lead == "e.wu"


async def test_list_and_cases_show_whole_ids_at_80_columns(desk: Desk, cli_env) -> None:
    quiet, loud = await filed(desk, "CLI-NARROW-1"), await filed(desk, "CLI-NARROW-2")
    await desk.escalate(loud, {"reason": "regulator enquiry", "by": "m.chen"})
    await eventually(desk.open_cases, lambda found: len(found.cases) == 1)
    await desk.act(loud, "assess", {"handler": "h.li", "category": "card.unauthorized_transaction",
                                    "severity": "high"})
    await eventually(lambda: desk.list(Filters()),
                     lambda rows: {r.stage for r in rows} == {"assessment", "investigation"} and len(rows) == 2)
    narrow = {**cli_env, "COLUMNS": "80"}
    listed, cases = await asyncio.gather(run(narrow, "list"), run(narrow, "cases"))
    for done in (listed, cases):
        assert done.returncode == 0, done.stderr
        assert max(len(line) for line in done.stdout.splitlines()) <= 80
    rows = {line.split()[1]: line for line in listed.stdout.splitlines() if line.startswith("│")}
    assert {quiet, loud} <= set(rows) and "investigation" in rows[loud] and "escalated" in rows[loud]
    case = next(line for line in cases.stdout.splitlines() if loud in line)
    assert "investigation" in case and "manager" in case  # the stage now, not at escalation


async def test_status_shows_links_extensions_pauses_and_cancelled_deadlines(desk: Desk, cli_env) -> None:
    original, repeat = await filed(desk, "CLI-ORIGINAL"), await filed(desk, "CLI-REPEAT")  # same phone
    for args in (["extend", "handler=h.li", "approver=m.chen", "approver_role=manager", "days=10",
                  "reason=recordings from the agency"],
                 ["pause", "handler=h.li", "reason=forensic appraisal"], ["resume", "handler=h.li"],
                 ["pause", "handler=h.li", "reason=second appraisal"],
                 ):
        assert (await run(cli_env, "act", original, *args)).returncode == 0
    assert (await run(cli_env, "act", repeat, "merge", "handler=h.li", f"into={original}")).returncode == 0
    await eventually(lambda: desk.status(original), lambda s: s.merged == [repeat])
    shown, merged = await asyncio.gather(run(cli_env, "status", original), run(cli_env, "status", repeat))
    assert f"repeats merged into it: {repeat}" in shown.stdout
    assert "Extensions" in shown.stdout and all(word in shown.stdout for word in ("m.chen", "recordings"))
    assert "Pauses" in shown.stdout and "forensic appraisal" in shown.stdout and "still paused" in shown.stdout
    assert deadline_states(shown.stdout)["decision"] == "paused"
    assert f"possible duplicate of: {original}" in merged.stdout and f"merged into: {original}" in merged.stdout
    assert "outcome merged" in merged.stdout
    states = deadline_states(merged.stdout)
    assert states and {state for name, state in states.items() if name != "assessment"} == {"cancelled"}


def deadline_states(shown: str) -> dict[str, str]:
    """deadline -> state, read from the Deadlines table of `complaints status`."""
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in shown.split("Deadlines")[1].splitlines()]
    return {row[0]: row[2] for row in rows if len(row) == 3 and row[0] in DEADLINES}


def test_act_help_lists_the_fields_of_the_action() -> None:
    def fields(*args: str) -> dict[str, list[str]]:
        done = subprocess.run([COMPLAINTS, "act", *args, "--help"], env={**os.environ, "COLUMNS": "160"},
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        rows = ([cell.strip() for cell in line.split("│")[1:-1]] for line in done.stdout.splitlines())
        return {cells[0]: cells[1:] for cells in rows if cells and cells[0]}

    assess = fields("assess")
    assert {"handler", "category", "severity", "respondent.kind", "respondent.id", "interim_measure"} <= set(assess)
    assert assess["severity"] == ["choice", "yes", "one of urgent, high, normal"]
    assert assess["respondent.kind"][:2] == ["choice", "with respondent"] and assess["note"][1] == "no"
    remedies = fields("C0123456789ABCDE", "propose_solution")["remedies"]  # also after the complaint id
    assert remedies[:2] == ["list", "yes"] and "1 to 20 items" in remedies[2]


async def test_the_readmes_escalate_signal_lands_and_a_misspelt_one_is_silently_lost(desk: Desk, cli_env) -> None:
    """Temporal accepts any signal; the README must give managers the one input the workflow reads."""
    cid = await filed(desk, "CLI-SIGNAL")
    lines = [line for line in README.read_text(encoding="utf-8").splitlines()
             if line.startswith("temporal workflow signal")]
    assert lines, "the README gives managers no `temporal workflow signal` to escalate with"
    right = [*shlex.split(lines[0].replace("$ID", cid)), "--address", cli_env["TEMPORAL_ADDRESS"]]
    misspelt = [[arg.replace("escalate", "Escalate") for arg in right], [arg.replace('"by"', '"who"') for arg in right]]
    for args in [*misspelt, right]:
        sent = await asyncio.to_thread(subprocess.run, [binary("temporal"), *args[1:]], capture_output=True,
                                       text=True, timeout=60)
        assert sent.returncode == 0, sent.stderr  # accepted by Temporal, whatever the workflow makes of it
    status = await eventually(lambda: desk.status(cid), lambda s: s.escalated)
    assert [(e.source.value, e.by) for e in status.escalations] == [("manager", "m.chen")]


async def test_serve_runs_the_api_on_the_configured_port(cli_env: dict[str, str], dev_worker) -> None:
    port = free_port()
    server = subprocess.Popen([COMPLAINTS, "serve"], env={**cli_env, "COMPLAINTS_API_PORT": str(port)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        async def health() -> int:
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code
            except httpx.TransportError:
                return 0

        assert await eventually(health, lambda code: code == 200) == 200
    finally:
        server.terminate()
        _, errors = await asyncio.to_thread(server.communicate, timeout=30)
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught
    assert server.returncode in (0, -signal.SIGTERM) and "Traceback" not in errors


def test_key_value_pairs_are_typed_by_the_update_model() -> None:
    payload = parse_payload("record_revisit", ["handler=h", "reached=true", "satisfaction=4", "comment=5 stars"], None)
    assert payload == {"handler": "h", "reached": True, "satisfaction": 4, "comment": "5 stars"}
    listed = parse_payload("summarize", ["improvements=a", "improvements=b", "root_cause=123"], '{"handler": "h"}')
    assert listed == {"handler": "h", "improvements": ["a", "b"], "root_cause": "123"}
    assert parse_payload("propose_solution", ['remedies=["x", "y"]'], None) == {"remedies": ["x", "y"]}


def test_status_shows_an_end_of_day_deadline_as_24_00_of_its_day(capsys: pytest.CaptureFixture[str]) -> None:
    end_of_dec_9 = datetime(2026, 12, 9, 16, tzinfo=timezone.utc)  # 12-10 00:00 in Shanghai
    show_status(ComplaintStatus(complaint_id="C1", stage=Stage.solution, channel=Channel.phone,
                                received_at=datetime(2026, 11, 24, 1, 30, tzinfo=timezone.utc),
                                deadlines={"decision": end_of_dec_9}, next_deadline="decision"))
    shown = capsys.readouterr().out
    assert "received 2026-11-24T09:30+08:00" in shown
    assert "2026-12-09T24:00+08:00" in shown and "2026-12-10" not in shown
    nested = parse_payload("assess", ["respondent.kind=agency", "respondent.id=007"], '{"respondent": {"name": "A"}}')
    assert nested == {"respondent": {"name": "A", "kind": "agency", "id": "007"}}


async def test_a_drill_nobody_acknowledges_reports_the_miss_and_closes_its_complaint(
        desk: Desk, cli_env: dict[str, str], tmp_path: Path) -> None:
    refused = await run(cli_env, "drill", "--wait", "3 hours", "--report-dir", str(tmp_path))
    assert refused.returncode == 2 and "--wait" in refused.stderr
    done = await run(cli_env, "drill", "--wait", "2s", "--report-dir", str(tmp_path))
    assert done.returncode == 8, done.stderr  # the plan failed the drill
    assert "MISSED" in done.stdout and "drill FAILED" in done.stdout
    assert "not out: emergency to emergency-team, pending" in done.stdout  # the team's notice is named
    assert "escalated 1/1, acknowledged 0/1" in done.stderr
    [data] = tmp_path.glob("drill-*.json")
    assert data.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    [row] = json.loads(data.read_text())["complaints"]
    assert row["acknowledgement"] == "missed" and row["escalation"] == "urgent_assessment"
    cid = row["complaint_id"]
    assert (await desk.status(cid)).outcome == Outcome.withdrawn
    drills = f"ComplaintDrill = 'yes' AND TaskQueue = '{desk.task_queue}'"
    wanted = [f"complaint-{cid}"]
    assert await eventually(lambda: listed(desk, drills), lambda ids: ids == wanted) == wanted


async def listed(desk: Desk, query: str) -> list[str]:
    return [wf.id async for wf in desk.client.list_workflows(query)]
