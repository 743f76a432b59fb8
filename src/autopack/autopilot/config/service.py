"""A tenant's autopilot settings: read (defaults when none), change, freeze and unfreeze."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.core.errors import EnvelopeError
from autopack.db.base import utcnow
from autopack.db.models import AutopilotSettings, Tenant

LEVEL_NAMES = {0: "Suggest Only", 1: "Guarded Auto", 2: "Approval Required"}
CAP_KEYS = ("daily_max", "campaign_max", "cpa_ceiling", "roas_floor")
FLAG_KEYS = ("action_dry_run", "custom_autopilot_rules")
# Level 2 is the safest default (DECISIONS §4.5); the caps are the contract's guarded-mode values.
DEFAULTS: dict[str, Any] = {
    "level": 2, "enabled": True, "daily_max": 1000.0, "campaign_max": 5000.0, "cpa_ceiling": 50.0,
    "roas_floor": 1.5, "frozen": False, "frozen_at": None, "frozen_by": None, "frozen_reason": None,
    "action_dry_run": True, "custom_autopilot_rules": True, "healthy_threshold": 70.0,
    "degraded_threshold": 40.0, "updated_by": None,
}


def _is_writer(session: Session) -> bool:
    return bool(session.get_bind().get_execution_options().get("autopack_writer"))


def _defaults(tenant_id: int) -> AutopilotSettings:
    return AutopilotSettings(tenant_id=tenant_id, updated_at=utcnow(), **DEFAULTS)


def get_autopilot_settings(session: Session, tenant_id: int, *, for_update: bool = False) -> AutopilotSettings:
    """The tenant's settings; created with defaults in write sessions, a detached default object in reads."""
    stmt = select(AutopilotSettings).where(AutopilotSettings.tenant_id == tenant_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).one_or_none()
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
        row = session.scalars(stmt).one()
    return row


def caps_of(settings: AutopilotSettings) -> dict[str, float | None]:
    """The four caps as the contract names them."""
    return {key: getattr(settings, key) for key in CAP_KEYS}


def config_view(settings: AutopilotSettings) -> dict[str, Any]:
    """Everything PUT /config can change, plus the freeze state."""
    return {
        "autopilot_level": settings.level,
        "autopilot_level_name": LEVEL_NAMES.get(settings.level, "Unknown"),
        "enabled": settings.enabled,
        "caps": caps_of(settings),
        "feature_flags": {key: getattr(settings, key) for key in FLAG_KEYS},
        "healthy_threshold": settings.healthy_threshold,
        "degraded_threshold": settings.degraded_threshold,
        "frozen": settings.frozen,
        "frozen_at": settings.frozen_at,
        "frozen_by": settings.frozen_by,
        "frozen_reason": settings.frozen_reason,
        "updated_at": settings.updated_at,
    }


def update_config(session: Session, tenant_id: int, changes: dict[str, Any], actor: str) -> AutopilotSettings:
    """Apply a partial update (already validated) and audit it as `autopilot.config_changed`."""
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
        append_event(session, action="autopilot.config_changed", actor=actor, tenant_id=tenant_id,
                     target_type="autopilot_settings", target_id=tenant_id, details={"changes": diff})
    return settings


def set_frozen(session: Session, tenant_id: int, frozen: bool, actor: str, reason: str | None,
               user_id: int | None = None) -> AutopilotSettings:
    """Freeze (stop all execution) or unfreeze; ledger `autopilot.freeze_changed` + intervention log row."""
    from autopack.autopilot.enforcement.service import record_intervention

    settings = get_autopilot_settings(session, tenant_id, for_update=True)
    was = settings.frozen
    settings.frozen = frozen
    settings.frozen_at = utcnow() if frozen else None
    settings.frozen_by = actor if frozen else None
    settings.frozen_reason = reason if frozen else None
    settings.updated_by, settings.updated_at = actor, utcnow()
    session.flush()
    append_event(session, action="autopilot.freeze_changed", actor=actor, tenant_id=tenant_id,
                 target_type="autopilot_settings", target_id=tenant_id,
                 details={"frozen": frozen, "was_frozen": was, "reason": reason})
    record_intervention(session, tenant_id, intervention_action="freeze_changed", actor=actor, action_type="freeze",
                        entity_type="tenant", entity_id=str(tenant_id), enforcement_mode=None, user_id=user_id,
                        details={"frozen": frozen, "was_frozen": was, "reason": reason})
    return settings
