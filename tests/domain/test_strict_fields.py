"""Contract fields keep their type on every way in: a flag is `true`/`false`, a number is not text,
a time is ISO 8601 text. The API, `complaints act` (`--json` and key=value) and batch files all
validate with these models; Temporal's converter reads them back from JSON, where they still parse."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from complaints.cli.operate import parse_payload
from complaints.domain.models import ACTION_INPUTS, Intake, NewComplaint, field_errors
from complaints.infra.codec import PublicAwarePayloadConverter

VALID: dict[str, dict[str, Any]] = {
    "assess": {"handler": "h", "category": "service.fees", "severity": "normal"},
    "investigate": {"handler": "h", "findings": "f", "root_cause": "r", "substantiated": True},
    "propose_solution": {"handler": "h", "plan": "p", "remedies": ["refund"]},
    "record_feedback": {"handler": "h", "accepted": True},
    "record_revisit": {"handler": "h", "reached": True},
    "extend": {"handler": "h", "approver": "m", "approver_role": "manager", "reason": "r", "days": 10},
}
INTAKE = {"channel": "phone", "content": "c", "complainant": {"name": "n", "phone": "+86 138 0013 8000"}}


def refused(action: str, field: str, value: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        ACTION_INPUTS[action].model_validate({**VALID[action], field: value})
    return field_errors(caught.value)


@pytest.mark.parametrize(("action", "field", "value"), [
    ("assess", "interim_measure", 0), ("assess", "interim_measure", 1), ("assess", "interim_measure", "true"),
    ("investigate", "substantiated", "yes"), ("record_feedback", "accepted", 0),
    ("record_revisit", "reached", "false"), ("record_revisit", "satisfaction", "4"),
    ("record_revisit", "satisfaction", 4.0), ("record_revisit", "satisfaction", True),
    ("extend", "days", "10"), ("extend", "days", 10.0), ("propose_solution", "amount", "12.50"),
    ("propose_solution", "amount", True),
])
def test_a_flag_or_number_of_another_type_is_refused_naming_the_field(action: str, field: str, value: Any) -> None:
    assert [name for name, _ in refused(action, field, value)] == [field]


def test_flags_and_numbers_of_their_own_type_pass() -> None:
    def valid(action: str, **fields: Any) -> Any:
        return ACTION_INPUTS[action].model_validate({**VALID[action], **fields})

    assert valid("assess", interim_measure=False).interim_measure is False
    assert valid("record_revisit", satisfaction=4).satisfaction == 4
    assert valid("propose_solution", amount=12).amount == 12.0


def test_the_cli_reads_true_and_numbers_as_json_and_refuses_the_rest() -> None:
    fine = parse_payload("record_feedback", ["handler=h", "accepted=true"], None)
    assert ACTION_INPUTS["record_feedback"].model_validate(fine).accepted is True
    for fields, as_json in ((["handler=h", "accepted=yes"], None), ([], '{"handler": "h", "accepted": 0}')):
        with pytest.raises(ValidationError) as caught:
            ACTION_INPUTS["record_feedback"].model_validate(parse_payload("record_feedback", fields, as_json))
        assert [name for name, _ in field_errors(caught.value)] == ["accepted"]


def test_a_time_is_iso_text_never_a_number() -> None:
    for number in (1_764_000_000, 1.5e9, True):
        with pytest.raises(ValidationError) as caught:
            Intake.model_validate({**INTAKE, "received_at": number})
        assert field_errors(caught.value)[0][0] == "received_at"
    moment = datetime(2026, 11, 24, 1, 30, tzinfo=timezone.utc)
    assert Intake.model_validate({**INTAKE, "received_at": "2026-11-24T09:30:00+08:00"}).received_at == moment
    assert Intake.model_validate({**INTAKE, "received_at": moment}).received_at == moment


def test_temporal_reads_the_strict_models_back_from_json() -> None:
    converter = PublicAwarePayloadConverter()
    assess = ACTION_INPUTS["assess"].model_validate({**VALID["assess"], "interim_measure": True})
    complaint = NewComplaint(complaint_id="C1", received_at=datetime(2026, 11, 24, tzinfo=timezone.utc),
                             intake=Intake.model_validate({**INTAKE, "received_at": "2026-11-24T09:30:00Z"}),
                             classification={"category": "service.fees", "severity": "normal"})
    payloads = converter.to_payloads([assess, complaint])
    assert converter.from_payloads(payloads, [type(assess), NewComplaint]) == [assess, complaint]
