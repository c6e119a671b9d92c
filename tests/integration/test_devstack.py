"""`make run` as a new user meets it: up with demo complaints, down on Ctrl-C, up again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import binary
from tests.devserver import free_port

ROOT = Path(__file__).resolve().parents[2]


def run_stack(env: dict[str, str]) -> tuple[subprocess.Popen, list[str]]:
    process = subprocess.Popen([sys.executable, "-m", "complaints.devstack"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []
    deadline = time.time() + 120
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C stops everything" in line:
            return process, lines
    process.kill()
    raise AssertionError("make run did not come up:\n" + "".join(lines))


def get(url: str, key: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, json.loads(answer.read())


def post(url: str, key: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def decide(api: str, complaint_id: str, key: str) -> dict:
    """The demo complaint waiting in `solution` carried out and accepted: its letter goes out."""
    post(f"{api}/complaints/{complaint_id}/record_execution", key, {"result": "done"})  # the key's person acts
    return post(f"{api}/complaints/{complaint_id}/record_feedback", key, {"accepted": True})


def until_mail(maildir: str, *parts: str, timeout: float = 30) -> None:
    """Wait for a mail in the sink's Maildir whose text holds every one of `parts`."""
    deadline = time.time() + timeout
    while not any(all(p in m.read_text(errors="replace") for p in parts) for m in Path(maildir).glob("*")):
        assert time.time() < deadline, f"no mail with {parts} in {maildir}"
        time.sleep(0.2)


def test_make_run_starts_everything_with_demo_complaints_and_stops_cleanly_twice(tmp_path):
    ports = {"temporal": free_port(), "ui": free_port(), "api": free_port(), "metrics": free_port()}
    env = dict(os.environ, COMPLAINTS_DATA_DIR=str(tmp_path / "data"),
               TEMPORAL_ADDRESS=f"127.0.0.1:{ports['temporal']}", TEMPORAL_UI_PORT=str(ports["ui"]),
               COMPLAINTS_API_PORT=str(ports["api"]), COMPLAINTS_METRICS_ADDRESS=f"127.0.0.1:{ports['metrics']}")
    for own in ("COMPLAINTS_DB_URL", "COMPLAINTS_API_KEYS", "COMPLAINTS_SMTP_URL"):
        env.pop(own, None)
    for attempt in (1, 2):
        process, lines = run_stack(env)
        try:
            output = "".join(lines)
            assert f"http://localhost:{ports['ui']}" in output and f"http://localhost:{ports['api']}" in output
            handler_key = next(line.split()[1] for line in lines if line.strip().startswith("handler "))
            ids = next(line for line in lines if "demo complaints:" in line).split(":", 1)[1].split(", ")
            assert len(ids) == 6
            status, body = get(f"http://127.0.0.1:{ports['api']}/complaints/{ids[2].strip()}", handler_key)
            assert status == 200 and body["stage"] == ("solution" if attempt == 1 else "revisit")  # decided below
            maildir = next(line.split()[1] for line in lines if line.strip().startswith("mail "))
            assert maildir == str(tmp_path / "data" / "mail" / "new") + "/"
            # the demo's e-mail complainant's acknowledgement, in the sink's Maildir
            until_mail(maildir, f"Message-ID: <{ids[2].strip()}-1-acknowledgement@localhost>")
            if attempt == 1:  # the demo's firm signs the letter: decided, it is mailed, not refused and escalated
                decided = decide(f"http://127.0.0.1:{ports['api']}", ids[2].strip(), handler_key)
                assert decided["stage"] == "revisit"
                until_mail(maildir, f"<{ids[2].strip()}-", "-decision@localhost>")
            assert get(f"http://127.0.0.1:{ports['api']}/healthz")[0] == 200
            assert f"workbench         http://localhost:{ports['api']}/desk " in output
            with urllib.request.urlopen(f"http://127.0.0.1:{ports['api']}/desk", timeout=10) as desk:
                assert desk.url.endswith("/desk/signin") and 'name="key"' in desk.read().decode()
            worker_metrics = f"http://127.0.0.1:{ports['metrics']}/metrics"
            assert worker_metrics in output and f"API http://localhost:{ports['api']}/metrics" in output
            with urllib.request.urlopen(worker_metrics, timeout=10) as page:
                text = page.read().decode()
            assert "temporal_workflow_task_queue_poll_succeed_total{" in text
            assert get(f"http://127.0.0.1:{ports['metrics']}/readyz") == (200, {
                "ready": True, "failing": [], "checks": {
                    "temporal": "ok", "archive": "ok", "codec": "ok", "worker": "ok",  # mail goes to the local sink:
                    "notices": "pending: channel not configured (COMPLAINTS_SMS_WEBHOOK_URL, "
                               "COMPLAINTS_EMERGENCY_WEBHOOK_URL)"}})
            if attempt == 1:  # the second run finds the demo complaints filed: replayed, not received again
                assert "complaints_received_total{" in text
            with urllib.request.urlopen(f"http://127.0.0.1:{ports['ui']}/", timeout=10) as ui:
                assert ui.status == 200
            schedules = subprocess.run([binary("temporal"), "schedule", "list", "--address", env["TEMPORAL_ADDRESS"]],
                                       capture_output=True, text=True, timeout=30)
            assert "complaints-retention" in schedules.stdout and "complaints-prevention" in schedules.stdout
        except BaseException:  # a failed check must not leave the stack running for later tests
            os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C: the stack stops every server it started
            process.wait(60)
            raise

        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(60) == 0, f"attempt {attempt}: make run did not stop cleanly"
        rest = process.stdout.read()
        assert "stopped temporal" in rest
    assert (tmp_path / "data" / "temporal.db").exists() and (tmp_path / "data" / "codec.keys").exists()
