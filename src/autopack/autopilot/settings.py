"""A tenant's autopilot and enforcement settings rows: read (defaults when none), create on first write, change.

The bottom of `autopilot/`: it imports only core and db, so the config service, enforcement, actions,
signal health and execution all read the same rows the same way. Auditing a change is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.core import statements
from autopack.core.database import flushed_connection
from autopack.core.errors import EnvelopeError
from autopack.db.base import utcnow
from autopack.db.models import AutopilotSettings, Tenant
from autopack.db.models.enforcement import TenantEnforcementRule, TenantEnforcementSettings
from autopack.db.scope import TENANT, scoped

# Level 2 is the safest default (DECISIONS §4.5); the caps are the contract's guarded-mode values.
DEFAULTS: dict[str, Any] = {
    "level": 2, "enabled": True, "daily_max": 1000.0, "campaign_max": 5000.0, "cpa_ceiling": 50.0,
    "roas_floor": 1.5, "frozen": False, "frozen_at": None, "frozen_by": None, "frozen_reason": None,
    "action_dry_run": True, "custom_autopilot_rules": True, "healthy_threshold": 70.0,
    "degraded_threshold": 40.0, "updated_by": None,
}


@dataclass(frozen=True)
class RuleSpec:
    """A custom rule as stored: a snapshot, so a rule deleted meanwhile cannot break an evaluation."""

    rule_id: str
    rule_type: str
    threshold_value: float
    enforcement_mode: str = "advisory"
    enabled: bool = True
    description: str | None = None


@dataclass(frozen=True)
class SettingsSnapshot:
    """A tenant's enforcement settings (the defaults of reference §3.10 when nothing is stored)."""

    enforcement_enabled: bool = True
    default_mode: str = "advisory"
    max_daily_budget: float | None = None
    max_campaign_budget: float | None = None
    budget_increase_limit_pct: float = 30.0
    min_roas_threshold: float = 1.0
    roas_lookback_days: int = 7
    max_budget_changes_per_day: int = 5
    min_hours_between_changes: int = 4
    rules: tuple[RuleSpec, ...] = field(default_factory=tuple)


SETTING_FIELDS = tuple(f.name for f in fields(SettingsSnapshot) if f.name != "rules")


def _is_writer(session: Session) -> bool:
    return bool(session.get_bind().get_execution_options().get("autopack_writer"))


def _defaults(tenant_id: int) -> AutopilotSettings:
    return AutopilotSettings(tenant_id=tenant_id, updated_at=utcnow(), **DEFAULTS)


# Built once: every action, approval and execution reads them.
_AUTOPILOT_SETTINGS = scoped(AutopilotSettings, TENANT)
_AUTOPILOT_SETTINGS_FOR_UPDATE = _AUTOPILOT_SETTINGS.with_for_update()


def get_autopilot_settings(session: Session, tenant_id: int, *, for_update: bool = False) -> AutopilotSettings:
    """The tenant's settings; created with defaults in write sessions, a detached default object in reads."""
    stmt = _AUTOPILOT_SETTINGS_FOR_UPDATE if for_update else _AUTOPILOT_SETTINGS
    row = session.scalars(stmt, {"tenant_id": tenant_id}).one_or_none()
    if row is not None:
        return row
    if not _is_writer(session):
        return _defaults(tenant_id)
    if session.get(Tenant, tenant_id) is None:
        raise EnvelopeError(404, "TENANT_NOT_FOUND", f"Tenant {tenant_id} not found")
    try:
        with session.begin_nested():
            row = _defaults(tenant_id)
            session.add(row)
    except IntegrityError:  # another writer created it first (PostgreSQL): use theirs
        row = session.scalars(stmt, {"tenant_id": tenant_id}).one()
    return row


def change_autopilot_settings(session: Session, tenant_id: int, changes: dict[str, Any],
                              actor: str) -> tuple[AutopilotSettings, dict[str, Any]]:
    """Apply a validated partial update; returns the row and {key: {"from", "to"}} of what changed."""
    settings = get_autopilot_settings(session, tenant_id, for_update=True)
    healthy = changes.get("healthy_threshold", settings.healthy_threshold)
    degraded = changes.get("degraded_threshold", settings.degraded_threshold)
    if degraded > healthy:
        raise EnvelopeError(422, "VALIDATION_ERROR", "degraded_threshold must not exceed healthy_threshold",
                            {"healthy_threshold": healthy, "degraded_threshold": degraded})
    diff = {}
    for key, value in changes.items():
        old = getattr(settings, key)
        if old != value:
            diff[key] = {"from": old, "to": value}
            setattr(settings, key, value)
    if diff:
        settings.updated_by = actor
        settings.updated_at = utcnow()
        session.flush()
    return settings, diff


def set_frozen_flag(session: Session, tenant_id: int, frozen: bool, actor: str,
                    reason: str | None) -> tuple[AutopilotSettings, bool]:
    """Set or clear the freeze; returns the row and whether it was frozen before."""
    settings = get_autopilot_settings(session, tenant_id, for_update=True)
    was = settings.frozen
    settings.frozen = frozen
    settings.frozen_at = utcnow() if frozen else None
    settings.frozen_by = actor if frozen else None
    settings.frozen_reason = reason if frozen else None
    settings.updated_by, settings.updated_at = actor, utcnow()
    session.flush()
    return settings, was


def custom_rules_enabled(session: Session, tenant_id: int) -> bool:
    """The `custom_autopilot_rules` feature flag (on by default)."""
    return bool(get_autopilot_settings(session, tenant_id).custom_autopilot_rules)


# Built once: they run on every check, action and dry run (plain column rows, not ORM objects).
_SETTINGS = scoped(select(*[getattr(TenantEnforcementSettings, name) for name in SETTING_FIELDS]), TENANT)
_RULES = scoped(select(TenantEnforcementRule.rule_id, TenantEnforcementRule.rule_type,
                       TenantEnforcementRule.threshold_value, TenantEnforcementRule.enforcement_mode,
                       TenantEnforcementRule.enabled, TenantEnforcementRule.description), TENANT
                ).order_by(TenantEnforcementRule.created_at, TenantEnforcementRule.rule_id)


def load_enforcement_settings(session: Session, tenant_id: int) -> SettingsSnapshot:
    """The tenant's enforcement settings and rules as an immutable snapshot (defaults when no row)."""
    conn = flushed_connection(session)
    row = statements.one_row(conn, _SETTINGS, {"tenant_id": tenant_id})
    rules = tuple(RuleSpec(*r) for r in statements.rows(conn, _RULES, {"tenant_id": tenant_id}))
    if row is None:
        return SettingsSnapshot(rules=rules)
    return SettingsSnapshot(*row, rules=rules)


def _enforcement_row(session: Session, tenant_id: int) -> TenantEnforcementSettings:
    """The tenant's row, created with the defaults on first write (race-safe)."""
    stmt = scoped(TenantEnforcementSettings, tenant_id).with_for_update()
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


def update_enforcement_settings(session: Session, tenant_id: int,
                                changes: dict[str, Any]) -> tuple[SettingsSnapshot, dict[str, Any]]:
    """Partial update (only the given keys; explicit None clears a nullable cap); returns (new, before)."""
    row = _enforcement_row(session, tenant_id)
    before = {name: getattr(row, name) for name in SETTING_FIELDS}
    for name, value in changes.items():
        if name not in SETTING_FIELDS:
            raise EnvelopeError(422, "VALIDATION_ERROR", f"Unknown setting {name}")
        setattr(row, name, value)
    session.flush()
    return load_enforcement_settings(session, tenant_id), before


def set_enforcement_enabled(session: Session, tenant_id: int, enabled: bool) -> tuple[bool, str]:
    """Flip the kill switch; returns (previous value, default mode)."""
    row = _enforcement_row(session, tenant_id)
    previous = row.enforcement_enabled
    row.enforcement_enabled = enabled
    session.flush()
    return previous, row.default_mode
