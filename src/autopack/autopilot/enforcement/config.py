"""Enforcement settings as the API shows them, and the tenant's custom rules: add, delete."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.autopilot.enforcement.rules import CUSTOM_RULE_TYPES
from autopack.autopilot.settings import RuleSpec, SettingsSnapshot
from autopack.core.errors import EnvelopeError
from autopack.db.models.enforcement import TenantEnforcementRule
from autopack.db.scope import scoped_delete


def settings_dict(snapshot: SettingsSnapshot) -> dict[str, Any]:
    """The contract's `settings` object (rules included)."""
    data = asdict(snapshot)
    data["rules"] = [rule_dict(r) for r in snapshot.rules]
    return data


def rule_dict(rule: RuleSpec) -> dict[str, Any]:
    """The contract's rule object."""
    return asdict(rule)


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
    result = session.execute(scoped_delete(TenantEnforcementRule, tenant_id)
                             .where(TenantEnforcementRule.rule_id == rule_id)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise EnvelopeError(404, "RULE_NOT_FOUND", f"Rule '{rule_id}' not found", {"rule_id": rule_id})
