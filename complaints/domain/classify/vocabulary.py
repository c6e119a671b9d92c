"""The words the rules read, each a phrase with what it stands for, and a firm's own additions.

Labels: `urgent:<sign>`, `high`, `category:<category>`, `product:<product>`, `collection`
(a debt is being collected: the conduct words then name the category). A phrase with no label
is a shield that keeps a shorter phrase inside it from being read.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..models import Category, Product

URGENT_SIGNS: dict[str, tuple[str, ...]] = {
    "threat to safety": (
        "人身安全", "人身威胁", "弄死", "杀了你", "杀人", "杀你", "打死", "砍死", "砍人", "上门打", "威胁家人",
        "威胁我家人", "威胁我的家人", "上门恐吓", "上门威胁", "找你全家", "全家死", "出人命", "泼油漆", "伤害家人",
        "kill you", "threatened to kill", "threaten to kill", "going to kill", "physically hurt", "hurt my family",
        "physical harm", "bodily harm", "physically harm", "beat me up", "death threat",
        "threatened my life", "threatened my family", "come after my family", "threat to my life",
    ),
    "self-harm": (
        "自杀", "轻生", "跳楼", "不想活", "活不下去", "逼死", "走投无路", "结束生命", "寻死", "想死", "割腕",
        "kill myself", "suicide", "suicidal", "end my life", "take my own life", "self harm", "want to die",
    ),
    "media exposure": (
        "媒体", "自媒体", "记者", "电视台", "上热搜", "发微博", "微博曝光", "发抖音", "抖音曝光", "网络曝光",
        "reporter", "journalist", "to the press", "to the media", "news station", "local news", "news outlet",
        "go public",
    ),
    "mass complaint": (
        "集体投诉", "联名投诉", "联合投诉", "群体投诉", "集体维权",
        "mass complaint", "group complaint",
    ),
}
"""Each sign is phrases, never a bare character: 砍 alone is also 砍头息, an upfront-interest fee."""

IDIOMS = ("想死的心都有",)
"""Set phrases read as one word that signs nothing: 想死的心都有 is exasperation, not intent."""

HIGH_SIGNS = (
    "监管", "银保监", "银监会", "金融监管", "人民银行", "12378", "律师", "起诉", "诉讼", "法院", "报警", "公安",
    "regulator", "lawyer", "attorney", "lawsuit", "court", "sue", "sued", "suing", "class action",
    "attorney general", "police",
)

COLLECTION_CONTEXT = (
    "催", "催收", "催债", "催款", "暴力催收", "催收员", "第三方催收", "委外", "爆通讯录", "通讯录", "紧急联系人",
    "上门催收", "恶意催收", "还在催", "仍然催", "逼债", "讨债", "上门", "轰炸", "电话轰炸", "collector", "collection agency", "debt collector", "collecting", "collect",
    "collection", "fdcpa", "debt buyer", "validation", "collections",
)
"""Words that say a debt is being collected; the conduct words then name a collection category."""

DEBT = ("逾期", "欠款", "欠钱", "还款", "借款", "贷款", "还钱", "欠债", "负债", "还不上", "老赖", "协商", "debt", "owe", "overdue", "past due", "delinquent")
"""Words of a debt owed: with a threat, a call to the family or a disclosure, a debt is being collected."""

CONTACT = ("电话", "打电话", "短信", "打给", "骚扰", "联系", "call", "calls", "called", "calling", "contacted", "text")
"""Words of reaching someone: with a relative, a friend or an employer, a call to a third party."""

CATEGORY_WORDS: dict[Category, tuple[str, ...]] = {
    Category.collection_abusive: (
        "威胁", "辱骂", "恐吓", "骂", "暴力", "打人", "上门闹", "侮辱", "骚扰", "谩骂", "人身攻击", "暴力催收",
        "恶意催收", "态度恶劣", "rude", "threaten", "threat", "harass", "abusive", "abuse", "insult", "yell", "scream", "curse",
        "profanity", "swore", "intimidate", "violence", "violent", "jail", "arrest", "come to my house",
        "show up at my house", "come to my job", "come to my work", "call me names", "called me names",
    ),
    Category.collection_off_hours: (
        "半夜", "凌晨", "深夜", "晚上", "夜里", "节假日", "春节", "国庆", "周末", "十一点", "十二点", "休息时间",
        "at night", "midnight", "late call", "holiday", "weekend", "sunday", "early in the morning",
        "late at night",
    ),
    Category.collection_third_party: (
        "通讯录", "家人", "家里人", "亲戚", "亲属", "朋友", "同事", "单位", "领导", "父母", "老公", "老婆", "村委", "紧急联系人",
        "爆通讯录", "联系人",
        "relative", "family", "friend", "employer", "colleague", "contacts", "coworker", "my job", "my work",
        "workplace", "neighbor", "my boss", "my parents", "my mother", "my wife", "my husband", "reference",
    ),
    Category.collection_repeated: (
        "已还清", "已结清", "结清后", "还款承诺", "已经还", "仍然催", "还在催", "反复", "频繁", "一直打", "天天打",
        "每天打", "多次打", "不停打", "一直打电话", "一直给我打电话", "after settlement", "settled", "paid off", "paid in full", "already paid",
        "repayment promise", "still calling", "keep calling", "kept calling", "repeatedly", "several times a day",
        "every day", "stop calling", "cease and desist", "not my debt", "validate", "validation",
        "verify the debt", "calls", "called me",
    ),
    Category.collection_privacy: (
        "泄露", "隐私", "公开欠款", "群发", "曝光我", "个人信息", "leak", "privacy", "disclose", "disclosed",
        "told my", "discussed my debt", "personal information",
    ),
    Category.card_fraud: (
        "诈骗", "欺诈", "骗", "骗局", "套路", "fraud", "scam", "phishing", "identity theft", "fraudulent",
    ),
    Category.card_unauthorized_transaction: (
        "盗刷", "未授权", "不是我本人", "非本人", "被盗", "unauthorized", "did not authorize", "didn't authorize",
        "did not make", "didn't make", "stolen card", "without my permission", "without my consent",
        "never authorized",
    ),
    Category.card_amount_error: (
        "金额不对", "多扣", "扣错", "金额错误", "重复扣款", "乱扣", "扣款", "自动扣", "wrong amount", "overcharge",
        "charged twice", "double charge", "incorrect amount", "duplicate charge", "double charged",
        "withdrew", "withdrawal", "debited", "took money",
    ),
    Category.card_transaction_failure: (
        "交易失败", "支付失败", "付款失败", "转账失败", "无法还款", "还不进去", "payment failed",
        "transaction failed", "declined", "not credited", "never posted", "not applied", "misapplied",
    ),
    Category.card_account_error: (
        "账户错误", "账户异常", "冻结", "账单错误", "逾期记录", "征信", "上征信", "销户", "注销", "account error",
        "frozen", "statement error", "incorrect information", "inaccurate", "credit report", "credit score",
        "closed my account", "account closed", "locked", "not mine", "inquiry", "negative", "late payment",
        "reporting",
    ),
    Category.card_application_delay: (
        "申请", "审批慢", "迟迟", "办卡", "激活", "不放款", "放款", "application", "still waiting for card",
        "applied for", "approval", "approved", "denied", "never received",
    ),
    Category.card_limit_adjustment: (
        "额度", "降额", "提额", "credit limit", "limit cut", "limit reduced", "line of credit",
    ),
    Category.service_fees: (
        "手续费", "年费", "违约金", "利息", "收费", "费用", "会员费", "服务费", "砍头息", "高利贷", "利率", "罚息",
        "担保费", "保险费", "退费", "fee", "interest", "penalty charge", "apr", "interest rate", "charges",
        "charged", "finance charge", "payday", "predatory", "usury", "refund",
    ),
    Category.service_repayment_plan: (
        "分期", "还款计划", "协商还款", "延期还款", "协商", "停息挂账", "个性化分期", "减免", "repayment plan",
        "instalment", "installment", "payment plan", "extended payment", "payment arrangement", "forbearance",
        "deferment", "hardship", "modification", "payoff", "pay off",
    ),
    Category.service_attitude: (
        "态度", "不耐烦", "挂电话", "不理", "推诿", "客服", "无人处理", "不处理", "rude", "attitude", "impolite",
        "hung up", "unprofessional", "customer service", "no response", "never responded",
    ),
}
"""Category words in priority order: the most matches win, ties go to the earlier category."""

PRODUCT_WORDS: dict[Product, tuple[str, ...]] = {
    Product.collection: (),  # the collection words: COLLECTION_CONTEXT
    Product.card: ("信用卡", "办卡", "联名卡", "白金卡", "副卡", "盗刷", "刷卡", "年费", "卡片", "账单", "信用卡中心"),
    Product.loan: (
        "贷款", "借款", "网贷", "消费贷", "消费金融", "借呗", "花呗", "微粒贷", "借钱", "放款", "砍头息", "房贷",
        "车贷", "按揭", "白条", "分期", "高利贷", "本金", "借条", "金融",
    ),
    Product.credit_reporting: ("征信", "信用报告", "征信记录", "征信报告", "人行征信", "上征信"),
    Product.deposit_payment: (
        "储蓄卡", "借记卡", "存款", "转账", "银行卡", "取款", "存折", "余额", "支付宝", "微信支付", "开户", "二类卡",
        "一类卡",
    ),
}
"""Chinese product words (the English product comes from the model); ties go to the earlier product."""



@dataclass(frozen=True)
class FirmRules:
    """A firm's own words, added to the built-in ones without code (`COMPLAINTS_RULES_FILE`).

    TOML: `[categories]` category = [words], `[urgent]` sign = [words], `high = [words]`,
    `[products]` product = [words], `collection = [words]`, `ignore = [compounds]` (read as one word that stands for
    nothing, so a shorter phrase inside them is not read).
    """

    categories: tuple[tuple[Category, tuple[str, ...]], ...] = ()
    urgent: tuple[tuple[str, tuple[str, ...]], ...] = ()
    high: tuple[str, ...] = ()
    products: tuple[tuple[Product, tuple[str, ...]], ...] = ()
    collection: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, source: str = "rules file") -> FirmRules:
        """The rules of a TOML text; a ValueError names the key at fault."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{source}: not valid TOML ({err})") from None
        unknown = set(data) - {"categories", "urgent", "high", "products", "collection", "ignore"}
        if unknown:
            raise ValueError(f"{source}: unknown key {sorted(unknown)[0]!r}")

        def words(key: str, value: object) -> tuple[str, ...]:
            if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
                raise ValueError(f"{source}: {key} must be a list of non-empty strings")
            return tuple(value)

        def table(key: str, names: Iterable[str]) -> dict[str, tuple[str, ...]]:
            given = data.get(key, {})
            if not isinstance(given, dict):
                raise ValueError(f"{source}: {key} must be a table")
            allowed = set(names)
            for name in given:
                if allowed and name not in allowed:
                    raise ValueError(f"{source}: {key}.{name} is not one of {', '.join(sorted(allowed))}")
            return {name: words(f"{key}.{name}", value) for name, value in given.items()}

        return cls(
            categories=tuple((Category(k), v) for k, v in table("categories", (c.value for c in Category)).items()),
            urgent=tuple(table("urgent", ()).items()),
            high=words("high", data.get("high", [])),
            products=tuple((Product(k), v) for k, v in table("products", (p.value for p in Product)).items()),
            collection=words("collection", data.get("collection", [])),
            ignore=words("ignore", data.get("ignore", [])),
        )

    def entries(self) -> list[tuple[str, list[str]]]:
        """The built-in phrases and this firm's, each with its labels."""
        found: list[tuple[str, list[str]]] = []
        for sign, phrases in _merged(URGENT_SIGNS, self.urgent):
            found += [(p, [f"urgent:{sign}"]) for p in phrases]
        found += [(p, ["high"]) for p in HIGH_SIGNS + self.high]
        found += [(p, ["collection", "product:collection"]) for p in COLLECTION_CONTEXT + self.collection]
        found += [(p, ["debt"]) for p in DEBT]
        found += [(p, ["contact"]) for p in CONTACT]
        for category, phrases in _merged(CATEGORY_WORDS, self.categories):
            found += [(p, [f"category:{category.value}"]) for p in phrases]
        for product, phrases in _merged(PRODUCT_WORDS, self.products):
            found += [(p, [f"product:{product.value}"]) for p in phrases]
        found += [(p, []) for p in IDIOMS + self.ignore]
        return found


def _merged(built_in: Mapping, added: tuple[tuple, ...]) -> list[tuple]:
    extra = dict(added)
    return [(key, tuple(built_in.get(key, ())) + extra.get(key, ())) for key in {**built_in, **extra}]
