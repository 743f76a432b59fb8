"""Database snapshots: SQLite through its online backup API, PostgreSQL through pg_dump / pg_restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from autopack.core.database import build_engine


class BackupError(RuntimeError):
    """A backup or restore that cannot be done as asked (nothing was changed)."""


def backend(url: str) -> str:
    """`sqlite` or `postgresql` for a SQLAlchemy URL (BackupError for anything else)."""
    name = make_url(url).get_backend_name()
    if name not in {"sqlite", "postgresql"}:
        raise BackupError(f"unsupported database backend {name!r}")
    return name


def sqlite_path(url: str) -> Path:
    """The database file of a SQLite URL (in-memory databases cannot be backed up)."""
    database = make_url(url).database or ""
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return Path(database)


def snapshot_sqlite(url: str, target: Path) -> None:
    """Copy the live database into `target` in one step of the online backup API.

    One step is one read transaction: in WAL mode writers go on meanwhile and the copy is the
    database as of one commit. The copy is checked before it is trusted.
    """
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"no SQLite database at {source_path}")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check_sqlite(copy)
    finally:
        copy.close()
        source.close()


def check_sqlite(conn: sqlite3.Connection) -> None:
    """BackupError unless the database passes SQLite's integrity check."""
    result = conn.execute("PRAGMA integrity_check").fetchone()
    if result is None or result[0] != "ok":
        raise BackupError(f"the SQLite copy fails its integrity check: {result and result[0]}")


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that carries it."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)  # never on a command line, where `ps` shows it
    plain = URL.create("postgresql", username=parsed.username, host=parsed.host, port=parsed.port,
                       database=parsed.database, query=parsed.query)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def dump_postgresql(url: str, target: Path) -> None:
    """`pg_dump --format=custom` of the whole database (one consistent snapshot) into `target`."""
    dsn, env = _libpq(url)
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(target),
          "--dbname", dsn], env)


def restore_postgresql(url: str, dump: Path) -> None:
    """Load a pg_dump file into the (empty) database of `url`; stops at the first error."""
    dsn, env = _libpq(url)
    _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          "--dbname", dsn, str(dump)], env)


def tables_in(url: str) -> list[str]:
    """The tables the database of `url` holds now (empty for a fresh one)."""
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()
