"""Prevention alarms over a generated archive, on SQLite and PostgreSQL: a background of random
complaints, and four collectors written in: one whose complaints spike, one steady, one new,
and one that draws a new kind of complaint. The alarms are kept once, acknowledged, reviewed,
listed by `complaints prevention` and reported by `complaints report`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner
from sqlalchemy import func, select

from activities.prevention import Prevention
from bench.archive_data import Generated, generate, load
from complaints.cli.prevention import app as alarms_app
from complaints.cli.report import report as report_command
from complaints.domain.prevention import WINDOW, AlarmKind, Dimension, Findings, poisson_tail, window_end
from complaints.domain.workdays import SHANGHAI
from complaints.infra.archive import Archive
from complaints.infra.schema import outbox, prevention_alarms
from complaints.notices.render import Templates
from complaints.reports import Period, build_report
from tests.conftest import TEST_KEY

NOW = datetime.now(timezone.utc)
END = window_end(NOW)
SPIKE, STEADY, NEW, SHIFT = [2, 1, 3, 2, 2, 1, 2, 3], [4, 5, 3, 4, 4, 5, 3, 4], [0] * 8, [3] * 8
"""Each collector's complaints in the eight baseline windows, the newest first."""


def collector(name: str, now: int, past: list[int], category: str = "collection.abusive",
              substantiated: bool | None = None, end: datetime = END, tag: str | None = None) -> list[dict]:
    """A collector's complaints: `now` in the window ending at `end`, `past[i]` in the i-th window
    before it; their ids `<tag>-<window>-<i>` (the tag: the collector's name unless given)."""
    [template] = generate(1, end - WINDOW, end).complaints
    rows = []
    for window, n in enumerate([now, *past]):
        start = end - WINDOW * (window + 1)
        rows += [template | {"complaint_id": f"{tag or name}-{window}-{i}",
                             "received_at": start + timedelta(hours=7 * i), "category": category, "respondent_kind": "collector", "respondent_id": name,
                             "outcome": None, "stage": "investigation", "closed_at": None, "decided_at": None,
                             "merged_into": None, "review_of": None, "substantiated": substantiated}
                 for i in range(n)]
    return rows


def generated_archive(archive: Archive, end: datetime = END) -> None:
    """A background of 400 random complaints over the nine windows, the four collectors, and a
    drill's spike."""
    data = generate(400, end - WINDOW * 9, end, seed=11)
    data.complaints += (collector("SPIKE", 12, SPIKE, end=end)
                        + collector("STEADY", 4, STEADY, "collection.off_hours", end=end)
                        + collector("NEW", 7, NEW, end=end)
                        + collector("SHIFT", 3, SHIFT, "collection.repeated", end=end)
                        + collector("SHIFT", 1, [], "card.fraud", end=end, tag="SHIFT-NEW"))
    load(archive.engine, data)
    load(archive.engine, Generated([row | {"drill": True} for row in collector("DRILL", 12, SPIKE, end=end)]))


def of(findings: Findings, kind: AlarmKind) -> dict[str, object]:
    return {a.subject: a for a in findings.alarms if a.kind is kind and a.dimension is Dimension.respondent}


def test_the_spike_and_the_new_collector_are_flagged_and_the_steady_one_is_not(any_archive: Archive) -> None:
    generated_archive(any_archive)
    findings = Prevention(any_archive).find_alarms(NOW)
    rises = of(findings, AlarmKind.rise)
    assert "collector:SPIKE" in rises and "collector:NEW" in rises
    assert "collector:STEADY" not in rises and "collector:SHIFT" not in rises
    assert not [a for a in findings.alarms if "DRILL" in a.subject]  # an emergency drill's complaints are made up
    spike = rises["collector:SPIKE"]
    assert (spike.count, spike.baseline_mean, spike.window_end) == (12, sum(SPIKE) / 8, END)
    assert spike.p_value == pytest.approx(poisson_tail(12, sum(SPIKE) / 8))
    assert spike.complaint_ids == sorted(f"SPIKE-0-{i}" for i in range(12))
    assert (rises["collector:NEW"].count, rises["collector:NEW"].baseline_mean) == (7, 0.0)
    new_kinds = [a for a in findings.alarms if a.kind is AlarmKind.new_kind and a.subject == "collector:SHIFT"]
    assert [(a.category, a.complaint_ids) for a in new_kinds] == [("card.fraud", ["SHIFT-NEW-0-0"])]
    assert not any(a.subject in ("collector:STEADY", "collector:SPIKE") for a in findings.alarms
                   if a.kind is AlarmKind.new_kind)


def test_alarms_are_kept_once_with_their_notice_to_managers(any_archive: Archive) -> None:
    generated_archive(any_archive)
    prevention = Prevention(any_archive)
    first = prevention.raise_alarms(prevention.find_alarms(NOW))
    assert len(first.new) == len(prevention.find_alarms(NOW).alarms) > 0
    assert {d.complaint_id for d in first.deliveries} == set(first.new)
    assert {(d.seq, d.kind, d.recipient) for d in first.deliveries} == {(1, "prevention", "manager")}
    again = prevention.raise_alarms(prevention.find_alarms(NOW + timedelta(hours=1)))  # a second run that day
    assert again.new == [] and {d.complaint_id for d in again.deliveries} == set(first.new)  # still unsent
    tomorrow = prevention.raise_alarms(prevention.find_alarms(NOW + timedelta(days=1)))
    assert not {a.subject for a in any_archive.alarms() if a.alarm_id in tomorrow.new} & {"collector:SPIKE"}, \
        "the next day's window overlaps the alarm's: the spike is not raised again while open"
    with any_archive.engine.connect() as db:
        kept = db.execute(select(func.count()).select_from(prevention_alarms)).scalar_one()
        notices = db.execute(select(func.count()).select_from(outbox).where(outbox.c.kind == "prevention")).scalar_one()
    assert kept == notices == len(first.new) + len(tomorrow.new)


def test_an_acknowledged_alarm_is_reviewed_on_its_date_and_says_whether_it_came_down(any_archive: Archive) -> None:
    generated_archive(any_archive)
    prevention = Prevention(any_archive)
    prevention.raise_alarms(prevention.find_alarms(NOW))
    alarms = {a.subject: a for a in any_archive.alarms() if a.kind is AlarmKind.rise
              and a.dimension is Dimension.respondent}
    spike, new = alarms["collector:SPIKE"], alarms["collector:NEW"]
    review_day = (END + WINDOW * 2).astimezone(SHANGHAI).date()
    for alarm in (spike, new):
        assert any_archive.acknowledge_alarm(alarm.alarm_id, "m.wang", "retrain the team", review_day, NOW)
    assert not any_archive.acknowledge_alarm(spike.alarm_id, "m.li", "another plan", review_day, NOW)
    # in the week before the review, SPIKE calms down and NEW keeps drawing complaints
    later = END + WINDOW * 2
    load(any_archive.engine, Generated(complaints=collector("SPIKE", 1, [], end=later, tag="SPIKE-AFTER")
                                       + collector("NEW", 9, [], end=later, tag="NEW-AFTER")))
    assert Prevention(any_archive).find_alarms(later - timedelta(days=1)).reviews == []  # not yet due
    raised = prevention.raise_alarms(prevention.find_alarms(later + timedelta(hours=3)))
    assert sorted(raised.reviewed) == sorted([spike.alarm_id, new.alarm_id])
    after = {a.alarm_id: a for a in any_archive.alarms()}
    assert (after[spike.alarm_id].came_down, after[spike.alarm_id].review_count) == (True, 1)
    assert (after[new.alarm_id].came_down, after[new.alarm_id].review_count) == (False, 9)
    assert after[new.alarm_id].state == "did not come down" and after[spike.alarm_id].plan == "retrain the team"
    reviews = [d for d in raised.deliveries if d.kind == "prevention_review"]
    assert {(d.complaint_id, d.values["came_down"]) for d in reviews} == {(spike.alarm_id, True), (new.alarm_id, False)}
    told = {d.complaint_id: Templates().render(d.kind, "zh-CN", {"complaint_id": d.complaint_id, **d.values})
            for d in reviews}
    assert told[spike.alarm_id].subject.endswith("已回落") and told[new.alarm_id].subject.endswith("未回落")
    assert "1 件，预警时 12 件" in told[spike.alarm_id].body and "NEW-AFTER-0-8" in told[new.alarm_id].body
    assert prevention.raise_alarms(prevention.find_alarms(later + timedelta(hours=4))).reviewed == []  # once


def environment(tmp_path: Path, url: str) -> dict[str, str]:
    return {"COMPLAINTS_DB_URL": url, "COMPLAINTS_CODEC_KEYS": TEST_KEY, "COMPLAINTS_DATA_DIR": str(tmp_path),
            "COLUMNS": "250"}


def run(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    """The installed command, as an operator runs it."""
    return subprocess.run([str(Path(sys.executable).parent / "complaints"), *args],
                          env=environment(tmp_path, url) | {"PATH": str(Path(sys.executable).parent)},
                          capture_output=True, text=True, timeout=60)


def test_the_commands_list_acknowledge_and_report_alarms(archive: Archive, tmp_path: Path) -> None:
    generated_archive(archive)
    prevention = Prevention(archive)
    prevention.raise_alarms(prevention.find_alarms(NOW))
    url = str(archive.engine.url)
    [spike] = [a for a in archive.alarms() if a.subject == "collector:SPIKE" and a.kind is AlarmKind.rise]
    listed = run(tmp_path, url, "prevention", "--json")
    assert listed.returncode == 0, listed.stderr
    shown = {a["alarm_id"]: a for a in json.loads(listed.stdout)}
    assert shown[spike.alarm_id]["complaint_ids"] == spike.complaint_ids and shown[spike.alarm_id]["state"] == "open"
    table = run(tmp_path, url, "prevention")
    [row] = [line for line in table.stdout.splitlines() if spike.alarm_id in line]
    assert "respondent collector:SPIKE" in row and " 12 " in row and f" {sum(SPIKE) / 8:.2f} " in row
    assert "SPIKE-0-11" in table.stdout

    review = (NOW.astimezone(SHANGHAI).date() + timedelta(days=14)).isoformat()
    acked = run(tmp_path, url, "prevention", "ack", spike.alarm_id, "--plan", "retrain", "--review", review,
                "--by", "m.wang")
    assert acked.returncode == 0, acked.stderr
    assert acked.stdout.strip() == f"{spike.alarm_id}: acknowledged by m.wang; review on {review}"
    assert archive.alarm(spike.alarm_id)["plan"] == "retrain"
    env = environment(tmp_path, url)
    cli = CliRunner()
    again = cli.invoke(alarms_app, ["ack", spike.alarm_id, "--plan", "x", "--review", review], env=env)
    assert again.exit_code == 4 and "acknowledged already by m.wang" in again.output
    assert cli.invoke(alarms_app, ["ack", "PNOSUCH", "--plan", "x", "--review", review], env=env).exit_code == 3
    past = cli.invoke(alarms_app, ["ack", spike.alarm_id, "--plan", "x", "--review", "2020-01-01"], env=env)
    assert past.exit_code == 2 and "--review" in past.output and "not after today" in past.output

    day = NOW.astimezone(SHANGHAI).date()
    report = build_report(archive.engine, Period(day, day))
    [reported] = [a for a in report["prevention_alarms"] if a["alarm_id"] == spike.alarm_id]
    assert (reported["count"], reported["state"], reported["plan"]) == (12, "acknowledged", "retrain")
    assert reported["complaint_ids"] == spike.complaint_ids
    reporting = typer.Typer()
    reporting.command()(report_command)
    printed = cli.invoke(reporting, ["--from", day.isoformat(), "--to", day.isoformat()], env=env)
    assert printed.exit_code == 0, printed.output
    assert "Prevention alarms raised" in printed.output and spike.alarm_id in printed.output
