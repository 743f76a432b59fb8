"""Set-up for execution tests: a tenant with healthy signals, approved actions, the worker, events."""

from __future__ import annotations

import json
import secrets

from sqlalchemy import select

from autopack.autopilot.execution.adapters.sandbox import seed_campaign
from autopack.autopilot.proposals import ActionProposal
from autopack.autopilot.settings import get_autopilot_settings
from autopack.autopilot.signal_health.service import record_readings
from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import AutopilotAction, AutopilotActionEvent, Tenant
from autopack.db.models.campaigns import PlatformRequest, SandboxCampaign

HEALTHY = {"emq": 90, "freshness": 90, "variance": 90, "anomaly": 90}


def make_tenant(*, platforms=("meta", "google", "tiktok"), health: dict | None = None, level: int = 2) -> int:
    """A tenant with settings and a fresh signal-health reading per platform."""
    with session_scope() as session:
        tenant = Tenant(slug=f"t-{secrets.token_hex(4)}", name="Tenant")
        session.add(tenant)
        session.flush()
        get_autopilot_settings(session, tenant.id).level = level
        record_readings(session, tenant.id, [{"platform": p, **(health or HEALTHY)} for p in platforms], "test")
        return tenant.id


def seed(tenant_id: int, entity_id: str, budget: float, platform: str = "meta", status: str = "active") -> None:
    """A sandbox campaign."""
    with session_scope() as session:
        seed_campaign(session, tenant_id, platform, entity_id, daily_budget=budget, status=status)


def approved_action(tenant_id: int, *, entity_id: str = "123", action_type: str = "budget_increase",
                    action_json: dict | None = None, before: dict | None = None, platform: str = "meta",
                    entity_type: str = "campaign") -> str:
    """Insert an action already in `approved` (as approve would leave it); returns its id."""
    action_json = {"type": action_type, "new_budget": 600.0} if action_json is None else action_json
    before = {"daily_budget": 500.0} if before is None else before
    now = utcnow()
    with session_scope() as session:
        proposal_hash = "0" * 64
        if platform in ("meta", "google", "tiktok", "snapchat"):
            proposal_hash = ActionProposal(action_type=action_type, entity_type=entity_type, entity_id=entity_id,
                                           platform=platform, action_json=action_json,
                                           before_value=before).proposed_hash()
        action = AutopilotAction(tenant_id=tenant_id, date=now.date(), action_type=action_type,
                                 entity_type=entity_type, entity_id=entity_id, platform=platform,
                                 action_json=action_json, before_value=before, status="approved",
                                 approved_at=now, approved_by="user:test", created_at=now, updated_at=now,
                                 proposed_hash=proposal_hash, attempts=0, requires_approval=True)
        session.add(action)
        session.flush()
        return action.id


def action(action_id: str) -> AutopilotAction:
    """The action as stored now."""
    with session_scope(writer=False) as session:
        return session.get(AutopilotAction, action_id)


def transitions(action_id: str) -> list[tuple[str | None, str]]:
    """(from, to) of every event of the action, in order."""
    with session_scope(writer=False) as session:
        rows = session.scalars(select(AutopilotActionEvent).where(AutopilotActionEvent.action_id == action_id)
                               .order_by(AutopilotActionEvent.id))
        return [(r.from_status, r.to_status) for r in rows]


def sandbox(tenant_id: int, entity_id: str, platform: str = "meta") -> SandboxCampaign:
    """The sandbox entity."""
    with session_scope(writer=False) as session:
        return session.scalar(select(SandboxCampaign).where(SandboxCampaign.tenant_id == tenant_id,
                                                            SandboxCampaign.platform == platform,
                                                            SandboxCampaign.entity_id == entity_id))


def ledger_row(action_id: str) -> PlatformRequest | None:
    """The action's platform request ledger row."""
    with session_scope(writer=False) as session:
        return session.scalar(select(PlatformRequest).where(PlatformRequest.action_id == action_id))


def configure_platforms(monkeypatch, config: dict) -> None:
    """Set AUTOPACK_PLATFORM_CREDENTIALS for this test."""
    monkeypatch.setenv("AUTOPACK_PLATFORM_CREDENTIALS", json.dumps(config))
    get_settings.cache_clear()


def worker():
    """A fresh execution worker (tests call run_once themselves)."""
    from autopack.autopilot.execution.worker import ExecutionWorker

    return ExecutionWorker(poll_seconds=0.05)
