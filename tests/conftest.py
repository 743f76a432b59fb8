"""Test set-up: one fresh database per run (SQLite or PostgreSQL), cleaned between tests.

`AUTOPACK_TEST_DB=sqlite|postgresql` chooses the backend (`make test` runs both). Under `CI=true`
an unreachable PostgreSQL fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import pytest

BACKEND = os.environ.get("AUTOPACK_TEST_DB", "sqlite")
_WORK = Path(tempfile.mkdtemp(prefix="autopack-tests-"))
_PG_ADMIN_URL = os.environ.get("AUTOPACK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_PG_DB = f"autopack_test_{secrets.token_hex(4)}"


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def _database_url() -> str:
    if BACKEND == "sqlite":
        return f"sqlite:///{_WORK / 'test.db'}"
    if BACKEND == "postgresql":
        try:
            _pg_admin(f'CREATE DATABASE "{_PG_DB}"')
        except Exception as exc:  # noqa: BLE001
            message = f"PostgreSQL unreachable at {_PG_ADMIN_URL}: {exc}"
            if os.environ.get("CI") == "true":
                pytest.exit(message, returncode=3)
            pytest.skip(message, allow_module_level=True)
        return _PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{_PG_DB}"
    raise RuntimeError(f"unknown AUTOPACK_TEST_DB={BACKEND}")


# The environment must be in place before autopack is imported anywhere.
os.environ.update({
    "DATABASE_URL": _database_url(),
    "AUTOPACK_DATA_DIR": str(_WORK / "data"),
    "AUTONOMOUS_RUNS_DIR": str(_WORK / "runs" / ".autonomous_runs"),
    "AUTOPACK_ENV": "development",
    "AUTOPACK_ACCESS_LOG": "0",
    "AUTOPACK_LOG_LEVEL": "WARNING",
    "AUTOPACK_HEALTH_CACHE_SECONDS": "0",  # tests change dependencies between calls
    "AUTOPACK_AUTOPILOT_WORKER": "0",  # execution tests run it themselves (run_once / their own app)
    "AUTOPACK_EVENTS_MAX_STREAM_SECONDS": "1",  # in-process clients read whole bodies: streams must end
    "AUTOPACK_MIRROR_SYNC": "1",  # tests read mirror files right after a call (tests/runs/test_mirrors.py covers async)
})
for _name in ("AUTOPACK_API_KEY", "AUTOPACK_PUBLIC_READ", "QDRANT_HOST", "DEBUG_DB_IDENTITY",
              "AUTOPACK_ENABLE_PHASE6_METRICS", "AUTOPACK_ENABLE_CONSOLIDATED_METRICS",
              "AUTOPACK_RATE_LIMIT_STORAGE", "AUTOPACK_TRUSTED_PROXIES"):
    os.environ.pop(_name, None)

from autopack.core import database, ratelimit  # noqa: E402  (after the environment above)
from autopack.core.migrate import upgrade  # noqa: E402
from autopack.core.settings import get_settings  # noqa: E402
from autopack.db.base import Base  # noqa: E402


def pytest_report_header(config):
    return f"autopack test database: {BACKEND} ({os.environ['DATABASE_URL'].rsplit('@', 1)[-1]})"


@pytest.fixture(scope="session", autouse=True)
def migrated_database():
    """Migrate the fresh database once; drop it at the end of the run (PostgreSQL)."""
    get_settings.cache_clear()
    database.reset_engine()
    upgrade(database.get_engine())
    yield
    database.reset_engine()
    if BACKEND == "postgresql":
        try:
            _pg_admin(f'DROP DATABASE IF EXISTS "{_PG_DB}" WITH (FORCE)')
        except Exception:  # noqa: BLE001
            pass


def _wipe() -> None:
    from autopack.audit.anchor_file import anchor_path
    from autopack.audit.service import allow_ledger_prune

    engine = database.get_engine()
    with engine.begin() as conn:
        allow_ledger_prune(conn)  # the ledger's PostgreSQL triggers refuse DELETE otherwise
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    anchor_path().unlink(missing_ok=True)  # else the next test's ledger would fail as an erased one


@pytest.fixture(autouse=True)
def clean_state(tmp_path, monkeypatch):
    """Empty tables, a private runs directory and fresh settings and rate limits for every test."""
    runs_dir = tmp_path / "work" / ".autonomous_runs"
    monkeypatch.setenv("AUTONOMOUS_RUNS_DIR", str(runs_dir))
    get_settings.cache_clear()
    ratelimit.reset_limiter()
    _wipe()
    yield
    get_settings.cache_clear()
    ratelimit.reset_limiter()


@pytest.fixture
def runs_dir() -> Path:
    """The runs directory of the current test."""
    return get_settings().autonomous_runs_dir


@pytest.fixture
def make_client():
    """Build a TestClient on a fresh app (after the test changed the environment)."""
    from fastapi.testclient import TestClient

    from autopack.main import create_app

    clients = []

    def factory(**kwargs) -> TestClient:
        get_settings.cache_clear()
        client = TestClient(create_app(), **kwargs)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    """A client on the default development app."""
    return make_client()


def run_payload(run_id: str = "demo-20260110-120000", tiers: int = 2, phases_per_tier: int = 2) -> dict:
    """A start request with `tiers` tiers of `phases_per_tier` phases each."""
    tier_list = [{"tier_id": f"T{t + 1}", "tier_index": t, "name": f"Tier {t + 1}"} for t in range(tiers)]
    phase_list = [
        {"phase_id": f"F{t + 1}.{p + 1}", "phase_index": t * phases_per_tier + p,
         "tier_id": f"T{t + 1}", "name": f"Phase {t + 1}.{p + 1}", "task_category": "general",
         "complexity": "low"}
        for t in range(tiers) for p in range(phases_per_tier)
    ]
    return {"run": {"run_id": run_id}, "tiers": tier_list, "phases": phase_list}


@pytest.fixture
def started_run(client):
    """A created run with 2 tiers × 2 phases; returns its id."""
    response = client.post("/runs/start", json=run_payload())
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def scratch_engine(tmp_path):
    """An engine on an empty database of its own (the session's database is already migrated)."""
    from autopack.core.database import build_engine

    if BACKEND == "sqlite":
        engine = build_engine(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield engine
        engine.dispose()
        return
    name = f"autopack_mig_{secrets.token_hex(4)}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    base = _PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = build_engine(f"{base}/{name}")
    yield engine
    engine.dispose()
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
