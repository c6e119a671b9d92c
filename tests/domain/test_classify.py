"""The preliminary classification on the words that fooled it: near misses, true urgent cases,
product before conduct, the proposed product and a firm's own rules file."""

from __future__ import annotations

import pytest

from complaints.domain.classify import classify
from complaints.domain.classify.vocabulary import FirmRules
from complaints.domain.models import Category, Channel, Product, Severity
from complaints.infra.settings import SettingError, firm_rules
from tests.conftest import TEST_KEY


@pytest.mark.parametrize(
    "text",
    [
        "Please fix this immediately, my account shows the wrong balance",  # media in immediately
        "It takes no skill to read a statement, yet they got it wrong",  # kill in skill
        "The pressure from the sales staff was unbearable",  # the press in the pressure
        "There is an issue with my statement",  # sue in issue
        "借款时被收了砍头息，到手只有八千",  # 砍 in 砍头息, an upfront-interest fee
        "我办了东航联名卡，说好免年费却扣了年费",  # 联名 in 联名卡, a co-branded card
        "我在抖音上买东西用了分期，利息太高",  # shopping on 抖音
        "2021年在微博上借款8900元，利息太高",  # borrowing on 微博
    ],
)
def test_near_misses_are_not_urgent(text):
    result = classify(Channel.web_form, text)
    assert result.severity is not Severity.urgent, result.reasons


def test_compounds_are_read_as_what_they_are():
    assert classify(Channel.web_form, "借款时被收了砍头息").category is Category.service_fees
    assert classify(Channel.web_form, "我办了东航联名卡").product is Product.card


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("催收打电话威胁家人，说再不还就让我好看", "threat to safety"),
        ("第三方催收上门恐吓我的父母", "threat to safety"),
        ("催收员说要上门找你全家", "threat to safety"),
        ("电话里说要弄死我", "threat to safety"),
        ("这样催收下去是要把人逼死吗", "self-harm"),
        ("我已经走投无路了，每天都被催收电话轰炸", "self-harm"),
        ("实在还不上，几次想过轻生", "self-harm"),
        ("如果不处理，我会联系媒体曝光", "media exposure"),
        ("我们二十个人要集体投诉", "mass complaint"),
        ("The collector threatened to kill me if I did not pay", "threat to safety"),
        ("They said they would hurt my family if I did not pay today", "threat to safety"),
        ("I cannot take this anymore and I want to end my life", "self-harm"),
        ("I talked to a reporter at the local paper about this company", "media exposure"),
        ("If this is not fixed I am going to the press", "media exposure"),
    ],
)
def test_true_urgent_cases_are_urgent_with_their_sign(text, sign):
    result = classify(Channel.web_form, text)
    assert result.severity is Severity.urgent
    assert any(reason.startswith("urgent: ") and sign in reason for reason in result.reasons)


def test_a_denied_threat_is_no_urgent_sign():
    assert classify(Channel.web_form, "The collector never threatened to kill me").severity is not Severity.urgent


def test_product_comes_before_the_time_of_day():
    result = classify(Channel.phone, "我的信用卡凌晨被盗刷了三笔")
    assert (result.product, result.category) == (Product.card, Category.card_unauthorized_transaction)
    assert classify(Channel.phone, "催收凌晨两点打电话").category is Category.collection_off_hours


def test_fraud_named_in_a_credit_report_dispute_is_not_high_by_itself():
    result = classify(Channel.web_form, "I am a victim of identity theft, remove this fraud inquiry from my credit report")
    assert result.severity is Severity.normal


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("I was charged an annual fee on my credit card and the balance transfer APR went up", Product.card),
        ("My mortgage servicer misapplied my escrow payment and the loan modification was denied", Product.loan),
        ("Equifax keeps reporting an inaccurate late payment on my credit report after my dispute",
         Product.credit_reporting),
        ("The bank closed my checking account and held my deposit for weeks", Product.deposit_payment),
        ("借呗借款逾期了，利息太高", Product.loan),
        ("征信报告上有一条不是我的逾期记录", Product.credit_reporting),
    ],
)
def test_a_product_is_proposed_with_its_reason(text, product):
    result = classify(Channel.web_form, text)
    assert result.product is product
    assert any(reason.startswith(f"product {product.value}: ") for reason in result.reasons)


def test_a_complaint_without_product_words_is_other():
    assert classify(Channel.web_form, "服务很差").product is Product.other


def test_a_firms_rules_file_adds_words_without_code(tmp_path):
    text = "客户经理说要把我的事发到校友群"
    assert classify(Channel.web_form, text).severity is Severity.normal
    rules = FirmRules.parse('[urgent]\n"media exposure" = ["校友群"]\n[categories]\n"service.attitude" = ["客户经理"]\n')
    result = classify(Channel.web_form, text, rules)
    assert (result.severity, result.category) == (Severity.urgent, Category.service_attitude)
    file = tmp_path / "rules.toml"
    file.write_text('ignore = ["联名投诉卡"]\n', encoding="utf-8")
    assert classify(Channel.web_form, "联名投诉卡年费太高", firm_rules(str(file))).severity is Severity.normal


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("[categories]\n\"card.nonsense\" = [\"x\"]\n", "categories.card.nonsense"),
        ("high = \"律师\"\n", "high"),
        ("colour = [\"x\"]\n", "colour"),
        ("high = [\n", "not valid TOML"),
    ],
)
def test_a_bad_rules_file_is_refused_naming_the_key(tmp_path, content, named):
    file = tmp_path / "rules.toml"
    file.write_text(content, encoding="utf-8")
    with pytest.raises(SettingError, match="COMPLAINTS_RULES_FILE") as refused:
        firm_rules(str(file))
    assert named in str(refused.value)



def test_the_desk_classifies_intake_with_the_configured_rules_file(tmp_path):
    """COMPLAINTS_RULES_FILE reaches the API's and the CLI's intake, read once when the desk is made."""
    from complaints.desk import desk_for
    from complaints.infra.settings import Settings

    file = tmp_path / "rules.toml"
    file.write_text('[urgent]\n"media exposure" = ["校友群"]\n', encoding="utf-8")
    desk = desk_for(Settings(codec_keys=TEST_KEY, data_dir=tmp_path, rules_file=str(file)), client=None)
    assert classify(Channel.web_form, "要把我的事发到校友群", desk.rules).severity is Severity.urgent


def test_a_line_with_too_few_known_words_proposes_no_product_from_the_model():
    """The model knows only its five products; a line like this is not one of them."""
    assert classify(Channel.web_form, "the staff was rude and hung up").product is Product.other
