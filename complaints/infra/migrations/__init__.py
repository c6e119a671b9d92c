"""The archive's schema migrations (Alembic), run by `complaints db upgrade`.

The worker refuses to start against an archive that is behind, rather than write rows a
newer schema expects into an older one.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

HERE = Path(__file__).parent


class SchemaBehind(RuntimeError):
    """The archive's schema is not at the code's head revision."""


def config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = engine
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(config(None)).get_current_head()  # type: ignore[arg-type]


def current(engine: Engine) -> str | None:
    with engine.connect() as db:
        return MigrationContext.configure(db).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(config(engine), revision)


def require_current_schema(engine: Engine) -> None:
    found, wanted = current(engine), head()
    if found != wanted:
        raise SchemaBehind(
            f"the archive at {engine.url.render_as_string(hide_password=True)} is at schema "
            f"{found or 'none (empty)'}, this code needs {wanted}: run `complaints db upgrade`"
        )
