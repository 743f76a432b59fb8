"""The trust gate's dry-run (DECISIONS §4.10): signal health, enforcement and the level check."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from autopack.autopilot.actions.policy import PolicyContext, decide
from autopack.autopilot.enforcement.service import evaluate, get_enforcement_settings
from autopack.autopilot.proposals import ActionProposal
from autopack.autopilot.settings import get_autopilot_settings
from autopack.autopilot.signal_health.service import current_health
from autopack.core.errors import EnvelopeError
from autopack.db.models import TrustGateAuditLog

DRY_RUN_MESSAGE = "Dry-run simulation completed. No changes were made."
_HEALTH_DECISION = {"healthy": "execute", "degraded": "hold", "no_data": "hold", "critical": "block"}
_HEALTH_WARNING = {"degraded": "Consider improving data quality before executing",
                   "no_data": "Record signal-health readings before executing (no recent data: fail closed)",
                   "critical": "Signal health is critical: manual intervention required"}
_RANK = {"execute": 0, "hold": 1, "block": 2}


def _worse(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b


def _feature_disabled() -> EnvelopeError:
    return EnvelopeError(403, "FEATURE_NOT_ENABLED", "Action dry-run feature not enabled for this tenant",
                         {"feature": "action_dry_run"})


def dry_run(session: Session, tenant_id: int, proposal: ActionProposal, actor: str) -> dict[str, Any]:
    """Decide execute/hold/block without changing anything but one trust-gate audit row."""
    settings = get_autopilot_settings(session, tenant_id)
    if not settings.action_dry_run:
        raise _feature_disabled()
    health = current_health(session, tenant_id, proposal.platform)
    decision = _HEALTH_DECISION[health.status]
    reasons = list(health.reasons)
    warnings = [_HEALTH_WARNING[health.status]] if health.status in _HEALTH_WARNING else []

    enforcement = evaluate(session, tenant_id, proposal, actor=actor, record=False)
    if enforcement.outcome == "hard_block" or enforcement.requires_confirmation:
        decision = _worse(decision, "block" if enforcement.outcome == "hard_block" else "hold")
        reasons += [f"Enforcement ({enforcement.outcome}): {v.get('message', v.get('type'))}"
                    for v in enforcement.violations]
    warnings += [w for w in enforcement.warnings if w not in warnings]

    limit = get_enforcement_settings(session, tenant_id).budget_increase_limit_pct
    level = decide(PolicyContext(proposal, settings, limit))
    if not level.auto_approved:
        decision = _worse(decision, "hold")
        reasons.append(f"Autopilot check: {level.reason}")

    gate_passed = decision == "execute"
    row = TrustGateAuditLog(
        tenant_id=tenant_id, decision_type=decision, action_type=proposal.action_type,
        entity_type=proposal.entity_type, entity_id=proposal.entity_id, entity_name=proposal.entity_name or None,
        platform=proposal.platform, signal_health_score=health.score, signal_health_status=health.status,
        gate_passed=gate_passed, gate_reasons=reasons, healthy_threshold=health.healthy_threshold,
        degraded_threshold=health.degraded_threshold, is_dry_run=True,
        action_payload=proposal.model_dump(mode="json"), triggered_by=actor)
    session.add(row)
    session.flush()
    return {
        "would_execute": gate_passed,
        "decision_type": decision,
        "signal_health_score": health.score,
        "signal_health_status": health.status,
        "gate_passed": gate_passed,
        "gate_reasons": reasons,
        "healthy_threshold": health.healthy_threshold,
        "degraded_threshold": health.degraded_threshold,
        "action_preview": {"action_type": proposal.action_type, "entity_type": proposal.entity_type,
                           "entity_id": proposal.entity_id, "entity_name": proposal.entity_name,
                           "platform": proposal.platform, "details": proposal.action_json},
        "warnings": warnings,
        "enforcement_outcome": enforcement.outcome,
        "audit_log_id": row.id,
        "message": DRY_RUN_MESSAGE,
    }
