"""Prevention alarms (预防性投诉管理): problems found in the complaint counts before they grow.

Counted over the last WINDOW (7 days, ending at midnight Shanghai time, so every run of
one day sees the same window and raises the same alarms) against the BASELINE_WINDOWS
windows before it, each subject against its own baseline:
- `rise`: a respondent's, a category's or a channel's complaints, at least RISE_MIN of them,
  more than chance explains: P(X >= count) < RISE_P for X ~ Poisson(the baseline's mean);
- `new_kind`: a category of complaint against a respondent that its baseline never had;
- `substantiated`: a respondent with at least SUBSTANTIATED_MIN complaints in the window
  that investigation found substantiated.
Only windows after the archive's first complaint are a baseline: a new archive has no past
to compare with, so it raises no rise and no new kind until it has one.

Pure functions over `Seen` rows; the archive, the schedule and the notices are elsewhere.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from .workdays import SHANGHAI

WINDOW = timedelta(days=7)
BASELINE_WINDOWS = 8
RISE_P = 0.01
RISE_MIN = 5
SUBSTANTIATED_MIN = 3


class Seen(BaseModel):
    """One complaint as prevention counts it: no complainant, no text."""

    model_config = ConfigDict(frozen=True)

    complaint_id: str
    received_at: datetime
    channel: str
    category: str | None = None
    respondent: str | None = None
    """`kind:id`, e.g. `collector:C-017`, as the report names respondents."""
    substantiated: bool | None = None


class AlarmKind(StrEnum):
    rise = "rise"
    new_kind = "new_kind"
    substantiated = "substantiated"


class Dimension(StrEnum):
    respondent = "respondent"
    category = "category"
    channel = "channel"


class Alarm(BaseModel):
    """What was found, with the figures behind it and the complaints it counted."""

    alarm_id: str
    kind: AlarmKind
    dimension: Dimension
    subject: str
    category: str | None = None
    """The new category of a `new_kind` alarm."""
    window_start: datetime
    window_end: datetime
    count: int
    baseline_mean: float
    p_value: float | None = None
    complaint_ids: list[str]

    def describe(self) -> str:
        """One line: what, about whom, the figures (no personal data)."""
        what = {AlarmKind.rise: f"{self.count} complaints",
                AlarmKind.new_kind: f"{self.count} complaints of a new kind, {self.category}",
                AlarmKind.substantiated: f"{self.count} substantiated complaints"}[self.kind]
        p = f", p={self.p_value:.2g}" if self.p_value is not None else ""
        return (f"{self.kind.value}: {self.dimension.value} {self.subject}: {what} in the {WINDOW.days} days to "
                f"{last_day(self.window_end)} (baseline mean {self.baseline_mean:.2f} a window{p})")


class AlarmState(Alarm):
    """An archived alarm and what became of it: the manager's plan, the review's verdict."""

    raised_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    plan: str | None = None
    review_on: date | None = None
    reviewed_at: datetime | None = None
    review_count: int | None = None
    came_down: bool | None = None

    @property
    def state(self) -> str:
        if self.reviewed_at:
            return "came down" if self.came_down else "did not come down"
        return "acknowledged" if self.acknowledged_at else "open"


class Review(BaseModel):
    """An acknowledged alarm looked at again on its review date: the same count over the
    window before it, and whether it came down (the alarm's rule would not raise it now)."""

    alarm_id: str
    window_end: datetime
    count: int
    came_down: bool
    complaint_ids: list[str]

    def describe(self, alarm: Alarm) -> str:
        verdict = "came down" if self.came_down else "did not come down"
        return (f"{verdict}: {self.count} in the {WINDOW.days} days to {last_day(self.window_end)}, "
                f"against {alarm.count} when raised (baseline mean {alarm.baseline_mean:.2f})")


class Findings(BaseModel):
    alarms: list[Alarm] = []
    reviews: list[Review] = []


def window_end(at: datetime) -> datetime:
    """The end of the window a run at `at` counts: the last midnight in Shanghai, in UTC."""
    day = at.astimezone(SHANGHAI).date()
    return datetime.combine(day, time(0), SHANGHAI).astimezone(timezone.utc)


def last_day(end: datetime) -> date:
    """The last day (Shanghai) of a window ending at `end`."""
    return (end - timedelta(seconds=1)).astimezone(SHANGHAI).date()


def counted_since(end: datetime) -> datetime:
    """The earliest receipt a run ending at `end` reads: its window and the whole baseline."""
    return end - WINDOW * (BASELINE_WINDOWS + 1)


def poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), summed in log space so a large mean does not underflow."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0

    def pmf(i: int) -> float:
        return math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1))

    if k <= mean:  # the bulk of the distribution: one minus the few terms below k
        return max(0.0, 1.0 - math.fsum(pmf(i) for i in range(k)))
    total, i = 0.0, k  # beyond the mean the terms only shrink: sum them until they stop counting
    while (term := pmf(i)) > total * 1e-16:
        total += term
        i += 1
    return min(1.0, total)


def _alarm_id(kind: AlarmKind, dimension: Dimension, subject: str, category: str | None, end: datetime) -> str:
    """The same finding in the same window always has the same id, so raising it twice is once."""
    key = "|".join((kind.value, dimension.value, subject, category or "", end.isoformat()))
    return "P" + hashlib.sha256(key.encode()).hexdigest()[:10].upper()


SUBJECT: dict[Dimension, Callable[[Seen], str | None]] = {
    Dimension.respondent: lambda s: s.respondent,
    Dimension.category: lambda s: s.category,
    Dimension.channel: lambda s: s.channel,
}


def _by(rows: Iterable[Seen], dimension: Dimension) -> dict[str, list[Seen]]:
    grouped: dict[str, list[Seen]] = defaultdict(list)
    for row in rows:
        subject = SUBJECT[dimension](row)
        if subject is not None:
            grouped[subject].append(row)
    return grouped


def counted(kind: AlarmKind, category: str | None, rows: Iterable[Seen]) -> list[Seen]:
    """The complaints an alarm of `kind` counts among a subject's `rows`."""
    if kind is AlarmKind.new_kind:
        return [r for r in rows if r.category == category]
    if kind is AlarmKind.substantiated:
        return [r for r in rows if r.substantiated]
    return list(rows)


def flagged(kind: AlarmKind, count: int, baseline_mean: float) -> bool:
    """Each alarm's rule, on the count it counts and its baseline's mean: raising it and the
    review's verdict (it came down when its rule no longer holds) ask the same question."""
    if kind is AlarmKind.rise:
        return count >= RISE_MIN and poisson_tail(count, baseline_mean) < RISE_P
    if kind is AlarmKind.new_kind:
        return count > 0
    return count >= SUBSTANTIATED_MIN


def baseline_windows(start: datetime, history_since: datetime | None) -> int:
    """How many whole baseline windows before `start` the archive has history for."""
    if history_since is None:
        return 0
    return max(0, min(BASELINE_WINDOWS, math.floor((start - history_since) / WINDOW)))


def find_alarms(seen: Iterable[Seen], end: datetime, history_since: datetime | None) -> list[Alarm]:
    """Every alarm the window ending at `end` raises; `history_since`: the archive's first receipt."""
    start = end - WINDOW
    windows = baseline_windows(start, history_since)
    rows = list(seen)
    current = [r for r in rows if start <= r.received_at < end]
    base = [r for r in rows if start - WINDOW * windows <= r.received_at < start]
    alarms: list[Alarm] = []

    def alarm(kind: AlarmKind, dimension: Dimension, subject: str, members: list[Seen], past: list[Seen],
              category: str | None = None, p_value: float | None = None) -> None:
        alarms.append(Alarm(
            alarm_id=_alarm_id(kind, dimension, subject, category, end), kind=kind, dimension=dimension,
            subject=subject, category=category, window_start=start, window_end=end, count=len(members),
            baseline_mean=round(len(past) / windows, 4) if windows else 0.0, p_value=p_value,
            complaint_ids=sorted(r.complaint_id for r in members)))

    for dimension in Dimension:
        before = _by(base, dimension)
        for subject, members in sorted(_by(current, dimension).items()):
            past = before.get(subject, [])
            if windows and flagged(AlarmKind.rise, len(members), len(past) / windows):
                alarm(AlarmKind.rise, dimension, subject, members, past,
                      p_value=poisson_tail(len(members), len(past) / windows))
            if dimension is not Dimension.respondent:
                continue
            if past:  # a respondent with a history: a category it never drew before
                known = {r.category for r in past}
                for category in sorted({r.category for r in members if r.category} - known):
                    alarm(AlarmKind.new_kind, dimension, subject, counted(AlarmKind.new_kind, category, members),
                          [], category=category)
            found = counted(AlarmKind.substantiated, None, members)
            if flagged(AlarmKind.substantiated, len(found), 0.0):
                alarm(AlarmKind.substantiated, dimension, subject, found, counted(AlarmKind.substantiated, None, past))
    return alarms


def review(alarm: Alarm, seen: Iterable[Seen], end: datetime) -> Review:
    """The alarm's count again over the window ending at `end`; it came down when the alarm's
    own rule, on the alarm's baseline, would not raise it now."""
    start = end - WINDOW
    subject = [r for r in seen if start <= r.received_at < end and SUBJECT[alarm.dimension](r) == alarm.subject]
    members = counted(alarm.kind, alarm.category, subject)
    return Review(alarm_id=alarm.alarm_id, window_end=end, count=len(members),
                  came_down=not flagged(alarm.kind, len(members), alarm.baseline_mean),
                  complaint_ids=sorted(r.complaint_id for r in members))
