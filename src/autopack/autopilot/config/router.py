"""Status, configuration and the freeze (an emergency stop of all execution for the tenant)."""

from __future__ import annotations

from fastapi import APIRouter

from autopack.autopilot.actions.service import approved_waiting, pending_count
from autopack.autopilot.api import AdminWrite, ViewerRead, ok
from autopack.autopilot.config import service
from autopack.autopilot.config.schemas import (
    AutopilotStatus,
    ConfigChanged,
    ConfigUpdate,
    FreezeRequest,
    UnfreezeRequest,
)
from autopack.autopilot.execution.service import held_reasons
from autopack.autopilot.settings import get_autopilot_settings
from autopack.core.answers import Envelope, documented
from autopack.core.database import ReadSession, WriteSession

router = APIRouter(tags=["autopilot"])


@router.get("/status", responses=documented(Envelope[AutopilotStatus]))
def get_status(ctx: ViewerRead, session: ReadSession):
    """Level, caps, pending actions, whether autopilot is enabled or frozen, and why approved actions wait."""
    settings = get_autopilot_settings(session, ctx.tenant_id)
    view = service.config_view(settings)
    waiting = approved_waiting(session, ctx.tenant_id)
    reasons = held_reasons(session, ctx.tenant_id, sorted(waiting))
    return ok({
        "autopilot_level": view["autopilot_level"],
        "autopilot_level_name": view["autopilot_level_name"],
        "pending_actions": pending_count(session, ctx.tenant_id),
        "caps": view["caps"],
        "enabled": settings.enabled and settings.level > 0,
        "frozen": settings.frozen,
        "frozen_at": settings.frozen_at,
        "frozen_reason": settings.frozen_reason,
        "feature_flags": view["feature_flags"],
        "healthy_threshold": settings.healthy_threshold,
        "degraded_threshold": settings.degraded_threshold,
        "approved_actions": sum(waiting.values()),
        "held": bool(reasons),
        "held_reasons": reasons,
    })


@router.put("/config", responses=documented(Envelope[ConfigChanged]))
def update_config(body: ConfigUpdate, ctx: AdminWrite, session: WriteSession):
    """Change level, caps, feature flags or trust thresholds (partial; null clears a cap)."""
    settings = service.update_config(session, ctx.tenant_id, body.changes(), ctx.actor)
    return ok({"message": "Autopilot configuration updated", "config": service.config_view(settings)})


@router.post("/freeze", responses=documented(Envelope[ConfigChanged]))
def freeze(body: FreezeRequest, ctx: AdminWrite, session: WriteSession):
    """Stop all execution for the tenant until unfrozen."""
    settings = service.set_frozen(session, ctx.tenant_id, True, ctx.actor, body.reason, ctx.user_id)
    return ok({"message": "Autopilot frozen: no action will be approved or executed until unfrozen",
               "config": service.config_view(settings)})


@router.post("/unfreeze", responses=documented(Envelope[ConfigChanged]))
def unfreeze(ctx: AdminWrite, session: WriteSession, body: UnfreezeRequest | None = None):
    """Let execution resume."""
    settings = service.set_frozen(session, ctx.tenant_id, False, ctx.actor, body.reason if body else None,
                                   ctx.user_id)
    return ok({"message": "Autopilot unfrozen: approved actions may execute again",
               "config": service.config_view(settings)})
