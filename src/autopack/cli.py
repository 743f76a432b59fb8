"""The `autopack` command line: serve and migrate here; each area brings its own commands (`<area>/cli.py`)."""

from __future__ import annotations

import shutil

import typer

from autopack.audit.cli import app as audit_app
from autopack.auth.cli import apikeys_app, keys_app, users_app
from autopack.ops.cli import backup_command, restore_command
from autopack.remote.commands import add_remote_commands
from autopack.telegram.cli import app as telegram_app
from autopack.tenants.cli import app as tenants_app

LOCAL_PANEL = "Local (this machine: its database, keys and files)"
app = typer.Typer(help="Autopack control plane.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(tenants_app, name="tenants")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(telegram_app, name="telegram")
add_remote_commands(app)
app.command("backup")(backup_command)
app.command("restore")(restore_command)


@app.command()
def migrate(revision: str = typer.Argument("heads", help="Alembic revision to upgrade to.")) -> None:
    """Apply database migrations (creates the SQLite file on first use)."""
    from autopack.core.database import get_engine
    from autopack.core.migrate import current_revisions, upgrade

    engine = get_engine()
    if _adopt_reference(engine):
        engine = get_engine()
    upgrade(engine, revision)
    typer.echo(f"database at revision {', '.join(sorted(current_revisions(engine)))}")


def _adopt_reference(engine) -> bool:
    """Upgrade a database the reference server created in place (see autopack.ops.adopt)."""
    from autopack.core.database import reset_engine
    from autopack.ops.adopt import ARCHIVE_PREFIX, ARCHIVE_SCHEMA, adopt, is_reference

    with engine.connect() as conn:
        if not is_reference(conn):
            return False
    copied = adopt(engine)
    reset_engine()
    kept = f"schema {ARCHIVE_SCHEMA}" if engine.dialect.name == "postgresql" else f"tables {ARCHIVE_PREFIX}*"
    typer.echo(f"adopted a reference database: copied {', '.join(f'{n} {t}' for t, n in copied.items())}; "
               f"its original tables are kept unchanged as {kept}")
    return True


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes."),
    migrate_first: bool = typer.Option(False, "--migrate", help="Apply migrations before serving."),
) -> None:
    """Run the API server with uvicorn (transport bounds and proxy-header trust from settings)."""
    import uvicorn

    from autopack.core.transport import server_options

    try:
        options = server_options()
    except ValueError as exc:  # a malformed AUTOPACK_TRUSTED_PROXIES must stop the start, not be ignored
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if migrate_first:
        migrate("heads")
    metrics_dir = _multiprocess_metrics_dir() if workers > 1 else None
    try:
        uvicorn.run("autopack.main:app", host=host, port=port, workers=workers, access_log=False, **options)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _multiprocess_metrics_dir() -> str | None:
    """A fresh PROMETHEUS_MULTIPROC_DIR under the data dir for the workers (None when one is set already)."""
    import os
    import tempfile

    from autopack.core.settings import get_settings

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None  # the operator's own directory: theirs to empty between starts
    parent = get_settings().data_dir / "prometheus"
    parent.mkdir(parents=True, exist_ok=True)
    # One per serve: two servers sharing a data dir must not add up, or wipe, each other's files.
    folder = tempfile.mkdtemp(prefix="serve-", dir=parent)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # the workers inherit it before importing the app
    return folder


# Everything registered without a panel is a local command: --help shows the two kinds apart.
for _info in [*app.registered_commands, *app.registered_groups]:
    _info.rich_help_panel = _info.rich_help_panel or LOCAL_PANEL


if __name__ == "__main__":  # pragma: no cover
    app()
