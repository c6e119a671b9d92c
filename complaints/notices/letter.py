"""The written decision (书面答复): its text from the `decision` template, checked against what
the letter must contain before it goes, and rendered to PDF by ReportLab with its built-in
CID font STSong-Light (Chinese without a font file; the reader's viewer supplies the glyphs).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from complaints.notices.render import FILTERS, Templates, Text

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

OBJECTIONS = {
    "zh-CN": {"a review request within 30 days": ("30日内", "复核"), "mediation": ("调解",),
              "arbitration": ("仲裁",), "litigation": ("诉讼",)},
    "en": {"a review request within 30 days": ("30 days", "review"), "mediation": ("mediation",),
           "arbitration": ("arbitration",), "litigation": ("court",)},
}
"""The ways to object a letter must name, and the words that name each in a locale."""


class LetterRefused(ValueError):
    """A decision letter missing mandatory content; the message names each missing part."""


@dataclass(frozen=True)
class Letter:
    text: Text
    pdf: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


def missing_parts(text: Text, values: dict[str, Any], locale: str) -> list[str]:
    """The mandatory items the letter lacks: each must be known and appear in its text."""
    body = "".join(f"{text.subject}\n{text.body}".split())
    dates = FILTERS[locale]
    needed: dict[str, tuple[str, ...]] = {
        "the firm's name": (values.get("firm_name") or "",),
        "the complaint id": (values.get("complaint_id") or "",),
        "the date of receipt": (dates["date"](values["received_at"]) if values.get("received_at") else "",),
        "the decision": (values.get("decision") or "",),
        "its reasons": (values.get("reasons") or "",),
        "what will be done": (values.get("actions") or "",),
        "by when": (dates["date"](values["done_by"]) if values.get("done_by") else "",),
        **OBJECTIONS[locale],
        "the regulator's hotline": (values.get("regulator_hotline") or "",),
    }
    return [part for part, words in needed.items()
            if not all(word and "".join(word.split()) in body for word in words)]


def pdf_of(text: Text) -> bytes:
    """The letter as PDF: the subject as its heading, one paragraph a line; the same text always
    gives the same bytes (no timestamp or random id), so its SHA-256 identifies it."""
    heading = ParagraphStyle("heading", fontName=FONT, fontSize=15, leading=22, alignment=1, wordWrap="CJK")
    line = ParagraphStyle("line", fontName=FONT, fontSize=11, leading=18, wordWrap="CJK")
    story: list[Any] = [Paragraph(escape(text.subject), heading), Spacer(1, 12)]
    story += [Paragraph(escape(row), line) if row.strip() else Spacer(1, 8) for row in text.body.splitlines()]
    out = io.BytesIO()
    SimpleDocTemplate(out, invariant=1, title=text.subject, author="", creator="complaintflow").build(story)
    return out.getvalue()


def decision_letter(templates: Templates, locale: str, values: dict[str, Any]) -> Letter:
    """The checked letter; LetterRefused naming what is missing."""
    text = templates.render("decision", locale, values)
    missing = missing_parts(text, values, locale)
    if missing:
        raise LetterRefused(f"decision letter refused: missing {', '.join(missing)}")
    return Letter(text=text, pdf=pdf_of(text))
