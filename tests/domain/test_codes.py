"""The JR/T 0169-2018 code table: the shipped file, its checks, a firm's own edition."""

from __future__ import annotations

from pathlib import Path

import pytest

from complaints.domain.codes import SHIPPED, CodeError, CodeTable
from complaints.domain.models import Category, Channel, Product, Respondent, RespondentKind


def test_the_shipped_table_names_the_standards_levels() -> None:
    table = CodeTable.load()
    assert table.edition == "JR/T 0169-2018"
    assert [c.name for c in table.children("A", "0103")] == ["网银", "电话", "移动客户端", "网络公众平台", "短信", "其他"]
    assert [c.name for c in table.children("B", None)] == ["人民币储蓄", "贷款", "银行卡", "支付结算", "人民币管理",
                                                          "个人金融信息", "其他"]
    assert len(table.children("C", None)) == 11 and table.codes["C"]["99"].name == "其他"
    assert table.lineage("A", "01032") == ["01032", "0103", "01"]


@pytest.mark.parametrize("category", list(Category))
def test_every_category_proposes_a_leaf_of_b_and_of_c(category: Category) -> None:
    table = CodeTable.load()
    proposed = table.propose(Channel.phone, None, category)
    assert table.is_leaf("B", proposed["code_b"]) and table.is_leaf("C", proposed["code_c"])


@pytest.mark.parametrize("product", list(Product))
def test_a_category_naming_no_business_takes_b_from_the_product(product: Product) -> None:
    table = CodeTable.load()
    rude = table.propose(Channel.phone, None, Category.service_attitude, product)
    assert table.is_leaf("B", rude["code_b"]) and rude["code_c"] == "01"
    assert rude["code_b"] == {Product.card: "0302", Product.loan: "0299", Product.deposit_payment: "0199",
                              Product.collection: "0202", Product.credit_reporting: "06"}.get(product, "99")
    card_fraud = table.propose(Channel.phone, None, Category.card_fraud, product)
    assert card_fraud["code_b"] == "0302"  # a category that names its business keeps it


def test_every_channel_and_respondent_proposes_a_leaf_of_a() -> None:
    table = CodeTable.load()
    for channel in Channel:
        assert table.is_leaf("A", table.propose(channel, None, None)["code_a"]), channel
        for kind in RespondentKind:
            assert table.is_leaf("A", table.propose(channel, Respondent(kind=kind, id="x"), None)["code_a"])
    assert table.propose(Channel.phone, Respondent(kind="agency", id="A-7"), None)["code_a"] == "0104"
    assert table.propose(Channel.walk_in, None, None)["code_a"] == "0101"


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "codes.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("old, new, reason", [
    ('code = "0102"', 'code = "0101"', "A.0101: listed twice"),
    ('code = "0202"\nparent = "02"', 'code = "0202"\nparent = "2"', "B.0202.parent: must be a shorter code"),
    ('code = "0199"\nparent = "01"\nname = "其他"\ngloss = "other savings business"',
     'code = "0198"\nparent = "01"\nname = "其他"\ngloss = "other savings business"', "B.01: no \"other\" leaf"),
    ('"card.fraud" = ["0302", "09"]', '"card.fraud" = ["03", "09"]',
     "proposals.category.card.fraud: '03' is not a leaf"),
    ('"service.other" = ["99", "99"]\n', '', "proposals.category.service.other: missing"),
    ('walk_in = "0101"', 'walk_in = "0101"\npigeon = "99"', "proposals.channel.pigeon: unknown"),
    ('name = "网银"', 'nom = "网银"', "unknown key (expected code, parent, name, gloss)"),
])
def test_a_broken_table_is_refused_naming_the_entry(tmp_path: Path, old: str, new: str, reason: str) -> None:
    path = edited(tmp_path, old, new)
    with pytest.raises(CodeError, match=r"^" + str(path).replace("\\", "\\\\") + ": ") as refused:
        CodeTable.load(path)
    assert reason in str(refused.value)


def test_a_firm_extends_the_shipped_table_with_its_supervisors_levels(tmp_path: Path) -> None:
    path = tmp_path / "firm.toml"
    path.write_text('''extends = "JR/T 0169-2018"
[[B]]
code = "030201"
parent = "0302"
name = "分期业务"
gloss = "card instalments"
[[B]]
code = "030299"
parent = "0302"
name = "其他"
gloss = "other credit card business"
[proposals.category]
"card.fraud" = ["030299", "09"]
"card.unauthorized_transaction" = ["030299", "09"]
"card.amount_error" = ["030299", "02"]
"card.transaction_failure" = ["030299", "02"]
"card.account_error" = ["030299", "02"]
"card.application_delay" = ["030201", "03"]
"card.limit_adjustment" = ["030299", "03"]
[proposals.product]
card = "030299"
''', encoding="utf-8")
    table = CodeTable.load(path)
    assert table.is_leaf("B", "030201") and not table.is_leaf("B", "0302")
    assert table.propose(Channel.phone, None, Category.card_application_delay)["code_b"] == "030201"
    assert table.refusal("code_b", "0302") is not None and table.refusal("code_b", "030201") is None

    # a shipped leaf made a heading must take every proposal that named it along
    path.write_text(path.read_text(encoding="utf-8").split("[proposals.category]")[0], encoding="utf-8")
    with pytest.raises(CodeError, match="proposals.category.card.[a-z_]+: '0302' is not a leaf code of axis B"):
        CodeTable.load(path)


def test_a_missing_or_malformed_file_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(CodeError, match="COMPLAINTS_CODES_FILE: cannot read"):
        CodeTable.load(tmp_path / "absent.toml")
    (tmp_path / "bad.toml").write_text("[[A]\n", encoding="utf-8")
    with pytest.raises(CodeError, match="COMPLAINTS_CODES_FILE: .* is not valid TOML"):
        CodeTable.load(tmp_path / "bad.toml")
