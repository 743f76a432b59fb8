"""Enforcement settings and custom rules: read (defaults when nothing is stored), update, add, delete."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.autopilot.enforcement.engine import RuleSpec, SettingsSnapshot
from autopack.autopilot.enforcement.rules import CUSTOM_RULE_TYPES
from autopack.core.errors import EnvelopeError
from autopack.db.models.enforcement import TenantEnforcementRule, TenantEnforcementSettings

SETTING_FIELDS = tuple(f.name for f in fields(SettingsSnapshot) if f.name != "rules")


def load_settings(session: Session, tenant_id: int) -> SettingsSnapshot:
    """The tenant's settings and rules as an immutable snapshot (defaults when no row)."""
    # Plain column rows, not ORM objects: this runs on every check.
    row = session.execute(select(*[getattr(TenantEnforcementSettings, name) for name in SETTING_FIELDS])
                          .where(TenantEnforcementSettings.tenant_id == tenant_id)).first()
    rule = TenantEnforcementRule
    rules = tuple(RuleSpec(*r) for r in session.execute(
        select(rule.rule_id, rule.rule_type, rule.threshold_value, rule.enforcement_mode, rule.enabled,
               rule.description)
        .where(rule.tenant_id == tenant_id).order_by(rule.created_at, rule.rule_id)))
    if row is None:
        return SettingsSnapshot(rules=rules)
    return SettingsSnapshot(*row, rules=rules)


def settings_dict(snapshot: SettingsSnapshot) -> dict[str, Any]:
    """The contract's `settings` object (rules included)."""
    data = asdict(snapshot)
    data["rules"] = [rule_dict(r) for r in snapshot.rules]
    return data


def rule_dict(rule: RuleSpec) -> dict[str, Any]:
    """The contract's rule object."""
    return asdict(rule)


def _settings_row(session: Session, tenant_id: int) -> TenantEnforcementSettings:
    """The tenant's row, created with the defaults on first write (race-safe)."""
    stmt = (select(TenantEnforcementSettings).where(TenantEnforcementSettings.tenant_id == tenant_id)
            .with_for_update())
    row = session.scalar(stmt)
    if row is not None:
        return row
    defaults = {name: getattr(SettingsSnapshot(), name) for name in SETTING_FIELDS}
    try:
        with session.begin_nested():
            row = TenantEnforcementSettings(tenant_id=tenant_id, **defaults)
            session.add(row)
    except IntegrityError:  # another writer created it first
        row = session.scalar(stmt)
    return row


def update_settings(session: Session, tenant_id: int, changes: dict[str, Any]) -> tuple[SettingsSnapshot,
                                                                                          dict[str, Any]]:
    """Partial update (only the given keys; explicit None clears a nullable cap); returns (new, before)."""
    row = _settings_row(session, tenant_id)
    before = {name: getattr(row, name) for name in SETTING_FIELDS}
    for name, value in changes.items():
        if name not in SETTING_FIELDS:
            raise EnvelopeError(422, "VALIDATION_ERROR", f"Unknown setting {name}")
        setattr(row, name, value)
    session.flush()
    return load_settings(session, tenant_id), before


def set_enforcement_enabled(session: Session, tenant_id: int, enabled: bool) -> tuple[bool, str]:
    """Flip the kill switch; returns (previous value, default mode)."""
    row = _settings_row(session, tenant_id)
    previous = row.enforcement_enabled
    row.enforcement_enabled = enabled
    session.flush()
    return previous, row.default_mode


def add_rule(session: Session, tenant_id: int, spec: RuleSpec) -> RuleSpec:
    """Store a custom rule: unknown type → 422, duplicate rule_id → 409 RULE_ALREADY_EXISTS."""
    if spec.rule_type not in CUSTOM_RULE_TYPES:
        raise EnvelopeError(422, "VALIDATION_ERROR",
                            f"Invalid rule type: {spec.rule_type}. Valid types: {sorted(CUSTOM_RULE_TYPES)}",
                            {"field": "rule_type", "valid_types": sorted(CUSTOM_RULE_TYPES)})
    try:
        with session.begin_nested():
            session.add(TenantEnforcementRule(tenant_id=tenant_id, **asdict(spec)))
    except IntegrityError:
        raise EnvelopeError(409, "RULE_ALREADY_EXISTS", f"Rule '{spec.rule_id}' already exists",
                            {"rule_id": spec.rule_id}) from None
    return spec


def delete_rule(session: Session, tenant_id: int, rule_id: str) -> None:
    """Delete a custom rule; 404 RULE_NOT_FOUND when the tenant has none by that id."""
    result = session.execute(delete(TenantEnforcementRule)
                             .where(TenantEnforcementRule.tenant_id == tenant_id,
                                    TenantEnforcementRule.rule_id == rule_id)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise EnvelopeError(404, "RULE_NOT_FOUND", f"Rule '{rule_id}' not found", {"rule_id": rule_id})


def custom_rules_enabled(session: Session, tenant_id: int) -> bool:
    """The `custom_autopilot_rules` feature flag (CORE's autopilot settings; on by default)."""
    from autopack.autopilot.config.service import get_autopilot_settings

    return bool(get_autopilot_settings(session, tenant_id).custom_autopilot_rules)
