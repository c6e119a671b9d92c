"""Configuration from the environment (contract section 1), read once per process.

Each default is written once, on its field; `from_env` passes only what the environment sets.
The connection to Temporal comes from Temporal's own environment configuration
(`temporalio.envconfig`): `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
`TEMPORAL_TLS` and its certificate settings, or a profile of `TEMPORAL_CONFIG_FILE`
(`TEMPORAL_PROFILE`), so a production cluster with TLS or an API key needs no code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from temporalio.envconfig import ClientConfigProfile
from temporalio.service import TLSConfig

from complaints.domain.classify.vocabulary import FirmRules
from complaints.domain.models import EMERGENCY_TEAM_ID
from complaints.domain.people import People

PROJECT_DIR = Path(__file__).resolve().parents[2]


class SettingError(ValueError):
    """A setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class Settings:
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_api_key: str | None = None
    temporal_tls: bool | TLSConfig = False
    task_queue: str = "complaints"
    data_dir: Path = PROJECT_DIR / ".data"
    """Never the working directory: a command run elsewhere would read another archive and
    look for keys that are not there."""
    db_url: str = ""
    """The archive; empty: the SQLite file `complaints.db` in `data_dir`."""
    api_port: int = 8000
    ui_port: int = 8233
    policy_file: str | None = None
    holiday_file: str | None = None
    codes_file: str | None = None
    """The JR/T 0169-2018 code table; empty: the one shipped in complaints/domain/codes."""
    institution_name: str = "(name not set: COMPLAINTS_INSTITUTION_NAME)"
    """The institution's name at the head of the regulator's quarterly return; the default says
    what to set rather than file a return under a wrong name."""
    rules_file: str | None = None
    """A firm's own classification words (TOML, see `FirmRules`); empty: the built-in ones."""
    codec_keys: str | None = None
    codec_key_file: Path | None = None
    """Empty: `codec.keys` in `data_dir`."""
    api_keys: str | None = None
    evidence_dir: Path | None = None
    """Where evidence files are kept, sealed; empty: `evidence` in `data_dir`."""
    emergency_team_id: str = EMERGENCY_TEAM_ID
    rpc_timeout: timedelta = timedelta(seconds=20)
    """How long the API and the CLI wait for a worker to answer a query or an update."""
    smtp_url: str | None = None
    """`smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://...` (implicit TLS)."""
    smtp_require_tls: bool = False
    """Refuse to send mail over a connection that stays plain."""
    mail_from: str = "complaints@localhost"
    sms_webhook_url: str | None = None
    emergency_webhook_url: str | None = None
    webhook_secret: str | None = None
    """Signs the SMS webhook's bodies (HMAC-SHA256)."""
    templates_dir: Path | None = None
    """Overrides the packaged notice templates file by file."""
    team_mail: str | None = None
    """Where handlers' warnings and managers' notices go until people have their own addresses."""
    firm_name: str | None = None
    """The firm's name, which every written decision must carry."""
    regulator_hotline: str = "12378"
    """The financial regulator's complaint hotline a written decision names."""
    web_ui_url: str = "http://localhost:8233"
    """The Temporal Web UI as the emergency team reaches it: the alert links to the complaint there."""
    metrics_address: str | None = None
    """host:port of the worker's Prometheus page (Temporal's metrics and ours); unset: none."""
    workflow_sandbox: bool = True
    """Run workflow code in Temporal's sandbox, which refuses a non-deterministic call as it
    happens and imports the workflow modules afresh for every complaint. The test suite always
    runs it; a worker without it spends about a fifth less CPU per complaint (bench/README.md)."""
    workflow_task_slots: int = 16
    """Workflow tasks a worker runs at once (the SDK's default is 500). The worker's Python runs
    one at a time anyway; more taken at once only queue inside it, and after a restart with many
    complaints due they ran past their 10 s timeout and were run again (tests/faults). With 16 the
    rest wait on the server, where no clock runs against them."""
    people_file: str | None = None
    """The firm's people and teams (TOML, see `People`); unset: bare roles, names taken from the body."""

    def __post_init__(self) -> None:
        if not self.db_url:
            object.__setattr__(self, "db_url", f"sqlite:///{self.data_dir / 'complaints.db'}")
        if self.codec_key_file is None:
            object.__setattr__(self, "codec_key_file", self.data_dir / "codec.keys")
        if self.evidence_dir is None:
            object.__setattr__(self, "evidence_dir", self.data_dir / "evidence")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives; an empty variable counts as unset."""
        env = {var: value for var, value in (os.environ if environ is None else environ).items() if value}
        given: dict[str, Any] = {}
        for var, (name, read) in ENVIRONMENT.items():
            if var in env:
                try:
                    given[name] = read(env[var])
                except ValueError:
                    raise SettingError(f"{var}: not a valid {name.replace('_', ' ')}") from None
        return cls(**given, **temporal_connection(env))

    def connect_options(self) -> dict[str, Any]:
        """`Client.connect` keyword arguments besides the data converter."""
        return {"target_host": self.temporal_address, "namespace": self.temporal_namespace,
                "api_key": self.temporal_api_key, "tls": self.temporal_tls}


def temporal_connection(env: Mapping[str, str]) -> dict[str, Any]:
    """The Temporal connection settings that the environment (or its config file) gives."""
    named = env.get("TEMPORAL_CONFIG_FILE")
    if named and not Path(named).is_file():
        raise SettingError(f"TEMPORAL_CONFIG_FILE: no such file {named}")
    try:
        profile = ClientConfigProfile.load(profile=env.get("TEMPORAL_PROFILE"), override_env_vars=env)
    except Exception as err:  # noqa: BLE001 - the SDK's loader raises its own errors for a bad file or value
        raise SettingError(f"Temporal connection settings (TEMPORAL_* or TEMPORAL_CONFIG_FILE): {err}") from None
    options = profile.to_client_connect_config()
    given = {"temporal_address": options.get("target_host"), "temporal_namespace": options.get("namespace"),
             "temporal_api_key": options.get("api_key"), "temporal_tls": options.get("tls")}
    return {name: value for name, value in given.items() if value not in (None, "")}


NOTICE_CHANNELS = {"COMPLAINTS_SMTP_URL": "smtp_url", "COMPLAINTS_SMS_WEBHOOK_URL": "sms_webhook_url",
                   "COMPLAINTS_EMERGENCY_WEBHOOK_URL": "emergency_webhook_url", "COMPLAINTS_TEAM_MAIL": "team_mail"}
"""The setting each channel of notices needs; a channel without it keeps its notices pending."""


def unconfigured_channels(settings: Settings) -> list[str]:
    """The notice channels' settings missing here, for the worker's start, `/readyz` and the CLI."""
    return [name for name, attribute in NOTICE_CHANNELS.items() if not getattr(settings, attribute)]


@cache
def firm_rules(path: str | None) -> FirmRules:
    """The classification words of the rules file at `path`, read once per process."""
    if not path:
        return FirmRules()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise SettingError(f"COMPLAINTS_RULES_FILE: cannot read {path} ({err.strerror})") from None
    try:
        return FirmRules.parse(text, source=f"COMPLAINTS_RULES_FILE {path}")
    except ValueError as err:
        raise SettingError(str(err)) from None


@cache
def people_of(path: str | None) -> People | None:
    """The people of the file at `path`, read once per process; None when no people file is set."""
    if not path:
        return None
    try:
        return People.load(path)
    except ValueError as err:
        raise SettingError(f"COMPLAINTS_PEOPLE_FILE: {err}") from None


def _seconds(text: str) -> timedelta:
    return timedelta(seconds=float(text))


def _flag(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _count(text: str) -> int:
    """A whole number of at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


def _address(text: str) -> str:
    """host:port, the port a number a server can bind."""
    _, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(text)
    return text


ENVIRONMENT: dict[str, tuple[str, Callable[[str], Any]]] = {
    "COMPLAINTS_TASK_QUEUE": ("task_queue", str),
    "COMPLAINTS_DATA_DIR": ("data_dir", Path),
    "COMPLAINTS_DB_URL": ("db_url", str),
    "COMPLAINTS_API_PORT": ("api_port", int),
    "TEMPORAL_UI_PORT": ("ui_port", int),
    "COMPLAINTS_POLICY_FILE": ("policy_file", str),
    "COMPLAINTS_HOLIDAY_FILE": ("holiday_file", str),
    "COMPLAINTS_CODES_FILE": ("codes_file", str),
    "COMPLAINTS_INSTITUTION_NAME": ("institution_name", str),
    "COMPLAINTS_RULES_FILE": ("rules_file", str),
    "COMPLAINTS_CODEC_KEYS": ("codec_keys", str),
    "COMPLAINTS_CODEC_KEY_FILE": ("codec_key_file", Path),
    "COMPLAINTS_API_KEYS": ("api_keys", str),
    "COMPLAINTS_EVIDENCE_DIR": ("evidence_dir", Path),
    "COMPLAINTS_EMERGENCY_TEAM_ID": ("emergency_team_id", str),
    "COMPLAINTS_RPC_TIMEOUT": ("rpc_timeout", _seconds),
    "COMPLAINTS_SMTP_URL": ("smtp_url", str),
    "COMPLAINTS_SMTP_REQUIRE_TLS": ("smtp_require_tls", _flag),
    "COMPLAINTS_MAIL_FROM": ("mail_from", str),
    "COMPLAINTS_SMS_WEBHOOK_URL": ("sms_webhook_url", str),
    "COMPLAINTS_EMERGENCY_WEBHOOK_URL": ("emergency_webhook_url", str),
    "COMPLAINTS_WEBHOOK_SECRET": ("webhook_secret", str),
    "COMPLAINTS_TEMPLATES_DIR": ("templates_dir", Path),
    "COMPLAINTS_TEAM_MAIL": ("team_mail", str),
    "COMPLAINTS_WEB_UI_URL": ("web_ui_url", str),
    "COMPLAINTS_FIRM_NAME": ("firm_name", str),
    "COMPLAINTS_REGULATOR_HOTLINE": ("regulator_hotline", str),
    "COMPLAINTS_METRICS_ADDRESS": ("metrics_address", _address),
    "COMPLAINTS_WORKFLOW_SANDBOX": ("workflow_sandbox", _flag),
    "COMPLAINTS_WORKFLOW_TASK_SLOTS": ("workflow_task_slots", _count),
    "COMPLAINTS_PEOPLE_FILE": ("people_file", str),
}
"""The service's own variables, each to its field."""

TEMPORAL_VARIABLES = ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS")
"""Temporal's own variables a deployment sets (envconfig also reads TEMPORAL_PROFILE,
TEMPORAL_CONFIG_FILE and the TEMPORAL_TLS_* certificate settings)."""
