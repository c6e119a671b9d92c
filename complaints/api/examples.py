"""Example bodies for the OpenAPI docs at /docs: what a channel or a handler actually sends."""

from typing import Any

INTAKE: dict[str, dict[str, Any]] = {
    "phone": {
        "summary": "A collection complaint taken by phone",
        "value": {
            "channel": "phone",
            "external_ref": "CALL-2026-000123",
            "subject": "Collector called my employer",
            "content": "A collector phoned my employer twice this week about my overdue card balance.",
            "requested_remedy": "Stop contacting my employer",
            "complainant": {"name": "Li Hua", "phone": "+86 138 0013 8000"},
            "respondent": {"kind": "agency", "id": "AG-017", "name": "Eastern Recovery Ltd"},
        },
    },
    "email": {
        "summary": "A card complaint by e-mail, with evidence",
        "value": {
            "channel": "email",
            "external_ref": "<20261124.1234@mail.example.com>",
            "received_at": "2026-11-24T09:30:00+08:00",
            "subject": "Charge I did not make",
            "content": "There is a charge of 2,300 CNY on my card that I did not make.",
            "evidence": ["statement-2026-11.pdf"],
            "complainant": {"name": "Wang Fang", "email": "wang.fang@example.com", "customer_id": "CUST-88210"},
        },
    },
}

ACTIONS: dict[str, dict[str, Any]] = {
    "assess": {"handler": "h.zhang", "category": "collection.third_party", "severity": "high",
               "respondent": {"kind": "agency", "id": "AG-017"}, "interim_measure": True,
               "note": "suspend collection contact while we look into it"},
    "investigate": {"handler": "h.zhang", "findings": "Call records show two calls to the employer.",
                    "root_cause": "agency script ignores third-party rule", "substantiated": True,
                    "evidence": ["call-log-AG-017.csv"]},
    "propose_solution": {"handler": "h.zhang", "plan": "Apologise in writing; retrain the agency's team.",
                         "remedies": ["written apology", "agency retraining"], "amount": 0},
    "record_execution": {"handler": "h.zhang", "result": "Apology sent; retraining held on 2026-11-30."},
    "record_feedback": {"handler": "h.zhang", "accepted": True, "comment": "complainant satisfied"},
    "record_revisit": {"handler": "h.zhang", "reached": True, "satisfaction": 4},
    "summarize": {"handler": "h.zhang", "root_cause": "agency script",
                  "improvements": ["third-party rule in all agency scripts"],
                  "code_c": "03"},  # the cause confirmed: business rules (proposed: information security)
    "withdraw": {"handler": "h.zhang", "reason": "complainant withdrew by phone"},
    "extend": {"handler": "h.zhang", "approver": "m.chen", "approver_role": "manager",
               "reason": "awaiting the agency's call recordings", "days": 10},
    "pause": {"handler": "h.zhang", "reason": "external appraisal of the signature"},
    "resume": {"handler": "h.zhang"},
    "merge": {"handler": "h.zhang", "into": "C0123456789ABCD"},
    "assign": {"handler": "h.zhang", "by": "m.chen"},
    "claim": {"handler": "h.zhang"},
}

ESCALATE = {"reason": "complainant threatens to go to the press", "by": "m.chen"}
ACKNOWLEDGE = {"lead": "e.wu"}
