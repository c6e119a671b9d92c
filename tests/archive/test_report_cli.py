"""`complaints report` as an operator runs it: a real process over an archive it is pointed at."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from bench.archive_data import generate, load, utc
from complaints.cli.main import app
from complaints.infra.migrations import upgrade
from complaints.infra.sealing import seal_with
from complaints.reports import build_report
from tests.conftest import TEST_KEYS

from .test_report import PERIOD

PERSONAL = re.compile(r"138\d{8}|CUST\d|generated")
"""The generated complainants' phones, customer ids and names: never in a report."""


def complaints_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "complaints"), *args], capture_output=True, text=True,
                          env={**os.environ, "COMPLAINTS_DB_URL": url, "COLUMNS": "160"}, timeout=120)


@pytest.fixture(scope="module")
def archive_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'archive.db'}"
    engine = create_engine(url)
    upgrade(engine)
    seal_with(engine, TEST_KEYS)
    load(engine, generate(2000, utc(2026, 8, 1), utc(2026, 11, 30)))
    engine.dispose()
    return url


def test_json_is_the_report(archive_url: str) -> None:
    done = complaints_cli("report", "--from", "2026-09-15", "--to", "2026-10-31", "--format", "json", url=archive_url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == build_report(create_engine(archive_url), PERIOD)
    assert not PERSONAL.search(done.stdout)


def test_csv_and_table_carry_the_figures_and_no_personal_data(archive_url: str, tmp_path: Path) -> None:
    figures = build_report(create_engine(archive_url), PERIOD)
    done = complaints_cli("report", "--from", "2026-09-15", "--to", "2026-10-31", "--format", "csv", url=archive_url)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["section", "item", "measure", "value"]
    assert ["complaints", "received", "count", str(figures["received"])] in rows
    assert ["deadline", "plan", "breached", str(figures["deadlines"]["plan"]["breached"])] in rows
    assert {r[1] for r in rows if r[0] == "deadline"} == set(figures["deadlines"])
    assert not PERSONAL.search(done.stdout)

    chart = tmp_path / "month.png"
    table = complaints_cli("report", "--from", "2026-09-15", "--to", "2026-10-31", "--chart", str(chart),
                           url=archive_url)
    assert table.returncode == 0, table.stderr
    assert "Deadline compliance" in table.stdout and f"received {figures['received']}" in table.stdout
    assert not PERSONAL.search(table.stdout)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 20_000


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "2026-02-30", "--to", "2026-03-31"], "--from: '2026-02-30' is not a date YYYY-MM-DD"),
    (["--from", "2026-03-01", "--to", "March"], "--to: 'March' is not a date YYYY-MM-DD"),
    (["--from", "2026-03-31", "--to", "2026-03-01"], "--to: 2026-03-01 is before --from 2026-03-31"),
    (["--from", "2026-03-01", "--to", "2026-03-31", "--format", "xml"], "--format"),
])
def test_bad_options_are_named(archive_url: str, args: list[str], message: str) -> None:
    done = CliRunner().invoke(app, ["report", *args], env={"COMPLAINTS_DB_URL": archive_url, "COLUMNS": "160"})
    assert done.exit_code == 2
    assert message in " ".join(re.sub(r"[│╭╮╰╯─]", " ", done.stderr).split())


def test_an_archive_that_is_behind_is_named(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["report", "--from", "2026-03-01", "--to", "2026-03-31"],
                              env={"COMPLAINTS_DB_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert done.exit_code == 2 and "run `complaints db upgrade`" in done.stderr


def test_a_chart_in_a_missing_folder_is_refused_in_one_line(archive_url: str, tmp_path: Path) -> None:
    chart = tmp_path / "no-such-folder" / "chart.png"
    done = complaints_cli("report", "--from", "2026-09-15", "--to", "2026-10-31", "--chart", str(chart),
                          url=archive_url)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [f"report not made: --chart: there is no folder {chart.parent}"]
