"""The deadline policy: which deadlines a complaint gets and how long each one runs.

A firm loads its own from the TOML file named by `COMPLAINTS_POLICY_FILE`; a malformed
file is refused with the key at fault, so a worker never starts with a policy it misread.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .models import DEADLINES, DeadlinePlan
from .regulator import EXTENSION_CAPS
from .workdays import WorkingCalendar

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|wd|cd)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class PolicyError(ValueError):
    """A policy that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Duration:
    """A plain span after the moment of receipt (`15d` is exactly 15 x 24 hours after it), or
    a count of days after the receipt date ending at 24:00 Shanghai time: `7wd` working days,
    `15cd` calendar days as the law counts them (see `WorkingCalendar.end_of_days`)."""

    amount: int
    unit: str  # s, m, h, d, wd or cd

    @classmethod
    def parse(cls, text: object, key: str) -> Duration:
        match = _DURATION.match(text) if isinstance(text, str) else None
        if not match or int(match.group(1)) <= 0:
            raise PolicyError(f"{key}: {text!r} is not a duration like '1h', '48h', '15d', '15cd' or '7wd'")
        return cls(int(match.group(1)), match.group(2))

    def due(self, received_at: datetime, calendar: WorkingCalendar) -> tuple[datetime, bool]:
        """When a deadline of this length falls (UTC), and whether an unknown year decided it."""
        match self.unit:
            case "wd":
                end, unknown_year = calendar.end_of_working_day(received_at, self.amount)
            case "cd":
                end, unknown_year = calendar.end_of_days(received_at, self.amount)
            case _:
                end, unknown_year = received_at + timedelta(**{_UNITS[self.unit]: self.amount}), False
        return end.astimezone(timezone.utc), unknown_year

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


DEFAULT_DEADLINES = {
    "assessment": "1h",
    "investigation": "24h",
    "plan": "48h",
    "execution": "7wd",
    "summary": "15wd",
    "decision": "15cd",
}

DRILL_DEADLINES = {
    "assessment": "2m",
    "investigation": "4m",
    "plan": "6m",
    "execution": "8m",
    "summary": "10m",
    "decision": "12m",
}
"""An emergency drill's deadlines: the real ones' order in minutes, so a drill of ten minutes sees
warnings, a breach and its escalation (`complaints drill --scenario breach`)."""


def warning_moment(received_at: datetime, due: datetime, warning_at: float) -> datetime:
    """When the handler is warned: once `warning_at` of the deadline's window has passed."""
    return received_at + (due - received_at) * warning_at


_RETENTION = re.compile(r"^\s*(\d+)\s*(y|d)\s*$")


@dataclass(frozen=True)
class Retention:
    """How long a closed complaint's personal data and evidence are kept: `5y` calendar years
    (29 February closes on 28 February) or `N d` days after closing."""

    amount: int
    unit: str  # y or d

    @classmethod
    def parse(cls, text: object) -> Retention:
        match = _RETENTION.match(text) if isinstance(text, str) else None
        if not match or int(match.group(1)) <= 0:
            raise PolicyError(f"retention: {text!r} is not a period like '5y' or '1800d' after closing")
        return cls(int(match.group(1)), match.group(2))

    def closed_before(self, now: datetime) -> datetime:
        """Complaints closed before this moment are past the period at `now`."""
        if self.unit == "d":
            return now - timedelta(days=self.amount)
        year = now.year - self.amount
        return now.replace(year=year, day=min(now.day, 28) if now.month == 2 else now.day)


_EVERY = re.compile(r"^\s*(\d+)\s*(m|h|d)\s*$")


def every(text: object, key: str) -> timedelta:
    """A schedule's interval: `Nm`, `Nh` or `Nd` (a plain span; working or legal days make no interval)."""
    match = _EVERY.match(text) if isinstance(text, str) else None
    if not match or int(match.group(1)) <= 0:
        raise PolicyError(f"{key}: {text!r} is not an interval like '1d', '12h' or '30m'")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class Policy:
    deadlines: dict[str, Duration] = field(
        default_factory=lambda: {k: Duration.parse(v, f"deadlines.{k}") for k, v in DEFAULT_DEADLINES.items()}
    )
    warning_at: float = 0.8
    retention: Retention | None = None
    """None: personal data is kept until erased by hand."""
    prevention_every: timedelta = timedelta(days=1)
    """How often the `complaints-prevention` schedule looks for alarms (when `complaints setup` creates it)."""

    @classmethod
    def from_mapping(cls, data: dict) -> Policy:
        unknown = set(data) - {"warning_at", "deadlines", "retention", "prevention_every"}
        if unknown:
            raise PolicyError(f"{sorted(unknown)[0]}: unknown key "
                              "(expected warning_at, retention, prevention_every, [deadlines])")
        warning_at = data.get("warning_at", 0.8)
        if isinstance(warning_at, bool) or not isinstance(warning_at, int | float) or not 0 < warning_at < 1:
            raise PolicyError(f"warning_at: {warning_at!r} must be a number between 0 and 1")
        given = data.get("deadlines", {})
        if not isinstance(given, dict):
            raise PolicyError("deadlines: must be a table of name = duration")
        for key in given:
            if key not in DEADLINES:
                raise PolicyError(f"deadlines.{key}: unknown deadline (expected one of {', '.join(DEADLINES)})")
        merged = DEFAULT_DEADLINES | given
        retention = Retention.parse(data["retention"]) if "retention" in data else None
        return cls({k: Duration.parse(merged[k], f"deadlines.{k}") for k in DEADLINES}, float(warning_at), retention,
                   every(data.get("prevention_every", "1d"), "prevention_every"))

    @classmethod
    def load(cls, path: str | Path | None) -> Policy:
        """The policy in `path`, or the default policy when no file is named."""
        if not path:
            return cls()
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PolicyError(f"COMPLAINTS_POLICY_FILE: no such file {path}") from None
        except tomllib.TOMLDecodeError as err:
            raise PolicyError(f"COMPLAINTS_POLICY_FILE: {path} is not valid TOML ({err})") from None
        return cls.from_mapping(data)

    def drill(self) -> Policy:
        """This policy with the drill's deadlines (warnings as the firm's)."""
        return replace(self, deadlines={k: Duration.parse(v, f"drill.{k}") for k, v in DRILL_DEADLINES.items()})

    def plan(self, received_at: datetime, calendar: WorkingCalendar) -> DeadlinePlan:
        """Every deadline of a complaint received at `received_at`, and its warning moment."""
        due: dict[str, datetime] = {}
        provisional = False
        for name, duration in self.deadlines.items():
            due[name], unknown_year = duration.due(received_at, calendar)
            provisional = provisional or unknown_year
        warn = {name: warning_moment(received_at, moment, self.warning_at) for name, moment in due.items()}
        return DeadlinePlan(due=due, warn=warn, warning_at=self.warning_at, calendar_provisional=provisional,
                            extension_caps=self.extension_caps(received_at, calendar))

    def extension_caps(self, received_at: datetime, calendar: WorkingCalendar) -> list[datetime]:
        """The latest each extension may move `decision` to, counted as `decision` is: civil-code
        days when it is `Ncd`, otherwise exactly N x 24 hours after receipt."""
        unit = "cd" if self.deadlines["decision"].unit == "cd" else "d"
        return [Duration(days, unit).due(received_at, calendar)[0] for _, days in EXTENSION_CAPS]
