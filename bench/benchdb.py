"""The benchmark's databases: a SQLite file or a throw-away PostgreSQL database, behind one small interface.

PostgreSQL databases are named `autopack_bench_<pid>_<suffix>` on the server of `AUTOPACK_BENCH_PG_URL`
(default `postgresql://postgres@127.0.0.1:5432/postgres`, trust auth) and dropped by `drop()`, which
run.py registers on its ExitStack right after creating them, so Ctrl-C, SIGTERM and errors drop them too.
SQL is written with `?` placeholders (sqlite3's style) and rewritten to `%s` for psycopg.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_ADMIN_URL = os.environ.get("AUTOPACK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
KINDS = ("sqlite", "postgresql")


class Connection:
    """A DB-API connection in autocommit mode with `?` placeholders on both engines."""

    def __init__(self, raw, kind: str):
        self.raw, self.kind = raw, kind

    def _sql(self, sql: str) -> str:
        return sql if self.kind == "sqlite" else sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence = ()):
        """Run one statement; returns the cursor."""
        return self.raw.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        """Run one statement per row."""
        if self.kind == "sqlite":
            self.raw.executemany(sql, rows)
        else:
            with self.raw.cursor() as cur:
                cur.executemany(self._sql(sql), rows)

    def scalar(self, sql: str, params: Sequence = ()):
        """The first column of the first row."""
        return self.execute(sql, params).fetchone()[0]

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction (SQLite: BEGIN IMMEDIATE, so the server's writers wait for it)."""
        if self.kind == "sqlite":
            self.raw.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.raw.execute("ROLLBACK")
                raise
            self.raw.execute("COMMIT")
        else:
            with self.raw.transaction():
                yield self


@dataclass
class BenchDatabase:
    """One database the benchmark creates, serves Autopack on, seeds and finally removes."""

    kind: str
    name: str  # SQLite: the file's path; PostgreSQL: the database's name

    @property
    def label(self) -> str:
        """"SQLite" or "PostgreSQL"."""
        return "SQLite" if self.kind == "sqlite" else "PostgreSQL"

    @property
    def url(self) -> str:
        """DATABASE_URL for the server (settings.py adds the psycopg driver to postgresql://)."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.name}"
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """An autocommit connection (closed on exit)."""
        if self.kind == "sqlite":
            with closing(sqlite3.connect(self.name, timeout=60, isolation_level=None)) as raw:
                raw.execute("PRAGMA busy_timeout=60000")
                yield Connection(raw, self.kind)
        else:
            import psycopg

            with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as raw:
                yield Connection(raw, self.kind)

    def copy_to(self, name: str) -> BenchDatabase:
        """A copy with the same contents (SQLite: backup API; PostgreSQL: CREATE DATABASE ... TEMPLATE).

        PostgreSQL refuses the copy while anyone is connected to this database: copy before serving it.
        """
        if self.kind == "sqlite":
            target = str(Path(self.name).with_name(name + ".db"))
            with closing(sqlite3.connect(self.name, timeout=60)) as src, closing(sqlite3.connect(target)) as dst:
                src.backup(dst)
            return BenchDatabase("sqlite", target)
        copy = BenchDatabase("postgresql", f"{self.name}_{name}")
        _pg_admin(f'CREATE DATABASE "{copy.name}" TEMPLATE "{self.name}"')
        return copy

    def drop(self) -> None:
        """Remove the database (PostgreSQL: DROP ... WITH (FORCE); SQLite files go with the work dir)."""
        if self.kind == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


def pg_reachable() -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    try:
        _pg_admin("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL here
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc}"
    return None


def create(kind: str, work: Path, name: str) -> BenchDatabase:
    """An empty database: a file name in `work`, or `autopack_bench_<pid>_<name>` on PostgreSQL."""
    if kind == "sqlite":
        return BenchDatabase("sqlite", str(work / f"{name}.db"))
    db = BenchDatabase("postgresql", f"autopack_bench_{os.getpid()}_{name}")
    _pg_admin(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{db.name}"')
    return db


def as_database(db: Path | BenchDatabase) -> BenchDatabase:
    """Accept the older callers' SQLite paths."""
    return db if isinstance(db, BenchDatabase) else BenchDatabase("sqlite", str(db))
