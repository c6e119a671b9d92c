"""Prevention's analysis as a pure function: the Poisson tail, the windows, each alarm's rule
and the review's verdict."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from complaints.domain.policy import Policy, PolicyError
from complaints.domain.prevention import (
    WINDOW,
    AlarmKind,
    Dimension,
    Seen,
    find_alarms,
    poisson_tail,
    review,
    window_end,
)

END = datetime(2026, 11, 30, 16, tzinfo=timezone.utc)  # midnight, 1 December, in Shanghai
HISTORY = END - WINDOW * 20


def test_the_poisson_tail_matches_its_closed_forms() -> None:
    assert poisson_tail(1, 2.0) == pytest.approx(1 - math.exp(-2))
    assert poisson_tail(5, 1.0) == pytest.approx(1 - sum(math.exp(-1) / math.factorial(i) for i in range(5)))
    assert poisson_tail(5, 1.0) == pytest.approx(0.00366, abs=1e-5)
    assert poisson_tail(0, 3.0) == 1.0 and poisson_tail(3, 0.0) == 0.0
    assert 0 < poisson_tail(1300, 1000.0) < 1e-15  # far out in a large mean's tail: no underflow to nonsense
    assert poisson_tail(1000, 1000.0) == pytest.approx(0.5, abs=0.02)


def test_a_run_counts_the_seven_days_before_the_last_midnight_in_shanghai() -> None:
    assert window_end(datetime(2026, 12, 1, 3, tzinfo=timezone.utc)) == END  # 11:00 on the 1st in Shanghai
    assert window_end(datetime(2026, 11, 30, 15, 59, tzinfo=timezone.utc)) == END - timedelta(days=1)


def complaints(prefix: str, per_window: list[int], respondent: str | None = "collector:A", category: str = "c.x",
               channel: str = "phone", substantiated: bool | None = None, end: datetime = END) -> list[Seen]:
    """`per_window[i]` complaints in the i-th window before `end` (0: the current window)."""
    rows = []
    for window, n in enumerate(per_window):
        start = end - WINDOW * (window + 1)
        rows += [Seen(complaint_id=f"{prefix}{window}-{i}", received_at=start + timedelta(hours=1 + i),
                      channel=channel, category=category, respondent=respondent, substantiated=substantiated)
                 for i in range(n)]
    return rows


def only(alarms: list, kind: AlarmKind, dimension: Dimension = Dimension.respondent) -> dict[str, object]:
    return {a.subject: a for a in alarms if a.kind is kind and a.dimension is dimension}


def test_a_spike_is_flagged_with_its_figures_and_a_steady_count_is_not() -> None:
    seen = complaints("S", [12, 2, 1, 2, 3, 2, 1, 2, 3], "collector:SPIKE") + \
        complaints("T", [4, 4, 5, 3, 4, 4, 5, 3, 4], "collector:STEADY", category="c.y", channel="sms")
    rises = only(find_alarms(seen, END, HISTORY), AlarmKind.rise)
    assert set(rises) == {"collector:SPIKE"}
    spike = rises["collector:SPIKE"]
    assert (spike.count, spike.baseline_mean) == (12, 2.0)
    assert spike.p_value == pytest.approx(poisson_tail(12, 2.0)) and spike.p_value < 0.01
    assert spike.complaint_ids == sorted(f"S0-{i}" for i in range(12))
    assert (spike.window_start, spike.window_end) == (END - WINDOW, END)


def test_a_rise_needs_its_minimum_count_and_a_baseline() -> None:
    few = complaints("F", [4, 0, 0, 0, 0, 0, 0, 0, 0])  # p tiny, but 4 complaints are not a pattern
    assert not only(find_alarms(few, END, HISTORY), AlarmKind.rise)
    new_archive = complaints("N", [9])  # no window before this one: nothing to compare with
    assert find_alarms(new_archive, END, END - WINDOW) == []
    assert only(find_alarms(new_archive, END, HISTORY), AlarmKind.rise)["collector:A"].baseline_mean == 0


def test_categories_and_channels_are_counted_against_their_own_baselines() -> None:
    seen = complaints("S", [10, 1, 1, 1, 1, 1, 1, 1, 1], respondent=None, category="card.fraud", channel="email")
    alarms = find_alarms(seen, END, HISTORY)
    assert set(only(alarms, AlarmKind.rise, Dimension.category)) == {"card.fraud"}
    assert set(only(alarms, AlarmKind.rise, Dimension.channel)) == {"email"}


def test_a_new_kind_against_a_known_respondent_is_flagged_once_per_category() -> None:
    seen = complaints("K", [0, 2, 2, 2, 2, 2, 2, 2, 2]) + complaints("X", [1], category="card.fraud")
    [alarm] = find_alarms(seen, END, HISTORY)
    assert (alarm.kind, alarm.subject, alarm.category, alarm.count, alarm.complaint_ids) == (
        AlarmKind.new_kind, "collector:A", "card.fraud", 1, ["X0-0"])
    assert [a.alarm_id for a in find_alarms(seen, END, HISTORY)] == [alarm.alarm_id]  # the same id each run
    assert not find_alarms(complaints("X", [1], respondent="agency:NEW"), END, HISTORY)  # no history: not new


def test_repeatedly_substantiated_complaints_are_flagged() -> None:
    seen = complaints("Y", [3, 1], substantiated=True) + complaints("Z", [2, 1, 2, 2, 2, 2, 2, 2, 2])
    [alarm] = find_alarms(seen, END, HISTORY)
    assert (alarm.kind, alarm.count, alarm.complaint_ids) == (AlarmKind.substantiated, 3, ["Y0-0", "Y0-1", "Y0-2"])
    assert not find_alarms(complaints("Y", [2], substantiated=True), END, HISTORY)


def test_a_review_says_whether_the_rate_came_down() -> None:
    seen = complaints("S", [12, 2, 1, 2, 3, 2, 1, 2, 3])
    alarm = only(find_alarms(seen, END, HISTORY), AlarmKind.rise)["collector:A"]
    later = END + WINDOW * 2
    down = review(alarm, seen + complaints("L", [2], end=later), later)
    assert (down.came_down, down.count, down.complaint_ids) == (True, 2, ["L0-0", "L0-1"])
    up = review(alarm, seen + complaints("R", [11], end=later), later)
    assert (up.came_down, up.count) == (False, 11) and "did not come down: 11" in up.describe(alarm)


def test_the_prevention_interval_is_a_policy_key() -> None:
    assert Policy().prevention_every == timedelta(days=1)
    assert Policy.from_mapping({"prevention_every": "6h"}).prevention_every == timedelta(hours=6)
    with pytest.raises(PolicyError, match="prevention_every: '2wd' is not an interval"):
        Policy.from_mapping({"prevention_every": "2wd"})
