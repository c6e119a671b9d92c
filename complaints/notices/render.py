"""Notice texts from Jinja2 templates, Chinese first.

The packaged templates (`templates/<locale>/<kind>.txt`) can be replaced file by file from
`COMPLAINTS_TEMPLATES_DIR` (same layout), so a firm rewords a notice without code. A
template's first line is the subject, the rest after a blank line is the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, TemplateNotFound

from complaints.domain.workdays import SHANGHAI

LOCALES = ("zh-CN", "en")
STAFF_LOCALE = "zh-CN"
"""Notices to the firm's own people (handlers, managers, the emergency team)."""


class TemplateError(ValueError):
    """A template that is missing or cannot be rendered; the message names it."""


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def _moment(value: datetime | str) -> datetime:
    return (datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(SHANGHAI)


def chinese_date(value: datetime | str) -> str:
    """2026年12月2日, the day in Shanghai."""
    day = _moment(value).date()
    return f"{day.year}年{day.month}月{day.day}日"


def english_date(value: datetime | str) -> str:
    day = _moment(value).date()
    return f"{day.day} {day:%B} {day.year}"


def chinese_deadline(value: datetime | str) -> str:
    """A deadline at the end of its day: 2026年10月8日24时, never the next day's 0时."""
    local = _moment(value)
    if local.time() == time(0):
        return f"{chinese_date(local - timedelta(days=1))}24时"
    return f"{chinese_date(local)}{local.hour}时{local.minute:02d}分"


def english_deadline(value: datetime | str) -> str:
    local = _moment(value)
    if local.time() == time(0):
        return f"24:00 on {english_date(local - timedelta(days=1))}"
    return f"{local:%H:%M} on {english_date(local)}"


FILTERS = {
    "zh-CN": {"date": chinese_date, "deadline": chinese_deadline},
    "en": {"date": english_date, "deadline": english_deadline},
}


class Templates:
    def __init__(self, override_dir: Path | None = None) -> None:
        loaders = [PackageLoader("complaints.notices", "templates")]
        if override_dir:
            loaders.insert(0, FileSystemLoader(str(override_dir)))
        self.envs = {}
        for locale in LOCALES:
            env = Environment(loader=ChoiceLoader(loaders), undefined=StrictUndefined, keep_trailing_newline=False,
                              autoescape=False)
            env.filters.update(FILTERS[locale])
            self.envs[locale] = env

    def render(self, kind: str, locale: str, values: dict[str, Any], suffix: str = "txt") -> Text:
        """The notice `kind` in `locale`; the values the workflow gave fill it in."""
        name = f"{locale}/{kind}.{suffix}"
        try:
            text = self.envs[locale].get_template(name).render(**values).strip()
        except TemplateNotFound:
            raise TemplateError(f"no template {name}") from None
        except Exception as err:  # noqa: BLE001 - Jinja2's own errors: a firm's template is wrong
            raise TemplateError(f"template {name}: {type(err).__name__}: {err}") from None
        subject, _, body = text.partition("\n")
        return Text(subject=subject.strip(), body=body.strip())
