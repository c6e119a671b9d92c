"""Notice texts: Chinese first, English second, dates the Chinese way, templates a firm
replaces file by file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from complaints.domain.models import Intake, field_errors

from complaints.notices.render import TemplateError, Templates, chinese_date, chinese_deadline

ACK = {"complaint_id": "C1", "name": "张三", "received_at": "2026-12-02T01:30:00+00:00",
       "decision_due": "2026-12-17T16:00:00+00:00"}


def test_dates_are_written_the_chinese_way_in_shanghai_time() -> None:
    assert chinese_date("2026-12-01T16:30:00+00:00") == "2026年12月2日"  # 00:30 on the 2nd in Shanghai
    assert chinese_deadline("2026-10-08T16:00:00+00:00") == "2026年10月8日24时"  # the end of its day, not 9日0时
    assert chinese_deadline("2026-10-08T07:30:00+00:00") == "2026年10月8日15时30分"


def test_the_acknowledgement_is_chinese_by_default_and_english_on_request() -> None:
    templates = Templates()
    zh = templates.render("acknowledgement", "zh-CN", ACK)
    assert zh.subject == "投诉受理通知（C1）"
    assert "张三，您好" in zh.body and "2026年12月2日" in zh.body and "2026年12月17日24时" in zh.body
    en = templates.render("acknowledgement", "en", ACK)
    assert "2 December 2026" in en.body and "24:00 on 17 December 2026" in en.body


def test_a_firms_folder_overrides_one_template_and_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "zh-CN").mkdir()
    (tmp_path / "zh-CN" / "acknowledgement.txt").write_text("来函已收（{{ complaint_id }}）\n\n{{ name }}：收到。",
                                                            encoding="utf-8")
    templates = Templates(tmp_path)
    assert templates.render("acknowledgement", "zh-CN", ACK).subject == "来函已收（C1）"
    assert templates.render("acknowledgement", "en", ACK).subject == "We received your complaint (C1)"
    assert templates.render("pause", "zh-CN", ACK | {"reason": "司法鉴定"}).subject == "投诉处理中止通知（C1）"


def test_a_template_missing_a_value_or_a_file_is_named() -> None:
    with pytest.raises(TemplateError, match="zh-CN/extension.txt.*'due' is undefined"):
        Templates().render("extension", "zh-CN", {"complaint_id": "C1", "name": "张三", "reason": "x"})
    with pytest.raises(TemplateError, match="no template zh-CN/nothing.txt"):
        Templates().render("nothing", "zh-CN", {})


def test_the_complainants_locale_defaults_to_chinese_and_refuses_others_by_name() -> None:
    body = {"channel": "phone", "content": "x", "complainant": {"name": "张三", "phone": "13800000000"}}
    assert Intake.model_validate(body).complainant.locale == "zh-CN"
    with pytest.raises(ValidationError) as refused:
        Intake.model_validate(body | {"complainant": body["complainant"] | {"locale": "fr"}})
    [(field, reason)] = field_errors(refused.value)
    assert field == "complainant.locale" and "zh-CN" in reason and "fr" not in reason
