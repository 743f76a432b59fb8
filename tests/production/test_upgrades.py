"""Upgrades keep every row: a database at every head set the project shipped, filled, upgraded to the latest."""

from __future__ import annotations

import re
import secrets
import sqlite3
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from autopack.core.database import build_engine
from autopack.core.migrate import alembic_config, head_revisions, upgrade
from tests.conftest import _PG_ADMIN_URL, BACKEND, _pg_admin

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
# The head sets the migration tree had, commit by commit, in `git log -- src/autopack/migrations/versions`
# (each distinct set once; the revisions a commit's files defined, less those another one revises).
# A database may have been left at any of them; a release adding migrations adds its set here.
SHIPPED_HEADS = (
    ("0001",),
    ("0002", "0003", "0004", "0005", "0006"),
    ("0003", "0004", "0005", "0006", "0007", "0008", "0009"),
    ("0004", "0005", "0006", "0007", "0008", "0009", "0010"),
    ("0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011"),
    ("0004", "0006", "0007", "0008", "0009", "0010", "0011", "0012", "0015"),
    ("0004", "0006", "0007", "0008", "0009", "0011", "0012", "0014", "0015"),
    ("0004", "0006", "0007", "0008", "0009", "0011", "0013", "0014", "0015"),
    ("0004", "0006", "0007", "0008", "0009", "0011", "0013", "0014", "0015", "0016"),
    ("0004", "0006", "0007", "0008", "0009", "0011", "0013", "0014", "0015", "0016", "0017"),
    ("0004", "0006", "0007", "0008", "0009", "0011", "0013", "0014", "0015", "0016", "0017", "0018"),
    ("0004", "0006", "0007", "0008", "0009", "0011", "0013", "0014", "0015", "0016", "0018", "0019"),
    ("0004", "0006", "0007", "0008", "0009", "0011", "0013", "0014", "0015", "0016", "0019", "0020"),
    ("0004", "0006", "0007", "0008", "0009", "0011", "0013", "0014", "0015", "0016", "0020", "0021"),
    ("0004", "0006", "0007", "0008", "0009", "0011", "0013", "0014", "0015", "0016", "0020", "0021", "0022",
     "0024", "0025"),
    ("0004", "0007", "0008", "0009", "0011", "0014", "0016", "0020", "0021", "0022", "0024", "0025", "0027",
     "0028"),
    ("0004", "0007", "0008", "0009", "0011", "0014", "0016", "0020", "0022", "0023", "0024", "0025", "0027",
     "0028"),
)
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
                     "/approval/pending", "/governance/pending", "/dashboard/usage?period=month", "/health",
                     "/storage/scans", "/storage/learned-rules"):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text[:300])
        assert client.get(f"/runs/{run_id}").json()["phases"][0]["state"] == "QUEUED"
    finally:
        from autopack.core.settings import get_settings

        monkeypatch.undo()
        get_settings.cache_clear()
        database.reset_engine()


def _upgrade_to(engine: sa.Engine, heads: tuple[str, ...]) -> None:
    for revision in heads:
        upgrade(engine, revision)


def _pg_url(name: str) -> str:
    return _PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """An empty database at every shipped head set, built in one walk (each upgraded from the one before)."""
    folder = tmp_path_factory.mktemp("upgrade-templates")
    made: dict[tuple[str, ...], str] = {}
    previous = None
    for index, heads in enumerate(SHIPPED_HEADS):
        if BACKEND == "sqlite":
            made[heads] = str(folder / f"heads-{index}.db")
            if previous is not None:
                _sqlite_copy(previous, made[heads])
            url = f"sqlite:///{made[heads]}"
        else:
            made[heads] = f"autopack_tpl_{secrets.token_hex(4)}"
            _pg_admin(f'CREATE DATABASE "{made[heads]}"' + (f' TEMPLATE "{previous}"' if previous else ""))
            url = _pg_url(made[heads])
        engine = build_engine(url)
        try:
            _upgrade_to(engine, heads)
        finally:
            engine.dispose()
        previous = made[heads]
    yield made
    if BACKEND == "postgresql":
        for name in made.values():
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sqlite_copy(source: str, target: str) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


@pytest.fixture
def database_at(templates, tmp_path):
    """A database of its own, copied from the template at the given head set: its engine."""
    made = []

    def copy(heads: tuple[str, ...]) -> sa.Engine:
        if BACKEND == "sqlite":
            target = str(tmp_path / "upgraded.db")
            _sqlite_copy(templates[heads], target)
            engine = build_engine(f"sqlite:///{target}")
        else:
            name = f"autopack_upg_{secrets.token_hex(4)}"
            _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{templates[heads]}"')
            engine = build_engine(_pg_url(name))
        made.append(engine)
        return engine

    yield copy
    for engine in made:
        engine.dispose()
        if BACKEND == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{engine.url.database}" WITH (FORCE)')


def test_the_shipped_head_sets_are_states_of_the_tree():
    """Every listed set names revisions of today's tree, none of them below another of the same set."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    for heads in SHIPPED_HEADS:
        for head in heads:
            below = {rev.revision for rev in script.iterate_revisions(head, "base")} - {head}
            assert not below & set(heads), heads


@pytest.mark.parametrize("heads", SHIPPED_HEADS, ids=[f"heads-{i}" for i in range(len(SHIPPED_HEADS))])
def test_a_database_at_a_shipped_head_set_upgrades_with_every_row_kept(heads, database_at, make_client,
                                                                         monkeypatch):
    engine = database_at(heads)
    with engine.connect() as conn:
        assert set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()) == set(heads)
    with engine.begin() as conn:
        seen = _fill(conn)
    upgrade(engine, "heads")
    with engine.connect() as conn:
        assert set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()) == head_revisions()
        meta = sa.MetaData()
        meta.reflect(conn)
        for table, rows in seen.items():
            now = [dict(r) for r in conn.execute(sa.select(meta.tables[table])).mappings()]
            assert len(now) == len(rows), table
            for before, after in zip(rows, now, strict=True):  # one row a table: the same row, same values
                assert {k: after[k] for k in before if k in after} == before, table
    _read_checks(make_client, monkeypatch, engine.url.render_as_string(hide_password=False))
