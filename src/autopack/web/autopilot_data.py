"""Reads for the autopilot page, and the settings form turned into the API's partial update."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from autopack.autopilot.actions import service as actions
from autopack.autopilot.config import service as config
from autopack.autopilot.enforcement import audit
from autopack.autopilot.enforcement.config import settings_dict
from autopack.autopilot.enforcement.engine import MODE_DESCRIPTIONS
from autopack.autopilot.enforcement.rules import CUSTOM_RULE_TYPES
from autopack.autopilot.enforcement.service import get_enforcement_settings
from autopack.autopilot.execution.service import held_reasons
from autopack.autopilot.settings import get_autopilot_settings
from autopack.autopilot.signal_health import service as signal_health
from autopack.core.errors import BadRequest

QUEUE_SHOWN = 100
LOG_SHOWN = 50
# The settings form's fields and how a posted text becomes the API's value.
NUMBER_FIELDS = {"max_daily_budget": float, "max_campaign_budget": float, "budget_increase_limit_pct": float,
                 "min_roas_threshold": float, "roas_lookback_days": int, "max_budget_changes_per_day": int,
                 "min_hours_between_changes": int}
NULLABLE = ("max_daily_budget", "max_campaign_budget")


def page_data(session: Session, tenant_id: int, action_id: str | None) -> dict[str, Any]:
    """The queue, the chosen action, settings, rules, the intervention log, health and holds."""
    queued = actions.list_actions(session, tenant_id, on_date=None, status="queued", platform=None,
                                  limit=QUEUE_SHOWN, cursor=None)["actions"]
    recent = actions.list_actions(session, tenant_id, on_date=None, status=None, platform=None, limit=20,
                                  cursor=None)["actions"]
    chosen, verdicts = None, []
    if action_id:
        chosen = actions.action_view(actions.get_action(session, tenant_id, action_id))
        rows, _ = audit.list_logs(session, tenant_id, days=90, limit=20, filters={"entity_id": chosen["entity_id"]})
        verdicts = [audit.log_dict(r) for r in rows]
    settings = get_autopilot_settings(session, tenant_id)
    waiting = actions.approved_waiting(session, tenant_id)
    logs, _ = audit.list_logs(session, tenant_id, days=30, limit=LOG_SHOWN)
    health = signal_health.current_health(session, tenant_id).view()
    return {
        "queued": queued, "recent": recent, "chosen": chosen, "verdicts": verdicts,
        "enforcement": settings_dict(get_enforcement_settings(session, tenant_id)),
        "modes": MODE_DESCRIPTIONS, "rule_types": sorted(CUSTOM_RULE_TYPES),
        "config": config.config_view(settings), "frozen": settings.frozen, "frozen_reason": settings.frozen_reason,
        "approved_waiting": sum(waiting.values()), "held_reasons": held_reasons(session, tenant_id, sorted(waiting)),
        "logs": [audit.log_dict(r) for r in logs], "health": health,
        "health_percent": max(0, min(100, round(health["score"]))) if health["score"] is not None else 0,
    }


def settings_changes(session: Session, tenant_id: int, fields: dict[str, list[str]]) -> dict[str, Any]:
    """The posted settings that differ from the stored ones, typed for SettingsUpdate (it validates)."""
    current = settings_dict(get_enforcement_settings(session, tenant_id))
    changes: dict[str, Any] = {}
    mode = (fields.get("default_mode") or [""])[0].strip()
    if mode and mode != current["default_mode"]:
        changes["default_mode"] = mode
    for name, kind in NUMBER_FIELDS.items():
        raw = (fields.get(name) or [None])[0]
        if raw is None:
            continue  # not on the form: unchanged
        raw = raw.strip()
        if not raw:
            if name in NULLABLE and current[name] is not None:
                changes[name] = None  # an emptied cap is cleared
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise BadRequest(f"{name}: not a {'whole ' if kind is int else ''}number") from None
        if value != current[name]:
            changes[name] = value
    return changes
