"""docker-compose.yml, checked without a Docker engine: its shape, its wiring to the code,
and the one-shot archive set-up it runs, against the real PostgreSQL here."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text
from typer.main import get_command

from complaints.cli.main import app
from complaints.infra.migrations import head
from complaints.infra.settings import ENVIRONMENT, TEMPORAL_VARIABLES
from tests.conftest import POSTGRES_URL, binary

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict] = COMPOSE["services"]
RAW = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
SECRET_NAME = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|_KEYS?$", re.IGNORECASE)


def example_env() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))


def resolve(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation, enough for this file: ${VAR}, ${VAR:-default}, ${VAR:?error}."""
    pattern = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-?])((?:[^{}]|\{[^{}]*\})*))?\}")
    while (found := pattern.search(value)) is not None:
        name, kind, rest = found.groups()
        given = env.get(name) or ""
        if not given and kind == "-":
            given = rest
        elif not given and kind == "?":
            raise AssertionError(f"{name} is required: {rest}")
        value = value[:found.start()] + given + value[found.end():]
    return value


def variables_the_code_reads() -> set[str]:
    names: set[str] = set()
    read = re.compile(r"""(?:environ\.get\(|environ\[|getenv\(|\benv\(|envvar=)\s*["']([A-Z][A-Z0-9_]+)["']""")
    for path in [*ROOT.glob("complaints/**/*.py"), ROOT / "worker.py"]:
        if path.name != "devstack.py":  # `make run`'s local launcher never runs in a container
            names |= set(read.findall(path.read_text(encoding="utf-8")))
    return (names | set(ENVIRONMENT) | set(TEMPORAL_VARIABLES)) - {"PATH", "HOME"}  # the image's own


def test_every_service_has_an_image_or_a_build_and_its_dependencies_exist() -> None:
    assert {"postgresql", "temporal", "temporal-ui", "worker", "api"} <= set(SERVICES)
    for name, service in SERVICES.items():
        assert "image" in service or "build" in service, name
        needs = service.get("depends_on", {})
        for target, how in (needs.items() if isinstance(needs, dict) else ((t, {}) for t in needs)):
            assert target in SERVICES and target != name, (name, target)
            condition = how.get("condition", "service_started")
            assert condition in {"service_started", "service_healthy", "service_completed_successfully"}
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{name} waits for {target} to be healthy: it has no check"
            if condition == "service_completed_successfully":
                assert SERVICES[target].get("restart") == "no", f"{target} is a one-shot step"


def test_published_ports_are_unique_and_the_worker_scales() -> None:
    env = example_env()
    published = [resolve(str(p), env).rsplit(":", 1)[0] for s in SERVICES.values() for p in s.get("ports", [])]
    assert len(published) == len(set(published)), published
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker, "--scale worker=N needs neither"
    assert not any("container_name" in s for s in SERVICES.values())
    for name in ("postgresql", "temporal", "api", "worker", "temporal-ui"):
        assert SERVICES[name]["healthcheck"]["test"], name


def test_worker_and_api_get_every_variable_the_code_reads() -> None:
    read = variables_the_code_reads()
    assert {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "COMPLAINTS_DB_URL", "COMPLAINTS_TASK_QUEUE",
            "COMPLAINTS_API_KEYS", "COMPLAINTS_CODEC_KEYS", "COMPLAINTS_API_PORT"} <= read
    for name in ("worker", "api", "complaints-setup"):
        missing = read - set(SERVICES[name]["environment"])
        assert not missing, f"{name} lacks {sorted(missing)}"
    env = example_env()
    api = {k: resolve(str(v), env) for k, v in SERVICES["api"]["environment"].items()}
    assert api["COMPLAINTS_DB_URL"].startswith("postgresql+psycopg://") and "@postgresql:5432/" in api["COMPLAINTS_DB_URL"]
    assert api["TEMPORAL_ADDRESS"] == "temporal:7233" and api["COMPLAINTS_API_HOST"] == "0.0.0.0"
    assert SERVICES["worker"]["environment"] == SERVICES["api"]["environment"], "one configuration for both"


def test_no_literal_secrets_and_every_variable_is_in_the_example() -> None:
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                assert re.fullmatch(r"\$\{[A-Z_]+(:[?-][^}]*)?\}", str(value)), f"{name}.{key} must come from .env"
    assert not re.search(r"://(?:\$\{[^}]*\}|[^:/@\s$]+):(?!\$\{)[^@\s]+@", RAW), "a password written into a URL"
    used = set(VARIABLE.findall(RAW))
    missing = used - set(example_env())
    assert not missing, f".env.example lacks {sorted(missing)}"
    for secret in ("POSTGRES_PASSWORD", "ARCHIVE_DB_PASSWORD", "COMPLAINTS_CODEC_KEYS", "COMPLAINTS_API_KEYS"):
        assert f"${{{secret}:?" in RAW, f"compose must refuse to start without {secret}"
        assert "change-me" in example_env()[secret] or "REPLACE" in example_env()[secret]


def test_temporal_runs_on_postgresql_set_up_by_its_own_admin_tools() -> None:
    schema = SERVICES["temporal-schema"]
    assert schema["image"].startswith("temporalio/admin-tools:")
    script = "\n".join(schema["command"])
    for db in ("temporal", "visibility"):
        assert re.search(rf"update-schema -d /etc/temporal/schema/postgresql/v12/{db}/versioned", script)
    temporal = SERVICES["temporal"]
    assert temporal["image"].startswith("temporalio/server:") and temporal["environment"]["DB"] == "postgres12"
    assert temporal["environment"]["POSTGRES_SEEDS"] == "postgresql"
    assert temporal["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"
    ui = SERVICES["temporal-ui"]["environment"]
    assert resolve(ui["TEMPORAL_CODEC_ENDPOINT"], {}) == "http://localhost:8000/codec"
    assert resolve(ui["TEMPORAL_CODEC_ENDPOINT"], example_env()).endswith("/codec")


def test_the_commands_the_services_run_exist() -> None:
    commands = get_command(app).commands  # type: ignore[attr-defined]
    assert "serve" in commands and "setup" in commands and "upgrade" in commands["db"].commands
    assert SERVICES["api"]["command"] == ["complaints", "serve"]
    assert SERVICES["worker"]["command"] == ["python", "-m", "worker"]
    assert "complaints setup && complaints db upgrade" in SERVICES["complaints-setup"]["command"][-1]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile and "pip install ." in dockerfile
    assert "USER " in dockerfile, "the app does not run as root"


def test_the_archive_database_step_creates_a_role_that_can_migrate() -> None:
    """Runs the archive-db one-shot script as compose would, on this machine's PostgreSQL,
    then the migrations as the role it created; and runs it twice (a restart is harmless)."""
    suffix = uuid.uuid4().hex[:8]
    name, role = f"archive_{suffix}", f"complaints_{suffix}"
    script = SERVICES["archive-db"]["command"][0].replace("$$", "$")
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGUSER": "postgres", "PGDATABASE": "test",
           "ARCHIVE_DB_NAME": name, "ARCHIVE_DB_USER": role, "ARCHIVE_DB_PASSWORD": "pw-" + suffix}
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        for _ in range(2):
            done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
        url = f"postgresql+psycopg://{role}:pw-{suffix}@127.0.0.1:5432/{name}"
        upgraded = subprocess.run([str(Path(sys.executable).parent / "complaints"), "db", "upgrade"],
                                  env={**os.environ, "COMPLAINTS_DB_URL": url}, capture_output=True, text=True,
                                  timeout=120)
        assert upgraded.returncode == 0, upgraded.stderr
        assert upgraded.stdout.strip().endswith(f"-> {head()}")
        with create_engine(url).connect() as db:
            assert db.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit'")).scalar() == role
    finally:
        with admin.connect() as db:
            db.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            db.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


UI_WRITE_ACTIONS = ("TEMPORAL_WORKFLOW_TERMINATE_DISABLED", "TEMPORAL_WORKFLOW_CANCEL_DISABLED",
                    "TEMPORAL_WORKFLOW_RESET_DISABLED", "TEMPORAL_WORKFLOW_UPDATE_DISABLED",
                    "TEMPORAL_BATCH_ACTIONS_DISABLED", "TEMPORAL_START_WORKFLOW_DISABLED",
                    "TEMPORAL_ACTIVITY_COMMANDS_DISABLED")


def ui_setting(variable: str) -> str:
    """The UI server's setting a variable feeds (its config template's naming): workflowResetDisabled, ..."""
    first, *rest = variable.removeprefix("TEMPORAL_").lower().split("_")
    return first + "".join(word.capitalize() for word in rest)


def test_the_web_ui_offers_no_write_action_but_signals() -> None:
    ui = {key: str(value).lower() for key, value in SERVICES["temporal-ui"]["environment"].items()}
    assert {flag: ui.get(flag) for flag in UI_WRITE_ACTIONS} == dict.fromkeys(UI_WRITE_ACTIONS, "true")
    assert ui.get("TEMPORAL_WORKFLOW_SIGNAL_DISABLED") == "false", "managers escalate from the UI"
    assert ui.get("TEMPORAL_DISABLE_WRITE_ACTIONS", "false") == "false", "it would refuse signals and queries too"
    known = Path(binary("temporal")).read_bytes()  # the dev server's UI server (2.54): the settings it reads
    for flag in (*UI_WRITE_ACTIONS, "TEMPORAL_WORKFLOW_SIGNAL_DISABLED"):
        assert f'yaml:"{ui_setting(flag)}"'.encode() in known, f"{flag} is no setting of the Temporal UI"


def test_the_worker_leaves_the_workflow_modules_compiled() -> None:
    """The sandbox imports these afresh for every complaint: from bytecode, not from source,
    even where PYTHONDONTWRITEBYTECODE is set (CI, the image)."""
    from worker import cache_workflow_bytecode

    cache_workflow_bytecode()
    for source in (ROOT / "workflows").glob("*.py"):
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.exists() and compiled.stat().st_mtime >= source.stat().st_mtime, source.name
    assert "compileall -q workflows" in (ROOT / "Dockerfile").read_text(encoding="utf-8")
