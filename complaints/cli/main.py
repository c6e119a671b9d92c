"""The `complaints` command: operators' tools over the same client and models as the API."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from complaints.infra.db import engine_for
from complaints.infra.migrations import current, head, upgrade
from complaints.infra.settings import Settings


class ExitingTyper(typer.Typer):
    """Ends the process with os._exit once a command is done: Temporal's core threads can crash
    a normal interpreter exit (TEMPORAL-NOTES, "Short-lived client processes")."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        code = 1
        try:
            super().__call__(*args, **kwargs)
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else int(done.code is not None)
            if isinstance(done.code, str):
                print(done.code, file=sys.stderr)
        except KeyboardInterrupt:
            code = 130
        except Exception as error:  # noqa: BLE001 - one masked line, never a traceback
            from complaints.infra.logging import mask

            print(f"error: {type(error).__name__}: {mask(str(error))}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


app = ExitingTyper(help="complaintflow: operate the complaint desk.", no_args_is_help=True)
db_app = typer.Typer(help="The archive's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the archive's schema up to date (safe to run again)."""
    engine = engine_for(Settings.from_env().db_url)
    before = current(engine)
    upgrade(engine)
    typer.echo(f"archive schema: {before or 'empty'} -> {head()}")


@app.command("setup")
def setup() -> None:
    """Register the search attributes on an existing Temporal cluster (safe to run again)."""
    import asyncio

    from complaints.infra.temporal import connect, register_search_attributes
    from workflows.visibility import ALL

    async def register() -> list[str]:
        return await register_search_attributes(await connect(Settings.from_env()), ALL)

    added = asyncio.run(register())
    typer.echo(f"search attributes added: {', '.join(added)}" if added else "search attributes: all present")


from complaints.cli.report import report  # noqa: E402 - each command group in its own module
app.command("report")(report)

from complaints.cli import operate  # noqa: E402 - the operators' commands: serve, status, list, act, ...

operate.register(app)
db_app.command("reconcile")(operate.reconcile)
