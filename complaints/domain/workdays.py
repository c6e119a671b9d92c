"""Mainland China working days: statutory holidays and make-up working days (调休).

`chinesecalendar` knows the years the State Council has published; an operator's holiday
file adds years it does not know yet; any other year falls back to weekends-only and is
reported as provisional, so a complaint received late in December never fails for want of
next year's calendar.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_time(moment: datetime, deadline: bool = False) -> str:
    """A moment as people at the desk read it: ISO 8601 in Shanghai time, to the minute.

    A deadline at local midnight is the end of the day before, and reads so (`T24:00`):
    "due 2026-12-17T24:00+08:00" leaves no doubt which day is the last one.
    """
    local = moment.astimezone(SHANGHAI)
    if deadline and local.time() == time(0):
        return f"{(local - timedelta(days=1)).date().isoformat()}T24:00+08:00"
    return local.isoformat(timespec="minutes")


class HolidayFileError(ValueError):
    """An operator holiday file that cannot be used; the message names the entry."""


def parse_holiday_file(text: str) -> dict[int, dict[date, bool]]:
    """Parse a holiday file into {year: {date: is_working_day}}.

    ```toml
    [years.2027]
    holidays = ["2027-01-01", "2027-02-08"]   # weekdays off
    workdays = ["2027-02-07"]                 # weekend make-up working days
    ```
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise HolidayFileError(f"not valid TOML ({err})") from None
    years: dict[int, dict[date, bool]] = {}
    for key, entry in (data.get("years") or {}).items():
        if not (isinstance(key, str) and key.isdigit() and isinstance(entry, dict)):
            raise HolidayFileError(f"years.{key}: expected a table like [years.2027]")
        year = int(key)
        days: dict[date, bool] = {}
        for kind, working in (("holidays", False), ("workdays", True)):
            for text_day in entry.get(kind, []):
                try:
                    day = date.fromisoformat(str(text_day))
                except ValueError:
                    raise HolidayFileError(f"years.{key}.{kind}: {text_day!r} is not a date YYYY-MM-DD") from None
                if day.year != year:
                    raise HolidayFileError(f"years.{key}.{kind}: {day} is not in {year}")
                days[day] = working
        years[year] = days
    return years


class WorkingCalendar:
    def __init__(self, operator_years: dict[int, dict[date, bool]] | None = None) -> None:
        self._operator = operator_years or {}

    def knows(self, year: int) -> bool:
        return year in self._operator or _published(year)

    def is_working_day(self, day: date) -> bool:
        if day.year in self._operator:
            return self._operator[day.year].get(day, day.weekday() < 5)
        if _published(day.year):
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5

    def end_of_working_day(self, received_at: datetime, n: int) -> tuple[datetime, bool]:
        """End (24:00 Shanghai time) of the nth working day after the receipt date.

        Returns the moment and whether any year it crossed was unknown (provisional).
        """
        day = received_at.astimezone(SHANGHAI).date()
        provisional = not self.knows(day.year)
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            provisional = provisional or not self.knows(day.year)
            if self.is_working_day(day):
                counted += 1
        return _end_of(day), provisional

    def end_of_days(self, received_at: datetime, n: int) -> tuple[datetime, bool]:
        """End (24:00 Shanghai time) of a period of n days, as the Civil Code counts it
        (arts. 201-203): the day of receipt is not counted, and a last day that is not a
        working day (a weekend or a statutory holiday) gives way to the next working day.

        Returns the moment and whether the year of its last day was unknown (provisional).
        """
        day = received_at.astimezone(SHANGHAI).date() + timedelta(days=n)
        provisional = not self.knows(day.year)
        while not self.is_working_day(day):
            day += timedelta(days=1)
            provisional = provisional or not self.knows(day.year)
        return _end_of(day), provisional


def _end_of(day: date) -> datetime:
    """24:00 Shanghai time at the end of `day`."""
    return datetime.combine(day + timedelta(days=1), time(0), SHANGHAI)


_PUBLISHED_YEARS = frozenset(d.year for d in chinese_calendar.constants.holidays)


def _published(year: int) -> bool:
    return year in _PUBLISHED_YEARS
