"""`autopack migrate` on a database the reference server created: upgraded in place, every row kept.

The reference database is built from its published schema, with and without an Alembic table of its own.
"""

from __future__ import annotations

from pathlib import Path

import bcrypt
import httpx
import pytest
import sqlalchemy as sa

from autopack.core.database import build_engine
from autopack.core.migrate import head_revisions
from tests.conftest import BACKEND
from tests.production.conftest import installation_env, login, new_database, run_here, serve

SCHEMA = Path(__file__).with_name("reference_schema.sql")
PLACEHOLDERS = {
    "sqlite": {"{PK}": "INTEGER NOT NULL PRIMARY KEY", "{DT}": "DATETIME", "{TRUE}": "1", "{FALSE}": "0"},
    "postgresql": {"{PK}": "SERIAL PRIMARY KEY", "{DT}": "TIMESTAMP WITHOUT TIME ZONE", "{TRUE}": "true",
                   "{FALSE}": "false"},
}
TABLES = ("runs", "tiers", "phases", "approval_requests", "governance_requests", "llm_usage_events",
          "doctor_usage_stats", "token_efficiency_metrics", "phase6_metrics", "users", "storage_scans",
          "cleanup_candidates", "approval_decisions", "execution_checkpoints", "learned_rules")
# Rows in our tables after adoption (a reference checkpoint of no candidate stays in the kept table only).
COPIED = {"runs": 2, "tiers": 2, "phases": 4, "approval_requests": 2, "governance_requests": 2,
          "llm_usage_events": 2, "token_efficiency_metrics": 1, "phase6_metrics": 1, "users": 2,
          "storage_scans": 2, "cleanup_candidates": 2, "approval_decisions": 1, "execution_checkpoints": 1,
          "learned_rules": 1}


def _sqlalchemy_url(root: Path, url: str | None) -> str:
    if url is None:
        return f"sqlite:///{root / 'data' / 'autopack.db'}"
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _rows(conn, table: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1"))]


def _counts(conn) -> dict[str, int]:
    return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in COPIED}


def _build_reference(root: Path, url: str | None, stamps: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """The reference's tables and rows (and, given `stamps`, its own `alembic_version`); the rows."""
    sql = SCHEMA.read_text()
    for key, value in PLACEHOLDERS[BACKEND].items():
        sql = sql.replace(key, value)
    sql = sql.replace("{ALICE_HASH}", bcrypt.hashpw(b"alice-ref-password", bcrypt.gensalt(4)).decode())
    sql = sql.replace("{BOB_HASH}", bcrypt.hashpw(b"bob-ref-password", bcrypt.gensalt(4)).decode())
    engine = build_engine(_sqlalchemy_url(root, url))
    try:
        with engine.begin() as conn:
            for statement in sql.split(";\n"):
                body = "\n".join(line for line in statement.splitlines() if not line.startswith("--"))
                if body.strip():
                    conn.exec_driver_sql(body)
            if stamps:  # as Alembic creates it
                conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                                     "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")
                for stamp in stamps:
                    conn.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": stamp})
        with engine.connect() as conn:
            return {table: _rows(conn, table) for table in TABLES}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def adopted(tmp_path_factory):
    """A reference database built from its published schema, then `autopack migrate`; its server."""
    root = tmp_path_factory.mktemp("reference")
    (root / "data").mkdir()
    with new_database(root) as url:
        before = _build_reference(root, url)
        env = installation_env(root, url)
        migrated = run_here(env, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        with serve(env, root / "server.log") as base:
            yield {"root": root, "url": url, "env": env, "before": before, "base": base,
                   "stdout": migrated.stdout}


def test_every_reference_row_is_kept_unchanged_beside_the_new_schema(adopted):
    assert "adopted a reference database" in adopted["stdout"]
    engine = build_engine(_sqlalchemy_url(adopted["root"], adopted["url"]))
    archived = (lambda t: f"autopack_reference.{t}") if BACKEND == "postgresql" else (lambda t: f"reference_{t}")
    try:
        with engine.connect() as conn:
            for table, rows in adopted["before"].items():
                assert _rows(conn, archived(table)) == rows, table
            counts = _counts(conn)
            counters = conn.execute(sa.text("SELECT phases_completed, phases_in_progress, phases_pending "
                                            "FROM runs WHERE id = 'ref-run-1'")).one()
    finally:
        engine.dispose()
    assert counts == COPIED
    assert tuple(counters) == (1, 1, 1)
    again = run_here(adopted["env"], "migrate")
    assert again.returncode == 0 and "adopted" not in again.stdout  # once only


def test_the_adopted_database_is_served(adopted):
    with httpx.Client(base_url=adopted["base"], timeout=30) as client:
        run = client.get("/runs/ref-run-1").json()
        assert [p["phase_id"] for p in run["phases"]] == ["F1.1", "F1.2", "F1.3"]
        assert run["phases"][0]["scope"]["paths"] == ["src/a.py"]
        assert run["state"] == "PHASE_EXECUTION" and run["tokens_used"] == 1200
        assert client.get("/runs").json()["total"] == 2
        assert client.get("/approval/status/1").json()["status"] == "pending"
        assert client.get("/approval/status/2").json()["status"] == "approved"
        pending = client.get("/governance/pending").json()["pending_requests"]
        assert [r["request_id"] for r in pending] == ["gov-ref-1"]
        assert client.get("/dashboard/runs/ref-run-1/token-efficiency").json()["total_phases"] == 1
        scans = client.get("/storage/scans").json()
        assert [(s["id"], s["scan_target"], s["cleanup_candidates_count"]) for s in scans] == [
            (2, "D:", 0), (1, "/srv/cache", 2)]
        detail = client.get("/storage/scans/1").json()
        assert [(c["id"], c["path"], c["approval_status"]) for c in detail["candidates"]] == [
            (1, "/srv/cache/old.log", "approved"), (2, "/srv/cache/tmp", "pending")]
        rules = client.get("/storage/learned-rules").json()
        assert [(r["id"], r["pattern_value"], r["status"]) for r in rules] == [(1, "*.log", "pending")]
        # new rows get fresh ids after the copied ones
        made = client.post("/approval/request", json={"run_id": "ref-run-1", "phase_id": "F1.3"})
        assert made.status_code == 200 and made.json()["approval_id"] == 3


def test_reference_passwords_log_in_and_are_rehashed(adopted):
    base = adopted["base"]
    token = login(base, "alice", "alice-ref-password")
    me = httpx.get(f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["username"] == "Alice" and me["is_superuser"] is True
    assert httpx.post(f"{base}/api/auth/login", data={"username": "bob", "password": "bob-ref-password"}
                      ).status_code == 401  # inactive in the reference: still inactive
    engine = build_engine(_sqlalchemy_url(adopted["root"], adopted["url"]))
    try:
        with engine.connect() as conn:
            hashes = dict(conn.execute(sa.text("SELECT username, hashed_password FROM users")).all())
    finally:
        engine.dispose()
    assert hashes["Alice"].startswith("$argon2id$")


@pytest.mark.parametrize("stamps", [("9f2b6c1d7e4a",), ("0001",)], ids=["own-revision", "colliding-revision"])
def test_a_reference_database_with_its_own_alembic_table_is_adopted(tmp_path, stamps):
    """The reference's `alembic_version` (its own ids, even one that is also ours) does not make it ours."""
    (tmp_path / "data").mkdir()
    with new_database(tmp_path) as url:
        before = _build_reference(tmp_path, url, stamps)
        env = installation_env(tmp_path, url)
        migrated = run_here(env, "migrate")
        assert migrated.returncode == 0, migrated.stdout
        assert "adopted a reference database" in migrated.stdout
        engine = build_engine(_sqlalchemy_url(tmp_path, url))
        kept = "autopack_reference." if BACKEND == "postgresql" else "reference_"
        try:
            with engine.connect() as conn:
                assert _counts(conn) == COPIED
                assert set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()) == \
                    head_revisions()
                assert [r[0] for r in _rows(conn, f"{kept}alembic_version")] == list(stamps)
                for table, rows in before.items():
                    assert _rows(conn, kept + table) == rows, table
        finally:
            engine.dispose()
        assert "adopted" not in run_here(env, "migrate").stdout  # now ours: migrated, never adopted twice
