"""Preliminary classification at receipt: keyword rules over channel and content.

A proposal for the handler to confirm or correct at assessment, not a verdict; its value
is that an urgent complaint (a threat to someone's safety, self-harm, the press, a mass
complaint) reaches the emergency team within seconds instead of at the next shift.
"""

from __future__ import annotations

from .models import Category, Channel, Classification, Severity

CATEGORY_RULES: list[tuple[Category, tuple[str, ...]]] = [
    (Category.collection_abusive, ("威胁", "辱骂", "恐吓", "骂", "暴力", "打人", "上门闹", "threat", "insult",
                                   "abusive", "abuse", "violence", "violent", "swore", "intimidat")),
    (Category.collection_off_hours, ("半夜", "凌晨", "深夜", "晚上", "夜里", "节假日", "春节", "国庆", "周末",
                                     "十一点", "十二点", "night", "midnight", "late call", "holiday", "weekend")),
    (Category.collection_third_party, ("通讯录", "家人", "亲戚", "亲属", "朋友", "同事", "单位", "领导", "父母",
                                       "relative", "family", "friend", "employer", "colleague", "contacts")),
    (Category.collection_repeated, ("已还清", "已结清", "结清后", "还款承诺", "已经还", "仍然催", "还在催",
                                    "after settlement", "settled", "paid off", "repayment promise", "still calling")),
    (Category.collection_privacy, ("泄露", "隐私", "公开欠款", "群发", "leak", "privacy", "disclos")),
    (Category.card_fraud, ("诈骗", "欺诈", "骗", "fraud", "scam", "phishing")),
    (Category.card_unauthorized_transaction, ("盗刷", "未授权", "不是我本人", "非本人", "unauthori", "did not make",
                                              "didn't make", "stolen card")),
    (Category.card_amount_error, ("金额不对", "多扣", "扣错", "金额错误", "重复扣款", "wrong amount", "overcharg",
                                  "charged twice", "double charge")),
    (Category.card_transaction_failure, ("交易失败", "支付失败", "付款失败", "转账失败", "payment failed",
                                         "transaction failed", "declined")),
    (Category.card_account_error, ("账户错误", "账户异常", "冻结", "账单错误", "account error", "frozen",
                                   "statement error")),
    (Category.card_application_delay, ("申请", "审批慢", "迟迟", "办卡", "application", "still waiting for card")),
    (Category.card_limit_adjustment, ("额度", "降额", "提额", "credit limit", "limit cut", "limit reduced")),
    (Category.service_fees, ("手续费", "年费", "违约金", "利息", "收费", "fee", "interest", "penalty charge")),
    (Category.service_repayment_plan, ("分期", "还款计划", "协商还款", "延期还款", "repayment plan", "instalment",
                                       "installment")),
    (Category.service_attitude, ("态度", "不耐烦", "挂电话", "rude", "attitude", "impolite", "hung up")),
]
"""Category keywords in priority order: the most matches win, ties go to the earlier rule."""

URGENT_SIGNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("threat to safety", ("人身安全", "杀了", "弄死", "砍", "上门打", "kill", "hurt me", "physical harm")),
    ("self-harm", ("自杀", "轻生", "跳楼", "不想活", "活不下去", "suicide", "self-harm", "end my life",
                   "kill myself")),
    ("media exposure", ("媒体", "曝光", "记者", "微博", "抖音", "热搜", "journalist", "the press", "media",
                        "social media", "go public")),
    ("mass complaint", ("集体投诉", "群体", "多人投诉", "联名", "mass complaint", "class action", "group complaint")),
)

HIGH_SIGNS = ("监管", "银保监", "金融监管", "人民银行", "12378", "律师", "起诉", "诉讼", "法院", "regulator",
              "lawyer", "lawsuit", "court", "sue ")


def classify(channel: Channel, text: str) -> Classification:
    """Propose a category and a severity for a complaint received on `channel`."""
    lowered = text.lower()
    best, best_hits = Category.service_other, 0
    for category, words in CATEGORY_RULES:
        hits = sum(word in lowered for word in words)
        if hits > best_hits:
            best, best_hits = category, hits
    reasons = [f"category by {best_hits} keyword(s)"] if best_hits else ["no category keyword"]

    severity = Severity.normal
    urgent = [sign for sign, words in URGENT_SIGNS if any(word in lowered for word in words)]
    if urgent:
        severity = Severity.urgent
        reasons.append("urgent: " + ", ".join(urgent))
    elif best in (Category.card_fraud, Category.card_unauthorized_transaction) or any(
        word in lowered for word in HIGH_SIGNS
    ):
        severity = Severity.high
        reasons.append("high: money at risk or legal/regulatory mention")
    if channel is Channel.regulator:
        severity = severity.at_least(Severity.high)
        reasons.append("regulator transfer: at least high")
    return Classification(category=best, severity=severity, reasons=reasons)
