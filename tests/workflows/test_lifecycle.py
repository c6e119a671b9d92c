"""The complaint's whole way, deadlines, escalations and refusals, on the time-skipping server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.workflowservice.v1 import QueryWorkflowRequest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from sqlalchemy import select

from complaints.domain.models import Intake
from complaints.infra.schema import contact_suspensions, deadlines
from complaints.intake import file_complaint
from workflows.visibility import BREACHED, ESCALATED, STAGE

from complaints.infra.settings import Settings
from tests.conftest import postman
from workflows.complaint import ComplaintWorkflow
from workflows.emergency import EmergencyTeamWorkflow

from .conftest import BODY, HANDLER, STAGE_AFTER, STEPS, Desk, attribute


async def test_happy_path_from_receipt_to_closed_with_its_audit_trail(desk, archive):
    handle = await desk.file(external_ref="HAPPY-1")
    status = await handle.query("status")
    cid = status["complaint_id"]
    assert status["stage"] == "assessment"
    assert status["category"] == "collection.off_hours" and status["severity"] == "normal"
    assert set(status["deadlines"]) == {"assessment", "investigation", "plan", "execution", "summary", "decision"}
    assert status["accepts"][0] == "assess"

    for (name, payload), stage in zip(STEPS, STAGE_AFTER, strict=True):
        status = await desk.act(handle, name, payload)
        assert status["stage"] == stage, name

    final = await handle.result()
    assert final["stage"] == "closed" and final["outcome"] == "resolved"
    assert final["satisfaction"] == 4 and final["breaches"] == [] and not final["escalated"]
    assert set(final["met"]) == {"assessment", "investigation", "plan", "execution", "decision", "summary"}
    assert [h["stage"] for h in final["history"]] == [
        "receipt", "assessment", "investigation", "solution", "feedback", "revisit", "summary", "closed"]

    trail = archive.audit_trail(cid)
    assert [row["seq"] for row in trail] == list(range(1, len(trail) + 1))
    assert [row["action"] for row in trail if row["kind"] == "action"] == [name for name, _ in STEPS]
    assert trail[0]["kind"] == "received" and trail[-1]["stage"] == "closed"
    assert all(row["actor"] == HANDLER for row in trail if row["kind"] == "action")
    row = archive.complaint(cid)
    assert row["stage"] == "closed" and row["outcome"] == "resolved" and row["root_cause"] == "dialler quiet hours"
    assert row["evidence"] == ["call-recording-0412.mp3", "dialler.csv"]
    assert [n["kind"] for n in archive.notices(cid)][0] == "acknowledgement"
    with archive.engine.connect() as db:  # the interim measure was in force and is lifted at closing
        suspension = db.execute(select(contact_suspensions)).mappings().one()
    assert suspension["complaint_id"] == cid and suspension["lifted_at"] is not None


MEETS = {"assessment": 0, "investigation": 1, "plan": 2, "execution": 3, "decision": 4, "summary": 6}
"""For each deadline, the index in STEPS of the action that meets it."""


@pytest.mark.parametrize("deadline", list(MEETS))
async def test_a_breached_deadline_is_recorded_escalated_and_the_complaint_still_completes(desk, archive, deadline):
    handle = await desk.file()
    status = await desk.steps(handle, MEETS[deadline]) or await handle.query("status")
    cid = status["complaint_id"]
    due = status["deadlines"][deadline]
    now = await desk.env.get_current_time()
    await desk.sleep(datetime.fromisoformat(due) - now + timedelta(minutes=1))

    status = await desk.until(handle, lambda s: deadline in s["breaches"])
    assert status["escalated"]
    assert any(e["source"] == "sla_breach" and deadline in e["reason"] for e in status["escalations"])
    assert await attribute(handle, BREACHED) is True
    assert await attribute(handle, ESCALATED) is True
    await desk.until_case(cid)
    notices = archive.notices(cid)
    assert any(n["kind"] == "warning" and n["message"].startswith(deadline) for n in notices)

    await desk.steps(handle, len(STEPS), start=MEETS[deadline])
    final = await handle.result()
    assert final["stage"] == "closed" and deadline in final["breaches"]
    with archive.engine.connect() as db:
        row = db.execute(select(deadlines).where(deadlines.c.complaint_id == cid, deadlines.c.name == deadline)
                         ).mappings().one()
    assert row["breached_at"] is not None and row["met_at"] is not None
    await desk.until_case(cid, present=False)  # the team's case closes with the complaint


async def test_an_urgent_complaint_reaches_the_emergency_team_at_once(desk):
    handle = await desk.file(content="催收员说要上门弄死我，我真的活不下去了")
    status = await handle.query("status")
    assert status["severity"] == "urgent" and status["escalated"]
    assert status["escalations"][0]["source"] == "urgent_assessment"
    await desk.until_case(status["complaint_id"])
    cases = await desk.open_cases()
    assert cases[0]["severity"] == "urgent"


async def test_a_managers_escalation_signal_and_the_teams_acknowledgement(desk, client, team_id):
    handle = await desk.file()
    cid = (await handle.query("status"))["complaint_id"]
    await handle.signal("escalate", {"reason": "complainant called the CEO's office", "by": "manager-li"})
    status = await desk.until(handle, lambda s: s["escalated"])
    assert status["escalations"][0] == {**status["escalations"][0], "source": "manager", "by": "manager-li"}
    await desk.until_case(cid)
    case = await client.get_workflow_handle(team_id).execute_update(
        "acknowledge", {"complaint_id": cid, "lead": "lead-zhao"})
    assert case["lead"] == "lead-zhao"
    status = await desk.until(handle, lambda s: s["lead"] == "lead-zhao")
    assert status["stage"] == "assessment"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await client.get_workflow_handle(team_id).execute_update(
            "acknowledge", {"complaint_id": "NOPE", "lead": "lead-zhao"})
    assert "not an open emergency case" in str(refused.value.cause)


async def test_a_malformed_escalation_signal_is_ignored_not_fatal(desk):
    handle = await desk.file()
    await handle.signal("escalate", {"why": "no reason field"})
    status = await desk.act(handle, *STEPS[0])
    assert status["stage"] == "investigation" and not status["escalated"]


async def test_rejection_goes_back_to_solution_and_the_second_escalates(desk):
    handle = await desk.file()
    await desk.steps(handle, 4)  # to feedback
    reject = {"handler": HANDLER, "accepted": False, "comment": "not enough"}
    status = await desk.act(handle, "record_feedback", reject)
    assert status["stage"] == "solution" and status["reopen_count"] == 1 and not status["escalated"]
    assert status["accepts"][0] == "propose_solution"
    await desk.steps(handle, 4, start=2)
    status = await desk.act(handle, "record_feedback", reject)
    assert status["reopen_count"] == 2
    assert [e["source"] for e in status["escalations"]] == ["customer_rejection"]
    await desk.steps(handle, len(STEPS), start=2)
    final = await handle.result()
    assert final["outcome"] == "resolved" and final["reopen_count"] == 2


async def test_withdrawal_from_a_middle_stage_closes_and_lifts_the_interim_measure(desk, archive):
    handle = await desk.file()
    await desk.steps(handle, 2)
    status = await desk.act(handle, "withdraw", {"handler": HANDLER, "reason": "settled privately"})
    assert status["stage"] == "closed" and status["outcome"] == "withdrawn"
    final = await handle.result()
    assert final["breaches"] == []
    with archive.engine.connect() as db:
        assert db.execute(select(contact_suspensions.c.lifted_at)).scalar_one() is not None
    assert archive.complaint(final["complaint_id"])["outcome"] == "withdrawn"


@pytest.mark.parametrize(
    ("update", "payload", "expected"),
    [
        ("summarize", {"handler": HANDLER, "root_cause": "x", "improvements": ["y"]}, "stage assessment"),
        ("record_execution", {"handler": HANDLER, "result": "done"}, "stage assessment"),
        ("assess", {"handler": HANDLER, "category": "collection.nonsense", "severity": "normal"}, "category"),
        ("assess", {"category": "collection.abusive", "severity": "normal"}, "handler"),
        ("assess", {"handler": HANDLER, "category": "collection.abusive", "severity": "normal", "x": 1}, "x"),
        ("assess", {"handler": HANDLER, "category": "collection.abusive", "severity": "normal", "product": "mortgage"},
         "product"),
        ("resume", {"handler": HANDLER}, "not paused"),
    ],
)
async def test_wrong_stage_and_malformed_updates_are_refused_naming_the_stage(desk, update, payload, expected):
    handle = await desk.file()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await desk.act(handle, update, payload)
    message = str(refused.value.cause)
    assert expected in message and "assessment" in message
    status = await handle.query("status")
    assert status["stage"] == "assessment" and len(status["history"]) == 2


async def test_the_stage_search_attribute_follows_the_stage(desk):
    handle = await desk.file()
    assert await attribute(handle, STAGE) == "assessment"
    await desk.steps(handle, 1)
    assert await attribute(handle, STAGE) == "investigation"


@pytest.mark.parametrize(
    ("received", "execution", "summary", "provisional"),
    [
        ("2026-09-30T10:00:00+08:00", "2026-10-15T16:00:00+00:00", "2026-10-27T16:00:00+00:00", False),  # Golden Week
        ("2026-09-20T10:00:00+08:00", "2026-09-30T16:00:00+00:00", "2026-10-16T16:00:00+00:00", False),  # make-up Sunday
        ("2026-12-28T10:00:00+08:00", "2027-01-06T16:00:00+00:00", "2027-01-18T16:00:00+00:00", True),   # into 2027
    ],
)
async def test_the_workflow_takes_its_working_day_deadlines_from_the_calendar(desk, received, execution, summary,
                                                                             provisional):
    if datetime.fromisoformat(received) > await desk.env.get_current_time():
        await desk.sleep(datetime.fromisoformat(received) - await desk.env.get_current_time())
    handle = await desk.file(received_at=received)
    status = await handle.query("status")
    assert datetime.fromisoformat(status["deadlines"]["execution"]) == datetime.fromisoformat(execution)
    assert datetime.fromisoformat(status["deadlines"]["summary"]) == datetime.fromisoformat(summary)
    assert status["calendar_provisional"] is provisional


async def test_an_action_sent_while_the_deadlines_are_fixed_waits_for_the_assessment(desk, client, task_queue,
                                                                                     archive):
    intake = Intake.model_validate({**BODY, "external_ref": "EAGER-1"})
    filed = await file_complaint(client, task_queue, intake, archive, now=await desk.env.get_current_time())
    handle = client.get_workflow_handle(filed.workflow_id)
    status = await handle.execute_update("assess", STEPS[0][1])  # sent at once: the complaint is in receipt
    assert status["stage"] == "investigation"
    assert [h["stage"] for h in status["history"]] == ["receipt", "assessment", "investigation"]
    with pytest.raises(WorkflowUpdateFailedError) as refused:  # the rules still apply after the wait
        await handle.execute_update("summarize", STEPS[-1][1])
    assert "stage investigation" in str(refused.value.cause)


async def test_the_proposed_product_is_in_the_status_and_the_handler_corrects_it_at_assess(desk):
    handle = await desk.file(external_ref="PRODUCT-1", content="我的信用卡凌晨被盗刷了三笔，不是我本人消费")
    status = await handle.query("status")
    assert (status["product"], status["category"]) == ("card", "card.unauthorized_transaction")
    status = await desk.act(handle, "assess", {"handler": HANDLER, "category": "card.fraud", "severity": "high",
                                               "product": "deposit_payment"})
    assert (status["product"], status["category"]) == ("deposit_payment", "card.fraud")


async def test_each_updates_answer_reads_in_the_history_as_plainly_as_the_querys(desk, client):
    """The contract's clients run updates with the plain `temporal` CLI, which reads no sealed answer."""
    handle = await desk.file()
    answered = await desk.steps(handle, upto=2)
    events = (await handle.fetch_history()).events
    answers = [e.workflow_execution_update_completed_event_attributes.outcome.success.payloads[0]
               for e in events if e.HasField("workflow_execution_update_completed_event_attributes")]
    assert len(answers) == 2 and all(a.metadata["encoding"] == b"json/plain" for a in answers)
    assert [json.loads(a.data)["stage"] for a in answers] == STAGE_AFTER[:2]
    queried = await client.workflow_service.query_workflow(QueryWorkflowRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=handle.id),
        query=WorkflowQuery(query_type="status")))
    readable = json.loads(queried.query_result.payloads[0].data)
    assert readable["stage"] == answered["stage"] == STAGE_AFTER[1]


async def test_a_worker_without_the_sandbox_runs_the_same_commands_the_sandbox_replays(
        env, client, task_queue, policy, calendar, archive, team_id):
    """COMPLAINTS_WORKFLOW_SANDBOX=off: the worker runs the workflow code as it is, and the
    history it writes replays in the sandbox, as the suite's workers and replays run it."""
    from worker import new_worker, runner

    options = runner(Settings.from_env({"COMPLAINTS_WORKFLOW_SANDBOX": "off"}))
    assert isinstance(options["workflow_runner"], UnsandboxedWorkflowRunner)
    assert "workflow_runner" not in runner(Settings())
    async with new_worker(client, task_queue, policy, calendar, archive, team_id, postman(archive), **options):
        desk = Desk(env, client, task_queue, archive, team_id)
        handle = await desk.file()
        assert (await desk.steps(handle, upto=len(STEPS)))["stage"] == "closed"
        history = await handle.fetch_history()
    replayer = Replayer(workflows=[ComplaintWorkflow, EmergencyTeamWorkflow], data_converter=client.data_converter)
    assert (await replayer.replay_workflow(history, raise_on_replay_failure=False)).replay_failure is None
