"""A tenant with an admin, an operator and a viewer; proposals; applied actions and stored metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from autopack.autopilot.proposals import ActionProposal
from autopack.core.database import session_scope
from autopack.db.base import utcnow
from autopack.db.models import AutopilotAction, CampaignMetricsDaily, SandboxCampaign, User
from autopack.tenants import service as tenants
from tests.auth.helpers import bearer, make_user


@dataclass
class Tenant:
    """Ids and headers of a seeded tenant."""

    id: int
    admin: dict
    operator: dict
    viewer: dict

    def url(self, path: str) -> str:
        """The enforcement URL of `path`."""
        return f"/api/v1/tenant/{self.id}/autopilot/enforcement{path}"


def make_tenant(slug: str = "acme") -> Tenant:
    """Create a tenant and three members, one per role."""
    headers = {}
    for role in ("admin", "operator", "viewer"):
        _, token = make_user(f"{slug}-{role}")
        headers[role] = bearer(token)
    with session_scope() as session:
        tenant = tenants.create_tenant(session, slug=slug, name=slug.title(), actor="test")
        session.flush()
        for role in ("admin", "operator", "viewer"):
            user = session.query(User).filter_by(username=f"{slug}-{role}").one()
            tenants.set_member(session, tenant, user, role, "test")
        tenant_id = tenant.id
    return Tenant(tenant_id, headers["admin"], headers["operator"], headers["viewer"])


def proposal(new_budget: float | None = 750.0, current: float | None = 500.0, *,
             action_type: str = "budget_increase", entity_id: str = "c-1", **action_json) -> ActionProposal:
    """A budget proposal for campaign `entity_id`."""
    payload = dict(action_json)
    if new_budget is not None:
        payload["new_budget"] = new_budget
    return ActionProposal(action_type=action_type, entity_type="campaign", entity_id=entity_id,
                          platform="meta", action_json=payload,
                          before_value=None if current is None else {"daily_budget": current})


def check_body(new: float = 750.0, current: float | None = 500.0, *, entity_id: str = "c-1",
               action_type: str = "budget_increase", metrics: dict | None = None) -> dict:
    """The contract's POST /check body."""
    body = {"action_type": action_type, "entity_type": "campaign", "entity_id": entity_id,
            "proposed_value": {"daily_budget": new}}
    if current is not None:
        body["current_value"] = {"daily_budget": current}
    if metrics is not None:
        body["metrics"] = metrics
    return body


def applied_action(tenant_id: int, applied_at: datetime, *, entity_id: str = "c-1",
                   action_type: str = "budget_increase", status: str = "applied") -> None:
    """Store an action of CORE's table as applied at `applied_at`."""
    with session_scope() as session:
        session.add(AutopilotAction(
            tenant_id=tenant_id, date=applied_at.date(), action_type=action_type, entity_type="campaign",
            entity_id=entity_id, platform="meta", action_json={}, status=status, created_at=applied_at,
            updated_at=applied_at, applied_at=applied_at if status == "applied" else None,
            proposed_hash="0" * 64))


def sandbox_campaign(tenant_id: int, entity_id: str, budget: float, status: str = "active") -> None:
    """A sandbox campaign with a daily budget."""
    with session_scope() as session:
        session.add(SandboxCampaign(tenant_id=tenant_id, platform="meta", entity_type="campaign",
                                    entity_id=entity_id, status=status, daily_budget=budget))


def daily_metrics(tenant_id: int, entity_id: str, day: date, spend: float, revenue: float,
                  conversions: float) -> None:
    """One day of stored performance."""
    with session_scope() as session:
        session.add(CampaignMetricsDaily(tenant_id=tenant_id, platform="meta", entity_id=entity_id, day=day,
                                         spend=spend, revenue=revenue, conversions=conversions,
                                         roas=revenue / spend if spend else None,
                                         cpa=spend / conversions if conversions else None))


def now() -> datetime:
    """The current UTC time."""
    return utcnow()


__all__ = ["Tenant", "applied_action", "check_body", "daily_metrics", "make_tenant", "now", "proposal",
           "sandbox_campaign"]
