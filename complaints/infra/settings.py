"""Configuration from the environment (contract section 1), read once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from complaints.domain.models import EMERGENCY_TEAM_ID


PROJECT_DIR = Path(__file__).resolve().parents[2]


def _data_dir() -> Path:
    """`COMPLAINTS_DATA_DIR`, else `.data` in the project: never the working directory, or a
    command run elsewhere would read another archive and look for keys that are not there."""
    return Path(os.environ.get("COMPLAINTS_DATA_DIR") or PROJECT_DIR / ".data")


@dataclass(frozen=True)
class Settings:
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "complaints"
    db_url: str = ""
    api_port: int = 8000
    ui_port: int = 8233
    policy_file: str | None = None
    holiday_file: str | None = None
    codec_keys: str | None = None
    codec_key_file: Path = field(default_factory=lambda: _data_dir() / "codec.keys")
    api_keys: str | None = None
    data_dir: Path = field(default_factory=_data_dir)
    emergency_team_id: str = EMERGENCY_TEAM_ID
    rpc_timeout: timedelta = timedelta(seconds=20)
    """How long the API and the CLI wait for a worker to answer a query or an update."""

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        data_dir = _data_dir()
        return cls(
            temporal_address=env("TEMPORAL_ADDRESS", "localhost:7233"),
            temporal_namespace=env("TEMPORAL_NAMESPACE", "default"),
            task_queue=env("COMPLAINTS_TASK_QUEUE", "complaints"),
            db_url=env("COMPLAINTS_DB_URL") or f"sqlite:///{data_dir / 'complaints.db'}",
            api_port=int(env("COMPLAINTS_API_PORT", "8000")),
            ui_port=int(env("TEMPORAL_UI_PORT", "8233")),
            policy_file=env("COMPLAINTS_POLICY_FILE") or None,
            holiday_file=env("COMPLAINTS_HOLIDAY_FILE") or None,
            codec_keys=env("COMPLAINTS_CODEC_KEYS") or None,
            codec_key_file=Path(env("COMPLAINTS_CODEC_KEY_FILE") or data_dir / "codec.keys"),
            api_keys=env("COMPLAINTS_API_KEYS") or None,
            data_dir=data_dir,
            emergency_team_id=env("COMPLAINTS_EMERGENCY_TEAM_ID") or EMERGENCY_TEAM_ID,
            rpc_timeout=timedelta(seconds=float(env("COMPLAINTS_RPC_TIMEOUT", "20"))),
        )
