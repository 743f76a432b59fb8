"""Enforcement decisions: evaluate a proposal against the tenant's rules, mint or redeem confirmations.

`evaluate` is what POST /enforcement/check, POST /actions, dry-runs and the execution worker call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from autopack.autopilot.enforcement import facts, tokens
from autopack.autopilot.enforcement.audit import record_intervention
from autopack.autopilot.enforcement.engine import (
    EngineDecision,
    build_rules,
    needed_facts,
    run_rules,
)
from autopack.autopilot.proposals import ActionProposal
from autopack.autopilot.settings import SettingsSnapshot, load_enforcement_settings
from autopack.db.base import utcnow

DISABLED_WARNING = "Enforcement is disabled for this tenant"
CONFIRM_WARNING = "Confirmation required to proceed."
BLOCKED_WARNING = "Action blocked by enforcement (hard_block); it cannot be confirmed."
_INTERVENTION = {"allowed": "allowed", "advisory": "warned", "soft_block": "confirmation_required",
                 "hard_block": "blocked"}


@dataclass
class EnforcementResult:
    """The outcome of one evaluation."""

    outcome: str  # allowed | advisory | soft_block | hard_block
    mode: str  # the effective (strictest) mode; the default mode when nothing was violated
    violations: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    confirmation_token: str | None = None
    confirmed: bool = False
    audit_log_id: str | None = None
    enforcement_enabled: bool = True
    confirmation_jti: str | None = None  # the redeemed token's jti (store it on the action)
    increase_limit_pct: float | None = None  # the settings' budget_increase_limit_pct (the approval policy's)

    @property
    def allowed(self) -> bool:
        """True when the action may proceed now (advisory, or a soft block confirmed for exactly it)."""
        return self.outcome in ("allowed", "advisory") or (self.outcome == "soft_block" and self.confirmed)

    @property
    def requires_confirmation(self) -> bool:
        """A soft block that no valid token has confirmed yet."""
        return self.outcome == "soft_block" and not self.confirmed

    @property
    def first_violation_type(self) -> str | None:
        """The type of the first violation (audit rows and error details)."""
        return self.violations[0]["type"] if self.violations else None


def get_enforcement_settings(session: Session, tenant_id: int) -> SettingsSnapshot:
    """The tenant's enforcement settings and rules (the defaults when nothing is stored)."""
    return load_enforcement_settings(session, tenant_id)


def _details(proposal: ActionProposal, decision: EngineDecision | None, context_source: str | None,
             extra: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {
        "proposed_value": {"new_budget": proposal.new_budget, "current_budget": proposal.current_budget,
                           "change_percent": proposal.change_percent},
        "proposed_hash": proposal.proposed_hash(),
    }
    if decision is not None:
        details["violations"] = [v.as_dict() for v in decision.violations]
        details["rules_evaluated"] = list(decision.evaluated)
        details["metrics_source"] = context_source
    details.update(extra)
    return details


def evaluate(session: Session, tenant_id: int, proposal: ActionProposal, *, actor: str,
             confirmation_token: str | None = None, record: bool = True, metrics: dict[str, Any] | None = None,
             user_id: int | None = None) -> EnforcementResult:
    """Run the tenant's rules on `proposal`; record=False (execution re-checks) writes and consumes nothing.

    `metrics` ({"roas", "cpa"}) come from the request; missing ones are averaged from stored daily
    metrics over `roas_lookback_days`. A token is redeemed only for a soft block; an invalid, expired,
    reused, foreign or differently-bound one raises 400 INVALID_CONFIRMATION_TOKEN.
    """
    settings = load_enforcement_settings(session, tenant_id)
    if metrics is None and isinstance(proposal.action_json.get("metrics"), dict):
        metrics = proposal.action_json["metrics"]
    if not settings.enforcement_enabled:
        result = EnforcementResult("allowed", "advisory", warnings=[DISABLED_WARNING], enforcement_enabled=False,
                                   increase_limit_pct=settings.budget_increase_limit_pct)
        if record:
            result.audit_log_id = record_intervention(
                session, tenant_id, intervention_action="allowed", actor=actor, user_id=user_id,
                action_type=proposal.action_type, entity_type=proposal.entity_type, entity_id=proposal.entity_id,
                enforcement_mode=None, details=_details(proposal, None, None, {"enforcement_enabled": False}))
        return result

    rules = build_rules(settings, proposal.action_type)
    context = facts.build_context(session, tenant_id, proposal, metrics, needed_facts(rules),
                                  settings.roas_lookback_days, utcnow())
    decision = run_rules(rules, context, settings.default_mode)
    result = EnforcementResult(decision.outcome, decision.mode, [v.as_dict() for v in decision.violations],
                               list(decision.warnings), increase_limit_pct=settings.budget_increase_limit_pct)
    extra: dict[str, Any] = {}
    intervention = _INTERVENTION[result.outcome]
    if result.outcome == "soft_block":
        if confirmation_token is not None:
            if record:
                claims = tokens.redeem(session, confirmation_token, tenant_id, proposal)
                intervention, extra["confirmation_jti"] = "confirmed", claims["jti"]
            else:
                claims = tokens.verify_only(confirmation_token, tenant_id, proposal)
            result.confirmed, result.confirmation_jti = True, claims["jti"]
        elif record:
            result.confirmation_token = tokens.issue(session, tenant_id, proposal, result.violations)
        if not result.confirmed:
            result.warnings.append(CONFIRM_WARNING)
    elif result.outcome == "hard_block":
        result.warnings.append(BLOCKED_WARNING)
        extra["override_attempted"] = confirmation_token is not None  # "log override attempts"
    if record:
        result.audit_log_id = record_intervention(
            session, tenant_id, intervention_action=intervention, actor=actor, user_id=user_id,
            action_type=proposal.action_type, entity_type=proposal.entity_type, entity_id=proposal.entity_id,
            enforcement_mode=result.mode, violation_type=result.first_violation_type,
            details=_details(proposal, decision, context.metrics_source, extra))
    return result
