"""Tenants with an admin, an operator and a viewer, plus helpers to queue and read actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from autopack.core.database import session_scope
from autopack.db.base import utcnow
from autopack.db.models import SignalHealthReading, User
from autopack.tenants import service as tenants
from tests.auth.helpers import bearer, make_user


@dataclass
class TenantFixture:
    """One tenant and the headers of its members."""

    id: int
    admin: dict
    operator: dict
    viewer: dict

    def url(self, path: str = "") -> str:
        """The tenant's autopilot URL for `path`."""
        return f"/api/v1/tenant/{self.id}/autopilot{path}"


def create_tenant(slug: str) -> TenantFixture:
    """A tenant with three members (admin, operator, viewer)."""
    headers = {}
    with session_scope() as session:
        tenant = tenants.create_tenant(session, slug=slug, name=slug.title(), actor="test")
        session.flush()
        tenant_id = tenant.id
    for role in ("admin", "operator", "viewer"):
        user_id, token = make_user(f"{slug}-{role}")
        with session_scope() as session:
            tenant = tenants.get_tenant(session, tenant_id)
            tenants.set_member(session, tenant, session.get(User, user_id), role, "test")
        headers[role] = bearer(token)
    return TenantFixture(tenant_id, headers["admin"], headers["operator"], headers["viewer"])


@pytest.fixture(autouse=True)
def no_execution_worker(monkeypatch):
    """These tests watch states the execution worker would move on: keep it out."""
    monkeypatch.setenv("AUTOPACK_AUTOPILOT_WORKER", "0")


@pytest.fixture
def acme() -> TenantFixture:
    """Tenant A."""
    return create_tenant("acme")


@pytest.fixture
def globex() -> TenantFixture:
    """Tenant B."""
    return create_tenant("globex")


def proposal(**overrides) -> dict:
    """The contract's POST /actions example (a 20% budget increase 500 → 600)."""
    body = {"action_type": "budget_increase", "entity_type": "campaign", "entity_id": "123456789",
            "entity_name": "Summer Sale 2024", "platform": "meta",
            "action_json": {"type": "budget_increase", "new_budget": 600.0, "change_percent": 20},
            "before_value": {"daily_budget": 500.0}}
    body.update(overrides)
    return body


def pause(entity_id: str = "c-1", platform: str = "meta") -> dict:
    """A pause_campaign proposal (never blocked by budget rules)."""
    return {"action_type": "pause_campaign", "entity_type": "campaign", "entity_id": entity_id,
            "entity_name": "Paused", "platform": platform, "action_json": {"type": "pause_campaign"}}


def queue(client, tenant: TenantFixture, body: dict | None = None) -> dict:
    """Queue an action as the operator; returns the created action."""
    response = client.post(tenant.url("/actions"), json=body or pause(), headers=tenant.operator)
    assert response.status_code == 201, response.text
    return response.json()["data"]["action"]


def add_reading(tenant_id: int, platform: str = "meta", *, emq: float, freshness: float, variance: float,
                anomaly: float, age_hours: float = 0) -> None:
    """Store a reading directly (to control its age)."""
    with session_scope() as session:
        session.add(SignalHealthReading(tenant_id=tenant_id, platform=platform, emq=emq, freshness=freshness,
                                        variance=variance, anomaly=anomaly,
                                        recorded_at=utcnow() - timedelta(hours=age_hours), recorded_by="test"))
