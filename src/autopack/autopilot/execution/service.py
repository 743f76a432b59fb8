"""Execution decisions: re-validate an approved action now, pick its adapter, plan the exact change.

Re-validation order (DECISIONS §4.3, §4.8, §4.10; reference §12): freeze or disabled autopilot → hold
(stays approved, reason event); unknown platform → fail; signal health degraded / no data → hold,
critical → fail; autopilot caps → fail "Settings changed: ..."; enforcement (record=False) hard block →
fail "Enforcement (hard_block): ...", an unconfirmed soft block → fail "Settings changed: ...".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.orm import Session

from autopack.autopilot.actions.policy import CampaignMax, CpaCeiling, DailyMax, PolicyContext, RoasFloor
from autopack.autopilot.enforcement.service import evaluate
from autopack.autopilot.execution.adapters.base import EntityRef, PlannedChange, PlatformAdapter
from autopack.autopilot.execution.adapters.google import GoogleAdsAdapter
from autopack.autopilot.execution.adapters.meta import MetaAdapter
from autopack.autopilot.execution.adapters.sandbox import SandboxAdapter
from autopack.autopilot.execution.credentials import CredentialsError, platform_config
from autopack.autopilot.proposals import PLATFORMS, ActionProposal, first_number
from autopack.autopilot.settings import get_autopilot_settings
from autopack.autopilot.signal_health.service import current_health
from autopack.core.settings import get_settings
from autopack.db.models import AutopilotAction, AutopilotSettings

ACTOR = "autopilot-executor"
CAP_RULES = (DailyMax(), CampaignMax(), CpaCeiling(), RoasFloor())
FROZEN = "Autopilot frozen - action deferred"
DISABLED = "Autopilot disabled - action deferred"


@dataclass
class Verdict:
    """proceed, hold (stays approved) or fail, with the reason and any advisory warnings."""

    kind: Literal["proceed", "hold", "fail"]
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)


class PlanError(ValueError):
    """The action cannot be turned into a concrete platform change."""


def proposal_of(action: AutopilotAction) -> ActionProposal:
    """The stored action as the proposal the rules evaluate."""
    return ActionProposal(action_type=action.action_type, entity_type=action.entity_type,
                          entity_id=action.entity_id, entity_name=action.entity_name or "",
                          platform=action.platform, action_json=action.action_json or {},
                          before_value=action.before_value)


def check_platform(tenant_id: int, platform: str) -> str:
    """The adapter name serving `platform` for the tenant; PlanError when it is unsupported."""
    if platform not in PLATFORMS:
        raise PlanError(f"Unsupported platform: {platform}")
    adapter = platform_config(tenant_id, platform).adapter
    if adapter not in ("sandbox", "meta", "google"):
        raise PlanError(f"Unsupported platform: {platform} (adapter {adapter!r})")
    return adapter


def make_adapter(session: Session, tenant_id: int, platform: str) -> PlatformAdapter:
    """The adapter for the tenant's platform (the sandbox works through `session`)."""
    name = check_platform(tenant_id, platform)
    if name == "sandbox":
        return SandboxAdapter(session, tenant_id)
    config, timeout = platform_config(tenant_id, platform), get_settings().platform_timeout_seconds
    return MetaAdapter(config, timeout) if name == "meta" else GoogleAdsAdapter(config, timeout)


def _settings_hold(settings: AutopilotSettings) -> Verdict | None:
    if settings.frozen:
        return Verdict("hold", FROZEN)
    if not settings.enabled:
        return Verdict("hold", DISABLED)
    return None


def _platform_check(tenant_id: int, platform: str) -> Verdict | None:
    try:
        check_platform(tenant_id, platform)
    except PlanError as exc:
        return Verdict("fail", str(exc))
    except CredentialsError as exc:
        return Verdict("hold", f"Platform configuration invalid - action deferred ({exc})")
    return None


def _health(session: Session, tenant_id: int, platform: str) -> Verdict | None:
    health = current_health(session, tenant_id, platform)
    score = getattr(health, "score", None)
    if health.status == "critical":
        return Verdict("fail", f"Signal health critical ({score}) - action blocked by the trust gate")
    if health.status == "degraded":
        return Verdict("hold", f"Signal health degraded ({score}) - action deferred")
    if health.status != "healthy":
        return Verdict("hold", "No recent signal-health data - action deferred")
    return None


def revalidate(session: Session, action: AutopilotAction) -> Verdict:
    """Decide, against the tenant's settings as they are now, whether the action may run."""
    settings = get_autopilot_settings(session, action.tenant_id)
    verdict = (_settings_hold(settings) or _platform_check(action.tenant_id, action.platform)
               or _health(session, action.tenant_id, action.platform))
    if verdict is not None:
        return verdict
    try:
        proposal = proposal_of(action)
    except ValidationError as exc:
        return Verdict("fail", f"Invalid action: {exc.errors()[0].get('msg', 'invalid')}")
    context = PolicyContext(proposal, settings, None)
    for rule in CAP_RULES:
        reason = rule.evaluate(context)
        if reason is not None:
            return Verdict("fail", f"Settings changed: {reason}")
    result = evaluate(session, action.tenant_id, proposal, actor=ACTOR, record=False)
    messages = "; ".join(v.get("message", v.get("type", "")) for v in result.violations)
    if result.outcome == "hard_block":
        return Verdict("fail", f"Enforcement (hard_block): {messages}")
    if result.outcome == "soft_block" and not action.confirmation_jti:
        return Verdict("fail", f"Settings changed: {messages} (confirmation required; queue the action again)")
    return Verdict("proceed", warnings=list(result.warnings))


def held_reasons(session: Session, tenant_id: int, platforms: list[str]) -> list[str]:
    """Why approved actions on `platforms` would stay approved right now: `revalidate`'s hold checks."""
    settings_hold = _settings_hold(get_autopilot_settings(session, tenant_id))
    reasons = [settings_hold.reason] if settings_hold is not None else []
    for platform in platforms:
        verdict = _platform_check(tenant_id, platform) or _health(session, tenant_id, platform)
        if verdict is not None and verdict.kind == "hold":
            reasons.append(f"{platform}: {verdict.reason}")
    return reasons


def entity_of(action: AutopilotAction) -> EntityRef:
    """The platform object the action changes (before_value seeds unknown sandbox entities)."""
    return EntityRef(action.platform, action.entity_type, action.entity_id, action.entity_name, action.before_value)


def plan_change(action: AutopilotAction, state: dict[str, Any]) -> PlannedChange:
    """The absolute target for the action: explicit values first, else a percentage of the base value."""
    kind, data, entity = action.action_type, action.action_json or {}, entity_of(action)
    if kind.startswith("pause_"):
        return PlannedChange(entity, kind, "status", "paused")
    if kind.startswith("enable_"):
        return PlannedChange(entity, kind, "status", "active")
    if kind in ("budget_increase", "budget_decrease", "set_budget"):
        target_field, explicit = "daily_budget", first_number(data, "new_budget", "amount", "budget")
        base = first_number(action.before_value or {}, "daily_budget", "budget")
    elif kind in ("bid_increase", "bid_decrease"):
        target_field, explicit = "bid", first_number(data, "new_bid", "bid", "amount")
        base = first_number(action.before_value or {}, "bid", "bid_amount")
    else:
        raise PlanError(f"Unsupported action type: {kind}")
    target = explicit
    if target is None:
        pct = first_number(data, "change_percent", "percentage")
        base = base if base is not None else first_number(state, target_field)
        if pct is None or base is None:
            raise PlanError(f"Cannot compute the new {target_field}: give new_budget or change_percent")
        pct = -abs(pct) if kind.endswith("_decrease") else pct
        target = base * (1 + pct / 100)
    if target < 0:
        raise PlanError(f"New {target_field} {target:.2f} is negative")
    return PlannedChange(entity, kind, target_field, round(target, 2))


def public_state(state: dict[str, Any]) -> dict[str, Any]:
    """The state as shown in before_value/after_value (platform internals dropped)."""
    return {key: state.get(key) for key in ("daily_budget", "status", "bid") if key in state}
