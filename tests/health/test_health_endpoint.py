"""GET /health: shape, database identity, kill switches, version, Qdrant and database states."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine

import autopack
import autopack.health.service as health_service

KEYS = {"status", "timestamp", "database_identity", "database", "qdrant", "kill_switches", "version",
        "service", "component"}


def reference_identity(raw: str | None) -> str:
    """The reference's computation (§2.2): mask `://user:pass@`, `\\` → `/`, sha256, 12 hex."""
    url = raw if raw is not None else "sqlite:///./autopack.db"  # os.getenv(name, default)
    masked = re.sub(r"://([^:]+):([^@]+)@", r"://***:***@", url)
    return hashlib.sha256(masked.replace("\\", "/").encode()).hexdigest()[:12]


def test_health_exact_shape(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == KEYS
    assert body["status"] == "healthy"
    assert body["database"] == "connected"
    assert body["qdrant"] == "disabled"
    assert body["kill_switches"] == {"phase6_metrics": False, "consolidated_metrics": False}
    assert body["service"] == "autopack"
    assert body["component"] == "supervisor_api"
    assert body["version"] == autopack.__version__  # the package's own version without AUTOPACK_VERSION
    stamp = datetime.fromisoformat(body["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(stamp.tzinfo) - stamp) < timedelta(minutes=1)


def test_identity_of_the_test_database(client):
    body = client.get("/health").json()
    assert re.fullmatch(r"[0-9a-f]{12}", body["database_identity"])
    assert body["database_identity"] == reference_identity(os.environ["DATABASE_URL"])


@pytest.mark.parametrize("url, secret", [
    ("postgresql://admin:hunter2pw@db.example:5432/autopack", "hunter2pw"),
    ("postgresql+psycopg://svc:pa/ss-w0rd@db.example/autopack", "ss-w0rd"),
    ("postgresql://justuser@db.example:5432/autopack", None),
    ("sqlite:///C:\\data\\autopack.db", None),
])
def test_identity_matches_reference_and_hides_credentials(monkeypatch, make_client, url, secret):
    monkeypatch.setenv("DATABASE_URL", url)
    client = make_client()
    for debug in ("0", "1"):
        monkeypatch.setenv("DEBUG_DB_IDENTITY", debug)
        response = client.get("/health")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["database_identity"] == reference_identity(url)
        if secret:
            assert secret not in response.text
        assert ("db_identity_detail" in body) == (debug == "1")


def test_identity_masking_makes_password_irrelevant(monkeypatch, make_client):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:first-password@h/db")
    first = make_client().get("/health").json()["database_identity"]
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:other-password@h/db")
    second = make_client().get("/health").json()["database_identity"]
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:first-password@h/otherdb")
    third = make_client().get("/health").json()["database_identity"]
    assert first == second
    assert first != third


def test_identity_default_when_database_url_unset(monkeypatch, make_client):
    monkeypatch.delenv("DATABASE_URL")
    body = make_client().get("/health").json()
    assert body["database_identity"] == reference_identity(None) == "8870a8f5192c"


def test_identity_of_an_empty_database_url(monkeypatch, make_client):
    monkeypatch.setenv("DATABASE_URL", "")
    body = make_client().get("/health").json()
    assert body["database_identity"] == reference_identity("") == hashlib.sha256(b"").hexdigest()[:12]


def test_debug_identity_detail(monkeypatch, make_client, started_run):
    monkeypatch.setenv("DEBUG_DB_IDENTITY", "1")
    response = make_client().get("/health")
    body = response.json()
    assert set(body) == KEYS | {"db_identity_detail"}
    detail = body["db_identity_detail"]
    assert detail["runs"] == 1
    assert detail["phases"] == 4
    assert detail["sample_run_ids"] == [started_run]
    assert "database_url" in detail


def test_debug_identity_never_shows_the_password(monkeypatch, make_client):
    monkeypatch.setenv("DATABASE_URL", "postgresql://admin:Sup3r-Secret-pw@db.example:5432/autopack")
    monkeypatch.setenv("DEBUG_DB_IDENTITY", "1")
    response = make_client().get("/health")
    assert "Sup3r-Secret-pw" not in response.text
    detail = response.json()["db_identity_detail"]
    assert "***" in detail["database_url"]


@pytest.mark.parametrize("value", ["true", "TRUE", "yes", "on", "0", "", " 1", "1 ", "01", "True"])
def test_kill_switches_only_exact_one(monkeypatch, client, value):
    monkeypatch.setenv("AUTOPACK_ENABLE_PHASE6_METRICS", value)
    monkeypatch.setenv("AUTOPACK_ENABLE_CONSOLIDATED_METRICS", value)
    assert client.get("/health").json()["kill_switches"] == {"phase6_metrics": False,
                                                             "consolidated_metrics": False}


@pytest.mark.parametrize("phase6, consolidated", [("1", "0"), ("0", "1"), ("1", "1"), ("1", None)])
def test_kill_switches_are_independent(monkeypatch, client, phase6, consolidated):
    monkeypatch.setenv("AUTOPACK_ENABLE_PHASE6_METRICS", phase6)
    if consolidated is None:
        monkeypatch.delenv("AUTOPACK_ENABLE_CONSOLIDATED_METRICS", raising=False)
    else:
        monkeypatch.setenv("AUTOPACK_ENABLE_CONSOLIDATED_METRICS", consolidated)
    body = client.get("/health").json()
    assert body["kill_switches"] == {"phase6_metrics": phase6 == "1",
                                     "consolidated_metrics": consolidated == "1"}
    assert body["status"] == "healthy"


def test_version_from_env(monkeypatch, client):
    monkeypatch.setenv("AUTOPACK_VERSION", "2026.01.10-abc")
    assert client.get("/health").json()["version"] == "2026.01.10-abc"
    monkeypatch.delenv("AUTOPACK_VERSION")
    assert client.get("/health").json()["version"] == autopack.__version__


def test_qdrant_connected(monkeypatch, client, fake_qdrant):
    monkeypatch.setenv("QDRANT_HOST", fake_qdrant.url)
    body = client.get("/health").json()
    assert body["qdrant"] == "connected"
    assert body["status"] == "healthy"
    assert fake_qdrant.paths == ["/healthz"]


def test_qdrant_host_with_trailing_slash(monkeypatch, client, fake_qdrant):
    monkeypatch.setenv("QDRANT_HOST", fake_qdrant.url + "/")
    assert client.get("/health").json()["qdrant"] == "connected"
    assert fake_qdrant.paths == ["/healthz"]


@pytest.mark.parametrize("status", [500, 503, 404])
def test_qdrant_unhealthy_status_degrades(monkeypatch, client, fake_qdrant, status):
    fake_qdrant.status = status
    monkeypatch.setenv("QDRANT_HOST", fake_qdrant.url)
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["qdrant"] == f"unhealthy (status {status})"
    assert body["status"] == "degraded"
    assert body["database"] == "connected"


def test_qdrant_down_degrades(monkeypatch, client, closed_port):
    monkeypatch.setenv("QDRANT_HOST", f"http://127.0.0.1:{closed_port}")
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["qdrant"].startswith("error: ")
    assert len(body["qdrant"]) <= len("error: ") + 50
    assert set(body) == KEYS


def test_qdrant_credentials_never_shown(monkeypatch, client, closed_port):
    monkeypatch.setenv("QDRANT_HOST", f"http://qd-user:qd-Secret-77@127.0.0.1:{closed_port}")
    response = client.get("/health")
    assert response.json()["status"] == "degraded"
    assert "qd-Secret-77" not in response.text


@pytest.fixture
def unreachable_postgres(monkeypatch):
    engine = create_engine("postgresql+psycopg://x:db-Secret-42@127.0.0.1:1/x",
                           connect_args={"connect_timeout": 1}, pool_pre_ping=True)
    monkeypatch.setattr(health_service, "get_engine", lambda: engine)
    yield engine
    engine.dispose()


def test_database_unreachable_is_503_unhealthy(client, unreachable_postgres):
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert set(body) == KEYS
    assert body["status"] == "unhealthy"
    assert body["database"].startswith("error: ")
    assert len(body["database"]) <= len("error: ") + 50
    assert body["service"] == "autopack"
    assert "db-Secret-42" not in response.text


def test_database_unreachable_wins_over_qdrant(monkeypatch, client, unreachable_postgres, fake_qdrant):
    monkeypatch.setenv("QDRANT_HOST", fake_qdrant.url)
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["qdrant"] == "connected"


def test_database_file_in_missing_directory_is_503(monkeypatch, client, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'sub' / 'x.db'}")
    monkeypatch.setattr(health_service, "get_engine", lambda: engine)
    try:
        response = client.get("/health")
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["database"].startswith("error: ")
    assert not (tmp_path / "no-such-dir").exists()


def test_database_without_schema_is_unhealthy(monkeypatch, client, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setattr(health_service, "get_engine", lambda: engine)
    try:
        response = client.get("/health")
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert response.json()["database"].startswith("error: ")
