"""A tenant's autopilot configuration: the view, audited changes, freeze and unfreeze."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.autopilot.enforcement.audit import record_intervention
from autopack.autopilot.settings import change_autopilot_settings, set_frozen_flag
from autopack.db.models import AutopilotSettings

LEVEL_NAMES = {0: "Suggest Only", 1: "Guarded Auto", 2: "Approval Required"}
CAP_KEYS = ("daily_max", "campaign_max", "cpa_ceiling", "roas_floor")
FLAG_KEYS = ("action_dry_run", "custom_autopilot_rules")


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
    settings, diff = change_autopilot_settings(session, tenant_id, changes, actor)
    if diff:
        append_event(session, action="autopilot.config_changed", actor=actor, tenant_id=tenant_id,
                     target_type="autopilot_settings", target_id=tenant_id, details={"changes": diff})
    return settings


def set_frozen(session: Session, tenant_id: int, frozen: bool, actor: str, reason: str | None,
               user_id: int | None = None) -> AutopilotSettings:
    """Freeze (stop all execution) or unfreeze; ledger `autopilot.freeze_changed` + intervention log row."""
    settings, was = set_frozen_flag(session, tenant_id, frozen, actor, reason)
    append_event(session, action="autopilot.freeze_changed", actor=actor, tenant_id=tenant_id,
                 target_type="autopilot_settings", target_id=tenant_id,
                 details={"frozen": frozen, "was_frozen": was, "reason": reason})
    record_intervention(session, tenant_id, intervention_action="freeze_changed", actor=actor, action_type="freeze",
                        entity_type="tenant", entity_id=str(tenant_id), enforcement_mode=None, user_id=user_id,
                        details={"frozen": frozen, "was_frozen": was, "reason": reason})
    return settings
