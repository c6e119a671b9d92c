"""The JR/T 0169-2018 codes on a complaint's way: proposed, corrected, refused, published, archived."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from workflows.visibility import CODES

from .conftest import HANDLER, STEPS, attribute


async def test_codes_are_proposed_then_kept_once_a_handler_sets_them(desk, archive):
    handle = await desk.file(respondent={"kind": "agency", "id": "A-7"})
    status = await handle.query("status")
    assert (status["code_a"], status["code_b"], status["code_c"]) == ("0104", None, None)  # agency: third party

    # B and C come with the assessment, from the category; A from the channel once the respondent is gone
    status = await desk.act(handle, "assess", {"handler": HANDLER, "category": "card.fraud", "severity": "high"})
    assert (status["code_a"], status["code_b"], status["code_c"]) == ("0104", "0302", "09")
    assert sorted(await attribute(handle, CODES)) == ["A:0104", "B:0302", "C:09"]

    status = await desk.act(handle, "investigate", {**STEPS[1][1], "code_b": "0301"})  # a debit card after all
    assert status["code_b"] == "0301" and status["code_c"] == "09"
    for name, payload in STEPS[2:6]:
        await desk.act(handle, name, payload)
    final = await desk.act(handle, "summarize", {**STEPS[6][1], "code_c": "02"})  # confirmed with the root cause
    assert (final["code_a"], final["code_b"], final["code_c"]) == ("0104", "0301", "02")
    assert sorted(await attribute(handle, CODES)) == ["A:0104", "B:0301", "C:02"]
    row = archive.complaint(final["complaint_id"])
    assert (row["code_a"], row["code_b"], row["code_c"]) == ("0104", "0301", "02")


async def test_a_proposed_code_follows_the_respondent_set_at_assessment_but_a_chosen_one_stays(desk):
    handle = await desk.file(channel="walk_in")
    assert (await handle.query("status"))["code_a"] == "0101"  # a branch visit: its premises
    status = await desk.act(handle, "assess", {"handler": HANDLER, "category": "service.fees", "severity": "normal",
                                               "respondent": {"kind": "collector", "id": "K-3"}, "code_c": "05"})
    # a fee dispute names no business type: B comes from the product, a collector's call (催收)
    assert status["product"] == "collection"
    assert (status["code_a"], status["code_b"], status["code_c"]) == ("01032", "0202", "05")
    status = await desk.act(handle, "investigate", STEPS[1][1])
    assert (status["code_a"], status["code_b"], status["code_c"]) == ("01032", "0202", "05")


@pytest.mark.parametrize("field, code, reason", [
    ("code_b", "03", "code_b: a heading, not a leaf code"),
    ("code_c", "42", "code_c: not in the code table"),
    ("code_a", "01-03", "code_a: String should match pattern"),
])
async def test_a_code_not_in_the_table_is_refused_naming_the_field(desk, field, code, reason):
    handle = await desk.file()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await desk.act(handle, "assess", {**STEPS[0][1], field: code})
    assert reason in refused.value.cause.message and refused.value.cause.type == "BadPayload"
    assert (await handle.query("status"))["stage"] == "assessment"
