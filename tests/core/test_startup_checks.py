"""Start-up refusals: an un-migrated database, production without an API key."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from autopack.core import database
from autopack.core.database import SchemaNotMigrated
from autopack.core.settings import get_settings


@pytest.fixture
def point_database_at(monkeypatch):
    """Switch the process-wide engine to another URL; always switch back to the test database."""
    original = os.environ["DATABASE_URL"]

    def switch(url: str) -> None:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        database.reset_engine()

    yield switch
    monkeypatch.setenv("DATABASE_URL", original)
    get_settings.cache_clear()
    database.reset_engine()
    assert str(database.get_engine().url.render_as_string(hide_password=False)).endswith(
        original.rsplit("/", 1)[-1])


def test_refuses_to_start_on_an_unmigrated_database(point_database_at, tmp_path):
    from autopack.main import create_app

    db_file = tmp_path / "fresh" / "empty.db"
    point_database_at(f"sqlite:///{db_file}")
    client = TestClient(create_app())
    with pytest.raises(SchemaNotMigrated) as caught:
        client.__enter__()
    message = str(caught.value)
    assert "autopack migrate" in message
    assert "none" in message  # the current revision of a never-migrated database
    assert "runs" not in inspect(database.get_engine()).get_table_names()  # nothing was created


@pytest.mark.skipif(os.environ.get("AUTOPACK_TEST_DB", "sqlite") != "postgresql",
                    reason="needs the PostgreSQL test server")
def test_refuses_to_start_on_an_unmigrated_postgres_database(point_database_at):
    import secrets

    import psycopg

    from autopack.main import create_app

    admin_url = os.environ.get("AUTOPACK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"autopack_empty_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        point_database_at(admin_url.rsplit("/", 1)[0] + f"/{name}")
        client = TestClient(create_app())
        with pytest.raises(SchemaNotMigrated) as caught:
            client.__enter__()
        assert "autopack migrate" in str(caught.value)
        assert inspect(database.get_engine()).get_table_names() == []
    finally:
        database.reset_engine()
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_refusal_message_hides_the_password(point_database_at):
    from autopack.main import create_app

    point_database_at("postgresql://someone:Start-Secret-99@127.0.0.1:1/none?connect_timeout=1")
    client = TestClient(create_app())
    with pytest.raises(Exception) as caught:  # unreachable: OperationalError before any revision check
        client.__enter__()
    assert "Start-Secret-99" not in str(caught.value)
    assert type(caught.value).__name__ == "OperationalError"


def test_engine_is_back_on_the_test_database(client, started_run):
    """After the tests above, the app works on the migrated test database again."""
    assert client.get(f"/runs/{started_run}").status_code == 200
    assert client.get("/health").json()["database"] == "connected"


def test_production_without_api_key_refuses_to_start(monkeypatch, make_client):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.delenv("AUTOPACK_API_KEY", raising=False)
    with pytest.raises(RuntimeError) as caught:
        make_client()
    assert "AUTOPACK_API_KEY must be configured in production mode" in str(caught.value)


@pytest.mark.parametrize("env", ["production", "PRODUCTION", " Production "])
def test_production_spellings_need_a_key(monkeypatch, make_client, env):
    monkeypatch.setenv("AUTOPACK_ENV", env)
    monkeypatch.delenv("AUTOPACK_API_KEY", raising=False)
    with pytest.raises(RuntimeError):
        make_client()


def test_production_with_api_key_starts(monkeypatch, make_client):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "prod-key-0123456789")
    client = make_client()
    assert client.get("/health").status_code == 200
    assert client.post("/runs/start", json={"run": {"run_id": "p"}}).status_code == 403
    response = client.post("/runs/start", json={"run": {"run_id": "p"}},
                           headers={"X-API-Key": "prod-key-0123456789"})
    assert response.status_code == 201


def test_development_without_key_starts(make_client):
    assert make_client().get("/health").json()["status"] == "healthy"
