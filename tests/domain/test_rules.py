"""Classification, stage rules and the regulator's rules, as pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from complaints.domain.classify import classify
from complaints.domain.models import ApproverRole, Category, Channel, Extension, Severity, Stage
from complaints.domain.regulator import extension_refusal, review_refusal
from complaints.domain.stages import Situation, accepted, refusal


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("催收员在电话里威胁我，还辱骂我的家人", Category.collection_abusive),
        ("催收凌晨两点打电话，节假日也不停", Category.collection_off_hours),
        ("他们打给我的通讯录联系人和单位领导", Category.collection_third_party),
        ("我已结清欠款，他们还在催", Category.collection_repeated),
        ("我的信用卡被盗刷了，不是我本人消费", Category.card_unauthorized_transaction),
        ("The collector calls me at midnight every night", Category.collection_off_hours),
        ("An unauthorized transaction I did not make appeared on my card", Category.card_unauthorized_transaction),
        ("年费收费不合理", Category.service_fees),
        ("客服态度很差，直接挂电话", Category.service_attitude),
        ("Something else entirely", Category.service_other),
        ("The debt collector calls my employer and my mother about this debt", Category.collection_third_party),
        ("The collection agency harassed me and said I would go to jail", Category.collection_abusive),
        ("I paid the debt in full but the collector keeps calling", Category.collection_repeated),
        ("催收打电话到我单位和同事那里", Category.collection_third_party),
    ],
)
def test_classification_proposes_a_category(text, category):
    assert classify(Channel.phone, text).category is category


@pytest.mark.parametrize(
    "text",
    ["他说要上门弄死我", "我活不下去了，想自杀", "我要找媒体曝光你们", "我们二十个人要集体投诉",
     "I will kill myself", "I am going to the press about this"],
)
def test_threats_self_harm_media_and_mass_complaints_are_urgent(text):
    assert classify(Channel.web_form, text).severity is Severity.urgent


def test_regulator_transfers_are_at_least_high():
    assert classify(Channel.regulator, "客服态度不好").severity is Severity.high
    assert classify(Channel.phone, "客服态度不好").severity is Severity.normal
    assert classify(Channel.regulator, "我要自杀").severity is Severity.urgent


def test_each_stage_accepts_its_action_and_the_refusal_names_the_stage():
    assert refusal("assess", Situation(Stage.assessment)) is None
    message = refusal("summarize", Situation(Stage.assessment))
    assert "stage assessment" in message and "accepts assess" in message
    assert refusal("record_execution", Situation(Stage.solution)) is not None  # no plan yet
    assert refusal("record_execution", Situation(Stage.solution, plan_proposed=True)) is None
    assert refusal("propose_solution", Situation(Stage.solution, plan_proposed=True)) is not None
    assert "withdraw" in accepted(Situation(Stage.revisit))
    assert accepted(Situation(Stage.closed)) == []
    assert "resume" in accepted(Situation(Stage.investigation, paused=True))
    assert "pause" not in accepted(Situation(Stage.investigation, paused=True))


RECEIVED = datetime(2026, 11, 2, tzinfo=timezone.utc)


def first(days: int) -> Extension:
    return Extension(approver="m", approver_role=ApproverRole.manager, reason="r", days=days, at=RECEIVED,
                     decision_due=RECEIVED + timedelta(days=15 + days))


CAPS = [RECEIVED + timedelta(days=30), RECEIVED + timedelta(days=60)]


def test_extension_caps_and_approvers():
    manager, senior = ApproverRole.manager, ApproverRole.senior_manager
    none = timedelta(0)
    assert extension_refusal([], manager, RECEIVED + timedelta(days=30), CAPS, none) is None
    message = extension_refusal([], manager, RECEIVED + timedelta(days=31), CAPS, none)
    assert "at most 30 days from receipt (2026-12-02T08:00+08:00)" in message  # Shanghai time, as messages are
    assert "senior manager" in extension_refusal([first(10)], manager, RECEIVED + timedelta(days=40), CAPS, none)
    assert extension_refusal([first(10)], senior, RECEIVED + timedelta(days=60), CAPS, none) is None
    assert "at most 60 days" in extension_refusal([first(10)], senior, RECEIVED + timedelta(days=61), CAPS, none)
    assert "at most twice" in extension_refusal([first(10), first(20)], senior, RECEIVED, CAPS, none)
    # paused time does not count against the cap
    assert extension_refusal([], manager, RECEIVED + timedelta(days=33), CAPS, timedelta(days=3)) is None


def test_extend_is_offered_only_while_an_extension_can_still_be_granted():
    assert "extend" in accepted(Situation(Stage.solution, extensions=1))
    assert "extend" not in accepted(Situation(Stage.solution, extensions=2))
    assert "at most twice" in refusal("extend", Situation(Stage.solution, extensions=2))

    passed = datetime(2026, 11, 17, 16, tzinfo=timezone.utc)  # 24:00 on 11-17, Shanghai time
    assert "extend" not in accepted(Situation(Stage.solution, decision_passed_at=passed))
    message = refusal("extend", Situation(Stage.solution, decision_passed_at=passed))
    assert "the decision deadline passed at 2026-11-17T24:00+08:00" in message
    assert "before the deadline runs out" in message and "stage solution" in message


def test_review_window_is_thirty_days_from_the_decision_to_the_reviews_receipt():
    decided = RECEIVED
    assert review_refusal("C1", "closed", decided, decided + timedelta(days=30)) is None
    assert "window" in review_refusal("C1", "closed", decided, decided + timedelta(days=31))
    assert "before the decision" in review_refusal("C1", "closed", decided, decided - timedelta(hours=1))


def test_a_review_may_be_filed_once_the_decision_is_told_even_before_the_original_closes():
    assert review_refusal("C1", "revisit", RECEIVED, RECEIVED + timedelta(days=1)) is None
    assert "no decision told yet" in review_refusal("C1", "investigation", None, RECEIVED)
