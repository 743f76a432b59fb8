"""Rows for one tenant in every tenant-scoped table, each carrying values only that tenant has."""

from __future__ import annotations

from dataclasses import dataclass, field

import jwt
from sqlalchemy import func, select

from autopack.audit.service import append_event
from autopack.auth import apikeys
from autopack.autopilot.enforcement import tokens
from autopack.autopilot.enforcement.audit import record_intervention
from autopack.autopilot.proposals import ActionProposal
from autopack.autopilot.settings import get_autopilot_settings, update_enforcement_settings
from autopack.core.database import session_scope
from autopack.db.base import Base, utcnow
from autopack.db.models import (
    AutopilotAction,
    AutopilotActionEvent,
    SignalHealthReading,
    TenantEnforcementRule,
    TrustGateAuditLog,
)
from autopack.db.models.campaigns import CampaignMetricsDaily, PlatformRequest, SandboxCampaign
from autopack.db.scope import scoped


def tenant_tables() -> list:
    """Every table with a tenant_id column, from the metadata (so a new one is never forgotten)."""
    return [table for table in Base.metadata.sorted_tables if "tenant_id" in table.c]


@dataclass
class Seeded:
    """What was stored for a tenant: ids to aim at, and values no other tenant's response may show."""

    tenant_id: int
    tag: str
    action_id: str = ""
    rule_id: str = ""
    audit_log_id: str = ""
    token: str = ""
    entity_id: str = ""
    markers: set[str] = field(default_factory=set)


def seed(tenant_id: int, tag: str, number: int) -> Seeded:
    """One row (at least) per tenant table; `number` makes the tenant's figures unlike anyone else's."""
    s = Seeded(tenant_id, tag, rule_id=f"{tag}-rule", entity_id=f"{tag}-campaign")
    budget, spend, emq = 5000 + 111 * number + 0.55, 3000 + 111 * number + 0.31, 10 + 11 * number + 0.57
    proposal = ActionProposal(action_type="budget_increase", entity_type="campaign", entity_id=s.entity_id,
                              entity_name=f"{tag} Sale", platform="meta",
                              action_json={"new_budget": budget + 1, "note": f"{tag} note"},
                              before_value={"daily_budget": budget})
    with session_scope() as session:
        action = AutopilotAction(
            tenant_id=tenant_id, date=utcnow().date(), action_type="budget_increase", entity_type="campaign",
            entity_id=s.entity_id, entity_name=f"{tag} Sale", platform="meta", action_json=proposal.action_json,
            before_value=proposal.before_value, status="queued", requires_approval=True, reason=f"{tag} reason",
            created_by=f"user:{tag}", proposed_hash=proposal.proposed_hash(), attempts=0)
        session.add(action)
        session.flush()
        s.action_id = action.id
        session.add(AutopilotActionEvent(action_id=action.id, tenant_id=tenant_id, from_status=None,
                                         to_status="queued", actor=f"user:{tag}", details={"note": f"{tag} event"}))
        settings = get_autopilot_settings(session, tenant_id)
        settings.frozen, settings.frozen_reason = True, f"{tag} frozen"
        update_enforcement_settings(session, tenant_id, {"max_daily_budget": budget * 3})
        session.add(TenantEnforcementRule(tenant_id=tenant_id, rule_id=s.rule_id, rule_type="budget_exceeded",
                                          threshold_value=budget - 1, description=f"{tag} rule text"))
        session.add(SignalHealthReading(tenant_id=tenant_id, platform="meta", emq=emq, freshness=emq,
                                        variance=emq, anomaly=emq, recorded_by=f"user:{tag}"))
        gate = TrustGateAuditLog(
            tenant_id=tenant_id, decision_type="hold", action_type="budget_increase", entity_type="campaign",
            entity_id=s.entity_id, platform="meta", signal_health_status="no_data", gate_passed=False,
            gate_reasons=[f"{tag} gate"], healthy_threshold=70.0, degraded_threshold=40.0,
            action_payload={"note": f"{tag} gate payload"}, triggered_by=f"user:{tag}")
        session.add(gate)
        session.add(SandboxCampaign(tenant_id=tenant_id, platform="meta", entity_type="campaign",
                                    entity_id=s.entity_id, name=f"{tag} sandbox", daily_budget=budget))
        session.add(CampaignMetricsDaily(tenant_id=tenant_id, platform="meta", entity_id=s.entity_id,
                                         day=utcnow().date(), spend=spend, revenue=spend / 4, conversions=3,
                                         roas=0.25, cpa=spend / 3))
        session.add(PlatformRequest(action_id=action.id, tenant_id=tenant_id, platform="meta", adapter="sandbox",
                                    idempotency_key=f"{tag}-idem", fingerprint=f"{tag}-print",
                                    request={"note": f"{tag} request"}, state="sent"))
        key = apikeys.create_key(session, name=f"{tag}-key", tenant_id=tenant_id, role="viewer")
        log_id = record_intervention(session, tenant_id, intervention_action="warned", actor=f"user:{tag}",
                                  action_type="budget_increase", entity_type="campaign", entity_id=s.entity_id,
                                  enforcement_mode="advisory", details={"note": f"{tag} intervention"})
        s.token = tokens.issue(session, tenant_id, proposal, [{"type": "budget_exceeded", "note": f"{tag} v"}])
        append_event(session, action="isolation.seeded", actor=f"user:{tag}", tenant_id=tenant_id,
                     target_type="test", target_id=tag, details={"note": f"{tag} ledger"})
        session.flush()
        s.audit_log_id = log_id
        jti = jwt.decode(s.token, options={"verify_signature": False})["jti"]
        s.markers = {action.id, f"{tag} Sale", f"{tag} reason", f"{tag} note", f"{tag} event", f"{tag} frozen",
                     s.rule_id, f"{tag} rule text", f"{tag} gate", gate.id, f"{tag} sandbox", f"{budget:.2f}",
                     f"{spend:.2f}", f"{emq:.2f}", f"{tag}-idem", f"{tag}-key", key.record.prefix, log_id,
                     f"{tag} intervention", jti, f"{tag} ledger", f"{tag}-admin", f"{tag}-operator"}
    return s


def counts(tenant_id: int) -> dict[str, int]:
    """Rows per tenant table for the tenant, read through the scope helper."""
    with session_scope(writer=False) as session:
        return {table.name: session.scalar(scoped(select(func.count()).select_from(table), tenant_id))
                for table in tenant_tables()}


def snapshot(tenant_id: int) -> dict[str, list[str]]:
    """Every row of the tenant in every tenant table, as comparable text."""
    with session_scope(writer=False) as session:
        return {table.name: sorted(repr(tuple(row)) for row in session.execute(scoped(select(table), tenant_id)))
                for table in tenant_tables()}
