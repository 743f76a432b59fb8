"""Adopting a database the reference server created: `autopack migrate` upgrades it in place.

A reference database has the reference's tables (`runs`, `tiers`, `phases`, ...) and either no
`alembic_version` or one holding the reference's own revision ids (see `is_reference`). Its tables are first moved aside, untouched (PostgreSQL: into the schema
`autopack_reference`; SQLite: renamed `reference_<name>`, their indexes dropped so ours can take the
names), then the migrations build Autopack's schema and every row of the tables Autopack shares with
the reference is copied in (same ids; naive timestamps read as UTC; our added columns filled the way
migrations 0013/0027 fill them), and the phase counters are recounted. Nothing is deleted: the moved
tables stay as they were. On PostgreSQL all of it is one transaction; on SQLite it runs on a copy
of the file that replaces the original only once it is complete.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import JSON, Connection, Engine, Integer, MetaData, Table, event, inspect, select, text

from autopack.auth.usernames import username_key
from autopack.core.migrate import alembic_config
from autopack.db.base import Base

ARCHIVE_SCHEMA = "autopack_reference"
ARCHIVE_PREFIX = "reference_"
# Tables Autopack keeps under the reference's name and meaning (DECISIONS §3.18), parents first.
SHARED = ("users", "runs", "tiers", "phases", "approval_requests", "governance_requests", "llm_usage_events",
          "token_efficiency_metrics", "phase6_metrics", "ab_test_results", "storage_scans", "cleanup_candidates",
          "approval_decisions", "execution_checkpoints", "learned_rules")
# A table only Autopack's first migration creates: with it, a stamped revision id is ours.
OUR_MARKER = "auditor_results"
# Values for our NOT NULL columns that the reference left empty or never had.
_STORAGE_FILLS = {
    "storage_scans": {"policy_version": "reference", "max_depth": 3, "max_items": 1000},
    "cleanup_candidates": {"category": "unclassified", "reason": ""},
    "execution_checkpoints": {"status": "completed"},
    "learned_rules": {"suggested_category": "unclassified", "confidence_score": 0},
}
_counters = importlib.import_module("autopack.migrations.versions.0019_phase_counters")


def is_reference(conn: Connection) -> bool:
    """True for a database with a `runs` table that Autopack's migrations did not build."""
    names = set(inspect(conn).get_table_names())
    if "runs" not in names:
        return False
    if "alembic_version" not in names:
        return True
    # The reference may stamp its own Alembic revisions in a table of the same name: the database is
    # ours only when every stamped id is a revision of our tree and our first migration's tables are there.
    stamped = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return not (stamped and stamped <= known_revisions() and OUR_MARKER in names)


def known_revisions() -> frozenset[str]:
    """Every revision id of Autopack's migration tree."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(rev.revision for rev in script.walk_revisions("base", "heads"))


def _archive(conn: Connection) -> dict[str, str]:
    """Move every table aside; the archived name (as a select target) of each original name."""
    names = inspect(conn).get_table_names()
    moved = {}
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f'CREATE SCHEMA "{ARCHIVE_SCHEMA}"')
        for name in names:
            conn.exec_driver_sql(f'ALTER TABLE "{name}" SET SCHEMA "{ARCHIVE_SCHEMA}"')
            moved[name] = name
        return moved
    for name in names:
        for index in inspect(conn).get_indexes(name):
            conn.exec_driver_sql(f'DROP INDEX "{index["name"]}"')
        conn.exec_driver_sql(f'ALTER TABLE "{name}" RENAME TO "{ARCHIVE_PREFIX}{name}"')
        moved[name] = ARCHIVE_PREFIX + name
    return moved


def _source(conn: Connection, archived: str) -> Table:
    meta = MetaData()
    schema = ARCHIVE_SCHEMA if conn.dialect.name == "postgresql" else None
    return Table(archived, meta, autoload_with=conn, schema=schema)


def _value(column, value):
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # the reference wrote naive UTC
    if isinstance(value, str) and isinstance(column.type, JSON):
        try:
            return json.loads(value)
        except ValueError:
            return {"_legacy_text": value}
    return value


def _filled(conn: Connection, table: str, row: dict, taken: set[str]) -> dict | None:
    """Our added columns, filled as the migrations that added them fill existing rows (None: not kept)."""
    if table == "users":
        key = username_key(row["username"])
        row["username_key"] = key if key not in taken else f"{key}#{row['id']}"
        taken.add(row["username_key"])
        row.setdefault("token_key", secrets.token_hex(16))
    for name, value in _STORAGE_FILLS.get(table, {}).items():
        row.setdefault(name, value)
    if table == "storage_scans":
        row.setdefault("root", row["scan_target"])  # the reference had no roots: the scan's own target
    if table == "execution_checkpoints":
        # The reference keyed a checkpoint by candidate only; ours also names the scan. A checkpoint of
        # no known candidate cannot be one of ours (its original stays in the kept table).
        candidates = Base.metadata.tables["cleanup_candidates"]
        scan = conn.execute(select(candidates.c.scan_id).where(candidates.c.id == row.get("candidate_id"))
                            ).scalar()
        if scan is None:
            return None
        row["scan_id"] = scan
    return row


def _copy(conn: Connection, moved: dict[str, str]) -> dict[str, int]:
    copied = {}
    for name in SHARED:
        if name not in moved:
            continue
        source, target = _source(conn, moved[name]), Base.metadata.tables[name]
        shared = [c.name for c in source.columns if c.name in target.c]
        taken: set[str] = set()
        rows = []
        for raw in conn.execute(select(*(source.c[n] for n in shared)).order_by(*source.primary_key.columns)):
            row = {k: _value(target.c[k], v) for k, v in raw._mapping.items()}
            # A NULL the reference allowed where we do not: the column's own default.
            for k, v in list(row.items()):
                if v is None and not target.c[k].nullable:
                    del row[k]
            rows.append(_filled(conn, name, row, taken))
        rows = [row for row in rows if row is not None]
        for row in rows:  # one statement a row: rows may leave out different defaulted columns
            conn.execute(target.insert().values(**row))
        copied[name] = len(rows)
    return copied


def _after_copy(conn: Connection) -> None:
    for table, key in (("tiers", "tier_id = tiers.id"), ("runs", "run_id = runs.id")):
        sets = ", ".join(
            f"{name} = (SELECT count(*) FROM phases WHERE {key} AND state IN "
            f"({', '.join(repr(s) for s in states)}))" for name, states in _counters.BUCKETS.items())
        conn.exec_driver_sql(f"UPDATE {table} SET {sets}")
    if conn.dialect.name == "postgresql":  # ids were copied: the sequences must start above them
        for name in SHARED:
            ids = Base.metadata.tables[name].c.get("id")
            if ids is not None and isinstance(ids.type, Integer):
                conn.exec_driver_sql(
                    f"SELECT setval(seq, GREATEST((SELECT max(id) FROM \"{name}\"), 1)) FROM "
                    f"(SELECT pg_get_serial_sequence('\"{name}\"', 'id') AS seq) s WHERE seq IS NOT NULL")


def _adopt_on(conn: Connection) -> dict[str, int]:
    from alembic import command

    moved = _archive(conn)
    cfg = alembic_config(conn.engine.url.render_as_string(hide_password=False))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "heads")
    copied = _copy(conn, moved)
    _after_copy(conn)
    return copied


def adopt(engine: Engine) -> dict[str, int]:
    """Upgrade a reference database in place; rows copied per table."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            return _adopt_on(conn)
    return _adopt_sqlite(engine)


def _adopt_sqlite(engine: Engine) -> dict[str, int]:
    from autopack.core.database import build_engine

    original = Path(engine.url.database or "")
    engine.dispose()
    work = original.with_name(f".{original.name}.adopting")
    work.unlink(missing_ok=True)
    source, copy = sqlite3.connect(original), sqlite3.connect(work)
    try:
        source.backup(copy)
        source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        copy.close()
        source.close()
    scratch = build_engine(f"sqlite:///{work}")

    @event.listens_for(scratch, "connect")
    def _no_foreign_keys(dbapi_conn, _record):  # after build_engine's hook: moving tables must not cascade
        dbapi_conn.execute("PRAGMA foreign_keys=OFF")

    try:
        with scratch.begin() as conn:
            copied = _adopt_on(conn)
    finally:
        scratch.dispose()
    with sqlite3.connect(work) as done:  # one self-contained file before it takes the original's place
        done.execute("PRAGMA journal_mode=DELETE")
    for suffix in ("-wal", "-shm"):
        Path(f"{original}{suffix}").unlink(missing_ok=True)
    os.replace(work, original)
    return copied
