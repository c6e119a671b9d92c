"""Deadlines against the mainland China calendar, with the dates worked out by hand
from the State Council's 2026 schedule (National Day 10-01..10-07, make-up working days
09-20 and 10-10, Mid-Autumn 09-25)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from complaints.domain.policy import Duration, Policy, PolicyError
from complaints.domain.workdays import SHANGHAI, HolidayFileError, WorkingCalendar, local_time, parse_holiday_file


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def midnight_after(year: int, month: int, day: int) -> datetime:
    """24:00 Shanghai time at the end of the given day, in UTC."""
    return (shanghai(year, month, day) + timedelta(days=1)).astimezone(timezone.utc)


def test_plain_deadlines_run_from_the_moment_of_receipt():
    received = shanghai(2026, 11, 24, 9, 30)
    plan = Policy().plan(received, WorkingCalendar())
    assert plan.due["assessment"] == received + timedelta(hours=1)
    assert plan.due["investigation"] == received + timedelta(hours=24)
    assert plan.due["plan"] == received + timedelta(hours=48)
    assert plan.warn["assessment"] == received + timedelta(minutes=48)


def test_a_plain_day_count_is_exactly_n_times_24_hours_after_the_moment_of_receipt():
    received = shanghai(2026, 11, 24, 9, 30)
    plan = Policy.from_mapping({"deadlines": {"decision": "15d"}}).plan(received, WorkingCalendar())
    assert plan.due["decision"] == received + timedelta(days=15)
    assert plan.extension_caps == [received + timedelta(days=30), received + timedelta(days=60)]


@pytest.mark.parametrize(
    ("received", "last_day"),
    [
        (shanghai(2026, 11, 24, 9, 30), (2026, 12, 9)),  # the 15th day after receipt, a Wednesday
        (shanghai(2026, 11, 24, 0, 1), (2026, 12, 9)),  # the hour of receipt does not matter:
        (shanghai(2026, 11, 24, 23, 59), (2026, 12, 9)),  # the day of receipt is not counted
        (datetime(2026, 11, 24, 16, 30, tzinfo=timezone.utc), (2026, 12, 10)),  # 11-25 00:30 in Shanghai
        (shanghai(2026, 9, 20, 10), (2026, 10, 8)),  # the 15th is 10-05, National Day: the day after the holiday
        (shanghai(2026, 11, 6, 10), (2026, 11, 23)),  # the 15th is a Saturday: the Monday
        (shanghai(2026, 9, 25, 10), (2026, 10, 10)),  # the 15th is 10-10, a make-up working Saturday: kept
    ],
)
def test_the_decision_deadline_counts_days_as_the_civil_code_does(received, last_day):
    plan = Policy().plan(received, WorkingCalendar())
    assert plan.due["decision"] == midnight_after(*last_day)


def test_the_extension_caps_are_counted_as_the_decision_deadline_is():
    plan = Policy().plan(shanghai(2026, 11, 24, 9, 30), WorkingCalendar())
    # day 30 is 12-24, a Thursday; day 60 is 2027-01-23, a Saturday (weekends-only year): the Monday
    assert plan.extension_caps == [midnight_after(2026, 12, 24), midnight_after(2027, 1, 25)]


def test_times_read_as_iso_8601_in_shanghai_and_a_deadline_at_midnight_ends_its_own_day():
    assert local_time(datetime(2026, 12, 9, 1, 30, 59, tzinfo=timezone.utc)) == "2026-12-09T09:30+08:00"
    end = midnight_after(2026, 12, 9)
    assert local_time(end, deadline=True) == "2026-12-09T24:00+08:00"  # never 12-10 00:00
    assert local_time(end) == "2026-12-10T00:00+08:00"  # a moment, not a deadline: the new day has begun
    assert local_time(shanghai(2026, 12, 9, 0, 0, 30), deadline=True) == "2026-12-09T00:00+08:00"


def test_received_just_before_national_day_skips_golden_week_and_counts_the_make_up_saturday():
    plan = Policy().plan(shanghai(2026, 9, 30, 10), WorkingCalendar())
    # working days after 09-30: 10-08, 10-09, 10-10 (Sat, make-up), 10-12, 10-13, 10-14, 10-15 ...
    assert plan.due["execution"] == midnight_after(2026, 10, 15)
    # ... 10-16, 10-19, 10-20, 10-21, 10-22, 10-23, 10-26, 10-27
    assert plan.due["summary"] == midnight_after(2026, 10, 27)
    assert not plan.calendar_provisional


def test_received_on_a_make_up_working_day_counts_from_that_sunday_and_skips_mid_autumn():
    plan = Policy().plan(shanghai(2026, 9, 20, 10), WorkingCalendar())
    # 09-21, 22, 23, 24, (25 Mid-Autumn off), 28, 29, 30
    assert plan.due["execution"] == midnight_after(2026, 9, 30)
    # 10-08, 09, 10 (Sat, make-up), 12, 13, 14, 15, 16
    assert plan.due["summary"] == midnight_after(2026, 10, 16)


def test_late_december_reaches_an_unknown_year_with_weekends_only_and_says_so():
    plan = Policy().plan(shanghai(2026, 12, 28, 10), WorkingCalendar())
    # 12-29, 30, 31, then 2027 weekdays: 01-01, 04, 05, 06
    assert plan.due["execution"] == midnight_after(2027, 1, 6)
    assert plan.due["summary"] == midnight_after(2027, 1, 18)
    assert plan.due["decision"] == midnight_after(2027, 1, 12)  # the 15th day, a Tuesday
    assert plan.calendar_provisional


def test_an_operator_holiday_file_supplies_the_year_the_package_lacks():
    operator = parse_holiday_file('[years.2027]\nholidays = ["2027-01-01"]\nworkdays = []\n')
    plan = Policy().plan(shanghai(2026, 12, 28, 10), WorkingCalendar(operator))
    assert plan.due["execution"] == midnight_after(2027, 1, 7)  # New Year's Day is off now
    assert not plan.calendar_provisional


def test_a_far_future_date_never_crashes():
    plan = Policy().plan(datetime(2099, 12, 30, tzinfo=timezone.utc), WorkingCalendar())
    assert plan.calendar_provisional
    assert plan.due["summary"] > plan.due["execution"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[years.2027]\nholidays = ["2027-13-01"]', "years.2027.holidays"),
        ('[years.2027]\nholidays = ["2028-01-01"]', "not in 2027"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_a_bad_holiday_file_is_refused_naming_the_entry(text, message):
    with pytest.raises(HolidayFileError, match=message):
        parse_holiday_file(text)


def test_policy_loads_a_firms_own_deadlines(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('warning_at = 0.5\n[deadlines]\nassessment = "2h"\nexecution = "5wd"\n')
    policy = Policy.load(path)
    assert policy.deadlines["assessment"] == Duration(2, "h")
    assert policy.deadlines["execution"] == Duration(5, "wd")
    assert policy.deadlines["summary"] == Duration(15, "wd")  # defaults fill the rest
    assert policy.deadlines["decision"] == Duration(15, "cd")
    assert policy.warning_at == 0.5


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[deadlines]\nassessment = "soon"', "deadlines.assessment"),
        ('[deadlines]\nplan = "0h"', "deadlines.plan"),
        ('[deadlines]\ndecision = "15dc"', "deadlines.decision"),
        ('[deadlines]\nlunch = "1h"', "deadlines.lunch"),
        ("warning_at = 1.5", "warning_at"),
        ('deadline = "x"', "deadline"),
    ],
)
def test_a_malformed_policy_names_the_key(tmp_path, toml, key):
    path = tmp_path / "policy.toml"
    path.write_text(toml)
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        Policy.load(path)
