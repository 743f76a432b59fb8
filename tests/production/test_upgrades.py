"""Upgrades keep every row: one database walked through every revision, each table filled as it appears."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from autopack.core.migrate import alembic_config, head_revisions, upgrade

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
# Rows the generic filler cannot guess (checks that tie columns together).
OVERRIDES = {
    "runs": {"state": "RUN_CREATED"},
    "tiers": {"state": "PENDING"},
    "phases": {"state": "QUEUED"},
    "model_overrides": {"scope": "global", "scope_key": "global", "run_id": None},
    "audit_events": {"tenant_id": None, "tenant_seq": None, "tenant_prev_hash": None, "tenant_hash": None},
    "autopilot_settings": {"degraded_threshold": 1, "healthy_threshold": 2},
}
_IN_LIST = re.compile(r"\(?\"?(\w+)\"?\)?\s+IN\s*\(([^)]*)\)", re.IGNORECASE)
# PostgreSQL reports `x IN ('a', 'b')` as `(x)::text = ANY ((ARRAY['a'::character varying, ...`
_ANY_ARRAY = re.compile(r"\(?(\w+)\)?::[\w ]+?\s*=\s*ANY\s*\(\(?ARRAY\[('[^']*')")


def _revisions_in_order() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


def _choices(inspector, table: str) -> dict[str, str]:
    """The first allowed literal of every `column IN (...)` check of the table."""
    choices = {}
    for check in inspector.get_check_constraints(table):
        for column, values in _IN_LIST.findall(check["sqltext"]) + _ANY_ARRAY.findall(check["sqltext"]):
            literal = re.search(r"'([^']*)'", values)
            if literal:
                choices.setdefault(column, literal.group(1))
    return choices


def _value(column: sa.Column, choice: str | None):
    if choice is not None:
        return choice
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer | sa.Numeric | sa.Float):
        return 1
    if isinstance(kind, sa.DateTime | sa.TIMESTAMP):
        return NOW
    if isinstance(kind, sa.Date):
        return NOW.date()
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.LargeBinary):
        return b"x"
    length = getattr(kind, "length", None) or 64
    return ("k" * 64)[:length]


def _fill(conn) -> dict[str, list[tuple]]:
    """One row in every table that has none; every table's rows (for comparing after the next step)."""
    meta = sa.MetaData()
    meta.reflect(conn)
    inspector = sa.inspect(conn)
    for table in meta.sorted_tables:
        if table.name == "alembic_version" or conn.execute(sa.select(sa.func.count()).select_from(table)).scalar():
            continue
        choices = _choices(inspector, table.name)
        row = {}
        for column in table.columns:
            if column.name in OVERRIDES.get(table.name, {}):
                row[column.name] = OVERRIDES[table.name][column.name]
                continue
            fk = next(iter(column.foreign_keys), None)
            if fk is not None:
                parent = fk.column
                row[column.name] = conn.execute(sa.select(parent).limit(1)).scalar()
                continue
            row[column.name] = _value(column, choices.get(column.name))
        conn.execute(table.insert().values(**row))
    return {t.name: [dict(r) for r in conn.execute(sa.select(t)).mappings()]
            for t in meta.sorted_tables if t.name != "alembic_version"}


def _read_checks(make_client, monkeypatch, url: str) -> None:
    """The app on the upgraded database: the read endpoints answer the rows written before."""
    from autopack.core import database

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("AUTOPACK_APPROVAL_WORKER", "0")
    monkeypatch.setenv("AUTOPACK_OAUTH_REFRESH_WORKER", "0")
    database.reset_engine()
    try:
        client = make_client()
        run_id = "k" * 64
        listing = client.get("/runs")
        assert listing.status_code == 200 and [r["id"] for r in listing.json()["runs"]] == [run_id]
        for path in (f"/runs/{run_id}", f"/runs/{run_id}/progress", f"/dashboard/runs/{run_id}/status",
                     "/approval/pending", "/governance/pending", "/dashboard/usage?period=month", "/health"):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text[:300])
        assert client.get(f"/runs/{run_id}").json()["phases"][0]["state"] == "QUEUED"
    finally:
        from autopack.core.settings import get_settings

        monkeypatch.undo()
        get_settings.cache_clear()
        database.reset_engine()


def test_every_revision_upgrades_with_data_in_every_table_and_keeps_every_row(scratch_engine, make_client,
                                                                               monkeypatch):
    seen: dict[str, list[tuple]] = {}
    for revision in _revisions_in_order():
        upgrade(scratch_engine, revision)
        with scratch_engine.begin() as conn:
            for table, rows in seen.items():  # every row of the step before is still there
                kept = conn.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar()
                assert kept >= len(rows), f"{table} lost rows at {revision}"
            seen = _fill(conn)
    upgrade(scratch_engine, "heads")
    with scratch_engine.connect() as conn:
        assert set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()) == head_revisions()
        meta = sa.MetaData()
        meta.reflect(conn)
        for table, rows in seen.items():
            now = [dict(r) for r in conn.execute(sa.select(meta.tables[table])).mappings()]
            assert len(now) == len(rows), table
            for before, after in zip(rows, now, strict=True):  # one row a table: the same row, same values
                assert {k: after[k] for k in before if k in after} == before, table
    _read_checks(make_client, monkeypatch, scratch_engine.url.render_as_string(hide_password=False))
