"""The `complaints` command: operators' tools over the same client and models as the API."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from complaints.infra.archive import archive_for
from complaints.infra.codec import KEYS_SETTING, create_key_file, load_keys, new_key_entry, rotate_key_file
from complaints.infra.migrations import current, head, upgrade
from complaints.infra.settings import SettingError, Settings


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
        except SettingError as refused:  # a bad setting, no codec key among them: the one to fix, in one line
            print(f"complaints: {refused}", file=sys.stderr)
            code = 2
        except Exception as error:  # noqa: BLE001 - one masked line, never a traceback
            from complaints.infra.logging import mask

            print(f"error: {type(error).__name__}: {mask(str(error))}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


app = ExitingTyper(help="complaintflow: operate the complaint desk.", no_args_is_help=True)
db_app = typer.Typer(help="The archive's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="The codec keys, which seal payloads, archive fields and evidence files.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the archive's schema up to date (safe to run again); the codec keys seal what an older
    archive kept plain."""
    engine = archive_for(Settings.from_env()).engine
    before = current(engine)
    upgrade(engine)
    typer.echo(f"archive schema: {before or 'empty'} -> {head()}")


@db_app.command("reencrypt")
def db_reencrypt(batch: int = typer.Option(500, min=1, max=10_000, help="rows a transaction")) -> None:
    """Re-seal the archive's personal fields and the evidence files under the current codec key, in
    batches with progress (safe to stop and run again); then older keys can be retired."""
    from complaints.infra.evidence import Folder
    from complaints.infra.rekey import reseal_files, reseal_rows

    settings = Settings.from_env()
    archive = archive_for(settings)
    moved = {}
    for step in [*reseal_rows(archive, batch), *reseal_files(archive, Folder(settings.evidence_dir))]:
        typer.echo(f"{step.what}: {step.done}/{step.total} read, {step.moved} re-sealed", err=True)
        moved[step.what] = step.moved
    typer.echo(f"re-sealed under key {archive.sealer.current_key_id}: {moved.get('complaints', 0)} complaints, "
               f"{moved.get('evidence files', 0)} evidence files")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new codec key as the current one; what older keys sealed stays readable while they stay listed."""
    settings = Settings.from_env()
    if settings.codec_keys:  # the keys live in the environment: say what to set
        load_keys(settings.codec_keys, settings.codec_key_file)  # a list that cannot be used is not extended
        typer.echo(",".join([new_key_entry(), *settings.codec_keys.replace(",", "\n").split()]))
        typer.echo(f"set {KEYS_SETTING} of every process to this list (the new key first, every old one kept), "
                   "restart them, then run `complaints db reencrypt`", err=True)
        return
    kid = rotate_key_file(settings.codec_key_file)
    typer.echo(f"codec key {kid} added to {settings.codec_key_file} as the current key, older keys kept; restart "
               "the worker and the API (every process reading this file), then run `complaints db reencrypt`")


@app.command("setup")
def setup(new_codec_key: bool = typer.Option(
        False, "--new-codec-key",
        help="instead: make a codec key; the key file COMPLAINTS_CODEC_KEY_FILE when no key is configured, "
             "else print a new entry to add to the keys in use")) -> None:
    """Register the search attributes and the retention and prevention schedules on an existing
    Temporal cluster (safe to run again);
    with --new-codec-key, make a codec key instead."""
    import asyncio

    from complaints.domain.policy import Policy, PolicyError
    from complaints.infra.temporal import connect, ensure_schedules, register_search_attributes
    from workflows.visibility import ALL

    settings = Settings.from_env()
    if new_codec_key:
        make_codec_key(settings)
        return

    try:
        policy = Policy.load(settings.policy_file)
    except PolicyError as err:
        typer.echo(f"setup not done: {err}", err=True)
        raise typer.Exit(2) from None

    async def register() -> tuple[list[str], dict[str, bool]]:
        client = await connect(settings)
        return (await register_search_attributes(client, ALL),
                await ensure_schedules(client, settings.task_queue, policy))

    added, schedules = asyncio.run(register())
    typer.echo(f"search attributes added: {', '.join(added)}" if added else "search attributes: all present")
    for name, created in schedules.items():
        typer.echo(f"schedule {name}: {'created' if created else 'present'}")


def make_codec_key(settings: Settings) -> None:
    """The one command that makes a codec key (besides the project's `make install`): every other process
    refuses to start without a configured one, so a stray key cannot seal complaints."""
    if settings.codec_keys or settings.codec_key_file.exists():  # keys in use: an entry to add, for rotation
        typer.echo(new_key_entry())
        typer.echo(f"a new codec key: add it to {KEYS_SETTING if settings.codec_keys else settings.codec_key_file} "
                   "of every process, after the current key until all know it, then first", err=True)
        return
    kid = create_key_file(settings.codec_key_file)
    typer.echo(f"codec key {kid} made in {settings.codec_key_file}; keep a copy: a lost key is lost complaints")


from complaints.cli.report import report  # noqa: E402 - each command group in its own module
app.command("report")(report)

from complaints.cli import operate  # noqa: E402 - the operators' commands: serve, status, list, act, ...

operate.register(app)
db_app.command("reconcile")(operate.reconcile)

from complaints.cli.drill import drill  # noqa: E402 - emergency drills
app.command("drill")(drill)

from complaints.cli import casefile  # noqa: E402 - the case file: show, audit

casefile.register(app)

from complaints.cli import prevention  # noqa: E402 - prevention alarms: list, ack

app.add_typer(prevention.app, name="prevention")
