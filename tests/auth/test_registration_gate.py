"""Self-registration: closed in production unless allowed, limited per client, never privileged."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from autopack.audit import service as audit
from autopack.core.database import session_scope
from autopack.db.base import Base
from autopack.db.models import User
from tests.runs.helpers import count

CLOSED = ("Registration is disabled on this server; an administrator creates accounts with "
          "`autopack users create` (or sets AUTOPACK_ALLOW_REGISTRATION=1)")


def body(name: str = "alice", **extra) -> dict:
    return {"username": name, "email": f"{name}@example.com", "password": "correct-horse", **extra}


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")


def test_production_refuses_registration_by_default(make_client, production):
    client = make_client()
    response = client.post("/api/auth/register", json=body())
    assert response.status_code == 403
    assert response.json() == {"detail": CLOSED}
    assert count(User) == 0


def test_production_registers_when_allowed(make_client, production, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ALLOW_REGISTRATION", "1")
    response = make_client().post("/api/auth/register", json=body())
    assert response.status_code == 201 and response.json()["username"] == "alice"


def test_development_stays_open(client):
    assert client.post("/api/auth/register", json=body()).status_code == 201


def test_registration_is_limited_per_client_address(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_REGISTER_RATE_LIMIT", "3/hour")
    client = make_client()
    codes = [client.post("/api/auth/register", json=body(f"user{i}")).status_code for i in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    refused = client.post("/api/auth/register", json=body("late"))
    assert refused.status_code == 429
    assert 3000 <= int(refused.headers["Retry-After"]) <= 3600
    assert count(User) == 3


def test_limit_counts_each_client_address_apart(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_REGISTER_RATE_LIMIT", "1/hour")
    first = make_client(client=("203.0.113.1", 50000))
    second = make_client(client=("203.0.113.2", 50000))
    codes = [first.post("/api/auth/register", json=body("one")).status_code,
             first.post("/api/auth/register", json=body("two")).status_code,
             second.post("/api/auth/register", json=body("three")).status_code]
    assert codes == [201, 429, 201]


def test_a_registered_user_has_no_privilege_and_no_role(client):
    response = client.post("/api/auth/register", json=body(is_superuser=True, is_active=True, role="admin"))
    assert response.status_code == 201
    user_id = response.json()["id"]
    assert response.json()["is_superuser"] is False
    with session_scope(writer=False) as session:
        assert session.get(User, user_id).is_superuser is False
        # every table that points at users (tenant memberships, instance roles, ...) holds nothing for it
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if any(fk.column.table.name == "users" for fk in column.foreign_keys):
                    held = session.scalar(select(func.count()).select_from(table).where(column == user_id))
                    assert held == 0, f"{table.name}.{column.name}"
        actions = [e["action"] for e in audit.list_events(session).model_dump()["events"]]
    assert actions == ["auth.user_registered"]
