"""Audited enforcement administration: settings, the kill switch, confirmations and custom rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.autopilot import settings as store
from autopack.autopilot.enforcement import config, tokens
from autopack.autopilot.enforcement.audit import record_intervention
from autopack.autopilot.settings import RuleSpec, SettingsSnapshot
from autopack.core.errors import EnvelopeError


def update_settings(session: Session, tenant_id: int, changes: dict[str, Any], *, actor: str,
                    user_id: int | None) -> SettingsSnapshot:
    """Partial update, ledgered; a change of enforcement_enabled is also a kill_switch_changed row."""
    snapshot, before = store.update_enforcement_settings(session, tenant_id, changes)
    changed = {name: {"from": before[name], "to": value} for name, value in changes.items()
               if before.get(name) != value}
    if "enforcement_enabled" in changed:
        record_intervention(session, tenant_id, intervention_action="kill_switch_changed", actor=actor,
                            user_id=user_id, action_type="kill_switch", entity_type="tenant",
                            entity_id=str(tenant_id), enforcement_mode=snapshot.default_mode,
                            details={"enabled": snapshot.enforcement_enabled, "reason": None,
                                     "via": "PUT /enforcement/settings"})
    append_event(session, action="enforcement.settings_updated", actor=actor, tenant_id=tenant_id,
                 target_type="enforcement_settings", target_id=str(tenant_id), details={"changed": changed})
    return snapshot


def set_kill_switch(session: Session, tenant_id: int, *, enabled: bool, reason: str, actor: str,
                    user_id: int | None) -> str:
    """Turn enforcement on or off (audited `kill_switch_changed`); returns the audit row id."""
    previous, default_mode = store.set_enforcement_enabled(session, tenant_id, enabled)
    return record_intervention(session, tenant_id, intervention_action="kill_switch_changed", actor=actor,
                               user_id=user_id, action_type="kill_switch", entity_type="tenant",
                               entity_id=str(tenant_id), enforcement_mode=default_mode,
                               details={"enabled": enabled, "previous": previous, "reason": reason},
                               override_reason=reason)


def confirm(session: Session, tenant_id: int, token: str, *, override_reason: str | None, actor: str,
            user_id: int | None) -> dict[str, Any]:
    """POST /confirm: consume the token's confirmation once and log the override."""
    if not store.load_enforcement_settings(session, tenant_id).enforcement_enabled:
        raise EnvelopeError(403, "KILL_SWITCH_DISABLED", "Enforcement is disabled for this tenant",
                            {"enforcement_enabled": False})
    claims, stored = tokens.confirm(session, token, tenant_id)
    violations = list(stored.violations or []) if stored is not None else []
    audit_log_id = record_intervention(
        session, tenant_id, intervention_action="override_logged", actor=actor, user_id=user_id,
        action_type=claims["act"], entity_type=claims["ety"], entity_id=claims["eid"],
        enforcement_mode="soft_block", violation_type=violations[0]["type"] if violations else None,
        details={"violations": violations, "confirmation_jti": claims["jti"]}, override_reason=override_reason)
    return {"message": "Action confirmed - you may now proceed", "override_logged": True,
            "audit_log_id": audit_log_id, "action_type": claims["act"], "entity_type": claims["ety"],
            "entity_id": claims["eid"], "expires_at": stored.expires_at if stored is not None else None}


def add_rule(session: Session, tenant_id: int, spec: RuleSpec, *, actor: str) -> RuleSpec:
    """Add a custom rule (feature flag, type and uniqueness checked), ledgered."""
    if not store.custom_rules_enabled(session, tenant_id):
        raise EnvelopeError(403, "FEATURE_NOT_ENABLED", "Custom autopilot rules are not enabled for this tenant",
                            {"feature": "custom_autopilot_rules"})
    config.add_rule(session, tenant_id, spec)
    append_event(session, action="enforcement.rule_added", actor=actor, tenant_id=tenant_id,
                 target_type="enforcement_rule", target_id=spec.rule_id, details=config.rule_dict(spec))
    return spec


def delete_rule(session: Session, tenant_id: int, rule_id: str, *, actor: str) -> None:
    """Delete a custom rule (404 RULE_NOT_FOUND), ledgered."""
    config.delete_rule(session, tenant_id, rule_id)
    append_event(session, action="enforcement.rule_deleted", actor=actor, tenant_id=tenant_id,
                 target_type="enforcement_rule", target_id=rule_id, details={})
