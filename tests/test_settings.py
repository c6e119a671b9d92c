"""Settings: each default written once, the Temporal connection from Temporal's own configuration."""

from __future__ import annotations

import inspect
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client

from complaints.infra.settings import PROJECT_DIR, SettingError, Settings
from complaints.infra.temporal import connect
from tests.conftest import TEST_KEY


def test_an_empty_environment_gives_the_fields_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.connect_options() == {"target_host": "localhost:7233", "namespace": "default",
                                          "api_key": None, "tls": False}
    assert settings.db_url == f"sqlite:///{PROJECT_DIR / '.data' / 'complaints.db'}"
    assert settings.codec_key_file == PROJECT_DIR / ".data" / "codec.keys"


def test_the_data_dir_moves_the_archive_and_the_key_file_unless_they_are_set(tmp_path: Path) -> None:
    moved = Settings.from_env({"COMPLAINTS_DATA_DIR": str(tmp_path)})
    assert (moved.db_url, moved.codec_key_file) == (f"sqlite:///{tmp_path / 'complaints.db'}", tmp_path / "codec.keys")
    own = Settings.from_env({"COMPLAINTS_DATA_DIR": str(tmp_path), "COMPLAINTS_DB_URL": "postgresql://db/x",
                             "COMPLAINTS_CODEC_KEY_FILE": "/run/secrets/keys"})
    assert (own.db_url, own.codec_key_file) == ("postgresql://db/x", Path("/run/secrets/keys"))


def test_an_api_key_turns_tls_on_as_temporal_cloud_needs() -> None:
    settings = Settings.from_env({"TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233", "TEMPORAL_NAMESPACE": "ns.acct",
                                  "TEMPORAL_API_KEY": "secret-key"})
    assert settings.connect_options() == {"target_host": "ns.acct.tmprl.cloud:7233", "namespace": "ns.acct",
                                          "api_key": "secret-key", "tls": True}


def test_an_empty_variable_counts_as_unset() -> None:
    """The compose file passes `TEMPORAL_API_KEY: ${TEMPORAL_API_KEY:-}`: empty must not turn TLS on."""
    settings = Settings.from_env({"TEMPORAL_API_KEY": "", "TEMPORAL_TLS": "", "COMPLAINTS_API_PORT": ""})
    assert settings.temporal_api_key is None and settings.temporal_tls is False and settings.api_port == 8000


def test_a_profile_of_temporals_config_file(tmp_path: Path) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text('[profile.prod]\naddress = "temporal.firm.internal:7233"\nnamespace = "complaints"\n'
                      '[profile.prod.tls]\n')
    settings = Settings.from_env({"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "prod"})
    assert settings.temporal_address == "temporal.firm.internal:7233"
    assert settings.temporal_namespace == "complaints" and settings.temporal_tls


def test_a_bad_value_is_refused_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="^COMPLAINTS_API_PORT: not a valid api port$"):
        Settings.from_env({"COMPLAINTS_API_PORT": "eighty"})
    with pytest.raises(SettingError, match="TEMPORAL_CONFIG_FILE"):
        Settings.from_env({"TEMPORAL_CONFIG_FILE": str(tmp_path / "missing.toml")})


def test_the_worker_runs_at_most_its_workflow_task_slots_at_once() -> None:
    """Not the SDK's 500: a starved worker that took that many ran them past their timeout (tests/faults)."""
    from worker import runner

    assert runner(Settings()) == {"max_concurrent_workflow_tasks": 16}
    assert runner(Settings.from_env({"COMPLAINTS_WORKFLOW_TASK_SLOTS": "4"}))["max_concurrent_workflow_tasks"] == 4
    for bad in ("0", "many", "-2"):
        with pytest.raises(SettingError, match="^COMPLAINTS_WORKFLOW_TASK_SLOTS: not a valid workflow task slots$"):
            Settings.from_env({"COMPLAINTS_WORKFLOW_TASK_SLOTS": bad})


def test_the_connect_options_are_client_connect_arguments() -> None:
    assert set(Settings().connect_options()) <= set(inspect.signature(Client.connect).parameters)


def test_the_api_does_not_start_on_a_bad_rules_file(tmp_path):
    from complaints.api.app import create_app

    file = tmp_path / "rules.toml"
    file.write_text("[urgent]\nmedia = \"x\"\n", encoding="utf-8")
    with pytest.raises(SettingError, match="urgent.media must be a list"):
        create_app(Settings(codec_keys="k1:" + "A" * 43 + "=", rules_file=str(file), data_dir=tmp_path))


async def test_a_server_still_starting_is_waited_for_and_any_other_failure_is_not(monkeypatch) -> None:
    """Between opening its port and serving, a frontend refuses clients as "not healthy yet": the
    worker, the API and the demo started beside it wait for it; a server that is not there fails at once."""
    starting = RuntimeError('Failed client connect: Status { code: Unavailable, message: "Frontend is not healthy yet" }')
    answers: list = [starting, starting, "client"]

    async def answer(**_: object) -> object:
        said = answers.pop(0)
        if isinstance(said, Exception):
            raise said
        return said

    monkeypatch.setattr(Client, "connect", answer)
    settings = Settings(codec_keys=TEST_KEY)
    assert await connect(settings) == "client" and answers == []
    answers[:] = [RuntimeError("Failed client connect: connection refused"), "client"]
    with pytest.raises(RuntimeError, match="connection refused"):
        await connect(settings)
    answers[:] = [starting, "client"]  # the API tries once and answers 503 while it keeps trying
    with pytest.raises(RuntimeError, match="not healthy yet"):
        await connect(settings, wait=timedelta(0))
