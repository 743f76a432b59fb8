"""`autopack backup PATH` and `autopack restore PATH`."""

from __future__ import annotations

from pathlib import Path

import typer


def backup_command(
    path: Path = typer.Argument(..., help="The archive to write (a new file, e.g. autopack-2026-01-10.tar.gz)."),
) -> None:
    """Back up the database and the data directory's keys into one archive (while the server runs)."""
    from autopack.ops.backup import backup
    from autopack.ops.dump import BackupError

    try:
        outcome = backup(path)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if outcome.database == "postgresql":
        typer.echo("PostgreSQL: the database was dumped with pg_dump (custom format)")
    else:
        typer.echo("SQLite: the database was copied with SQLite's online backup API")
    typer.echo(f"backup written to {path} (revisions {', '.join(outcome.revisions)}; "
               f"{len(outcome.files)} data file(s))")


def restore_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="An archive from `autopack backup`."),
) -> None:
    """Restore an archive into an empty data directory (and, on PostgreSQL, an empty database)."""
    from autopack.core.migrate import head_revisions
    from autopack.ops.backup import restore
    from autopack.ops.dump import BackupError

    try:
        outcome = restore(path)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    how = "pg_restore" if outcome.database == "postgresql" else "the SQLite file"
    typer.echo(f"restored the {outcome.database} database ({how}) and {len(outcome.files)} data file(s)")
    if set(outcome.revisions) != set(head_revisions()):
        typer.echo("the backup is from an earlier version: run `autopack migrate` before serving")
