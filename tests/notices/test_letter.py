"""The written decision: every mandatory item in the PDF's own text, an incomplete letter refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from complaints.notices.letter import LetterRefused, decision_letter
from complaints.notices.render import Templates

VALUES = {"complaint_id": "C5E0D12", "name": "张三", "received_at": "2026-11-02T01:30:00+00:00",
          "decided_at": "2026-11-10T02:00:00+00:00", "done_by": "2026-11-09T08:00:00+00:00",
          "decision": "退还重复收取的年费并书面致歉", "reasons": "系统批处理重复扣费，经核实属实",
          "actions": "退还年费; 书面致歉", "firm_name": "示例消费金融有限公司", "regulator_hotline": "12378"}

MANDATORY = ["示例消费金融有限公司", "C5E0D12", "2026年11月2日", "退还重复收取的年费并书面致歉", "系统批处理重复扣费",
             "退还年费; 书面致歉", "2026年11月9日", "30日内", "复核", "调解", "仲裁", "诉讼", "12378"]


def pdf_text(pdf: bytes) -> str:
    return "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def test_the_pdf_read_back_contains_every_mandatory_item() -> None:
    letter = decision_letter(Templates(), "zh-CN", VALUES)
    text = pdf_text(letter.pdf)
    for item in MANDATORY:
        assert "".join(item.split()) in text, item
    assert letter.pdf == decision_letter(Templates(), "zh-CN", VALUES).pdf, "the same letter, the same bytes"


def test_the_english_letter_is_checked_in_english() -> None:
    text = pdf_text(decision_letter(Templates(), "en", VALUES | {"decision": "Refund the fee."}).pdf)
    for item in ("2November2026", "30days", "mediation", "arbitration", "court", "12378", "Refundthefee."):
        assert item in text


def test_a_letter_without_the_firms_name_or_a_reason_is_refused_naming_them() -> None:
    with pytest.raises(LetterRefused) as refused:
        decision_letter(Templates(), "zh-CN", VALUES | {"firm_name": None, "reasons": ""})
    assert str(refused.value) == "decision letter refused: missing the firm's name, its reasons"


def test_a_firms_template_that_drops_the_ways_to_object_is_refused(tmp_path: Path) -> None:
    (tmp_path / "zh-CN").mkdir()
    (tmp_path / "zh-CN" / "decision.txt").write_text(
        "{{ firm_name }} 答复\n\n{{ complaint_id }} {{ received_at | date }} {{ decision }} {{ reasons }} "
        "{{ actions }} {{ done_by | date }}；如有异议可申请调解。", encoding="utf-8")
    with pytest.raises(LetterRefused, match="missing a review request within 30 days, arbitration, litigation, "
                                            "the regulator's hotline$"):
        decision_letter(Templates(tmp_path), "zh-CN", VALUES)
