"""The sandbox platform: campaign state in our own database, deterministic, the default adapter.

An entity the sandbox has never seen is created from the action's `before_value` (its
`daily_budget`/`budget`, `status` and `bid`), so a tenant can try the autopilot on realistic
numbers without seeding. With no usable `before_value` the action fails with a clear error.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from autopack.autopilot.execution.adapters.base import ApplyResult, EntityRef, PlannedChange, PlatformError
from autopack.autopilot.proposals import first_number
from autopack.db.base import utcnow
from autopack.db.models.campaigns import SandboxCampaign
from autopack.db.scope import scoped

_STATUS_WORDS = {"active": "active", "enabled": "active", "enable": "active", "paused": "paused",
                 "pause": "paused", "disabled": "paused", "disable": "paused"}


def state_of(row: SandboxCampaign) -> dict[str, Any]:
    """The adapter-neutral state of a sandbox entity."""
    return {"daily_budget": row.daily_budget, "status": row.status, "bid": row.bid}


class SandboxAdapter:
    """Applies changes to `sandbox_campaigns` rows through the caller's session (flushes only)."""

    name = "sandbox"
    transactional = True

    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    def _find(self, entity: EntityRef) -> SandboxCampaign | None:
        return self.session.scalar(scoped(select(SandboxCampaign).where(
            SandboxCampaign.platform == entity.platform, SandboxCampaign.entity_type == entity.entity_type,
            SandboxCampaign.entity_id == entity.entity_id), self.tenant_id))

    def _create(self, entity: EntityRef) -> SandboxCampaign:
        seed = entity.seed or {}
        budget = first_number(seed, "daily_budget", "budget")
        status = _STATUS_WORDS.get(str(seed.get("status", "")).strip().lower())
        bid = first_number(seed, "bid", "bid_amount")
        if budget is None and status is None and bid is None:
            raise PlatformError("client", f"Unknown sandbox {entity.entity_type} {entity.entity_id}: "
                                          "before_value has no daily_budget, status or bid to create it from")
        row = SandboxCampaign(tenant_id=self.tenant_id, platform=entity.platform, entity_type=entity.entity_type,
                              entity_id=entity.entity_id, name=entity.name, status=status or "active",
                              daily_budget=budget, bid=bid)
        self.session.add(row)
        self.session.flush()
        return row

    def _row(self, entity: EntityRef) -> SandboxCampaign:
        return self._find(entity) or self._create(entity)

    def get_state(self, entity: EntityRef) -> dict[str, Any]:
        """The entity's state, creating it from the seed on first sight."""
        return state_of(self._row(entity))

    def apply(self, action: PlannedChange, idempotency_key: str) -> ApplyResult:
        """Change the row in the caller's transaction; the reference is the idempotency key."""
        row = self._row(action.entity)
        if action.field == "status":
            row.status = str(action.value)
        elif action.field == "daily_budget":
            row.daily_budget = round(float(action.value), 2)
        else:
            row.bid = round(float(action.value), 2)
        row.updated_at = utcnow()
        self.session.flush()
        return ApplyResult(after_value=state_of(row), platform_reference=f"sandbox:{idempotency_key}",
                           response={"entity_id": row.entity_id})


def seed_campaign(session: Session, tenant_id: int, platform: str, entity_id: str, *, entity_type: str = "campaign",
                  daily_budget: float | None = None, status: str = "active", bid: float | None = None,
                  name: str | None = None) -> SandboxCampaign:
    """Create or reset a sandbox entity (tests, demos and the benchmark)."""
    adapter = SandboxAdapter(session, tenant_id)
    ref = EntityRef(platform, entity_type, entity_id, name)
    row = adapter._find(ref) or SandboxCampaign(tenant_id=tenant_id, platform=platform,
                                                 entity_type=entity_type, entity_id=entity_id)
    row.name, row.status, row.daily_budget, row.bid = name, status, daily_budget, bid
    session.add(row)
    session.flush()
    return row
