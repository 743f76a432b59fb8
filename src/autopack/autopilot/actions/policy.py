"""Auto-approval policy (DECISIONS §4.5, §4.6): ordered rules, the first objection wins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from autopack.autopilot.proposals import ActionProposal
from autopack.db.models import AutopilotSettings

SAFE_AT_LEVEL_1 = frozenset({"budget_decrease", "pause_campaign", "pause_adset", "pause_creative",
                             "bid_decrease"})


def fmt(value: float) -> str:
    """A number as people write it: 50 not 50.0, 62.5 not 62.50."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class PolicyContext:
    """What the policy looks at: the proposal, the tenant's settings, the enforcement % limit."""

    proposal: ActionProposal
    settings: AutopilotSettings
    increase_limit_pct: float | None

    @property
    def metrics(self) -> dict[str, Any]:
        """`action_json.metrics` when the proposer sent performance metrics."""
        metrics = self.proposal.action_json.get("metrics")
        return metrics if isinstance(metrics, dict) else {}


class Rule:
    """A rule objects (returns a reason) or lets the action through (returns None)."""

    name: ClassVar[str] = "rule"

    def evaluate(self, ctx: PolicyContext) -> str | None:  # pragma: no cover - interface
        """The objection, or None."""
        raise NotImplementedError


class Frozen(Rule):
    name = "frozen"

    def evaluate(self, ctx: PolicyContext) -> str | None:
        return "Autopilot is frozen: execution is stopped for this tenant" if ctx.settings.frozen else None


class Disabled(Rule):
    name = "disabled"

    def evaluate(self, ctx: PolicyContext) -> str | None:
        return None if ctx.settings.enabled else "Autopilot is disabled for this tenant"


class Level(Rule):
    name = "level"

    def evaluate(self, ctx: PolicyContext) -> str | None:
        level = ctx.settings.level
        if level == 0:
            return "Autopilot level 0 (Suggest Only) requires manual approval"
        if level == 2:
            return "Autopilot level 2 requires manual approval"
        return None if level == 1 else "Unknown autopilot level"


class SafeType(Rule):
    name = "action_type"

    def evaluate(self, ctx: PolicyContext) -> str | None:
        kind = ctx.proposal.action_type
        if kind in SAFE_AT_LEVEL_1 or kind == "budget_increase":
            return None
        return f"{kind} requires approval at autopilot level 1"


class IncreasePercent(Rule):
    name = "budget_increase_limit_pct"

    def evaluate(self, ctx: PolicyContext) -> str | None:
        if ctx.proposal.action_type != "budget_increase" or ctx.increase_limit_pct is None:
            return None
        pct = ctx.proposal.change_percent
        if pct is None:
            return "Budget change cannot be checked against the caps: give change_percent or before_value"
        if pct > ctx.increase_limit_pct:
            return f"Budget change {fmt(pct)}% exceeds cap of {fmt(ctx.increase_limit_pct)}%"
        return None


class DailyMax(Rule):
    name = "daily_max"

    def evaluate(self, ctx: PolicyContext) -> str | None:
        cap = ctx.settings.daily_max
        if ctx.proposal.action_type != "budget_increase" or cap is None:
            return None
        new, current = ctx.proposal.new_budget, ctx.proposal.current_budget
        if new is None or current is None:
            return "Budget increase cannot be checked against daily_max: give new_budget and before_value"
        if new - current > cap:
            return f"Budget increase {fmt(new - current)} exceeds daily cap of {fmt(cap)}"
        return None


class CampaignMax(Rule):
    name = "campaign_max"

    def evaluate(self, ctx: PolicyContext) -> str | None:
        cap, new = ctx.settings.campaign_max, ctx.proposal.new_budget
        if ctx.proposal.action_type != "budget_increase" or cap is None:
            return None
        if new is None:
            return "New budget unknown: cannot check campaign_max"
        return f"New budget {fmt(new)} exceeds campaign cap of {fmt(cap)}" if new > cap else None


class CpaCeiling(Rule):
    name = "cpa_ceiling"

    def evaluate(self, ctx: PolicyContext) -> str | None:
        cap, cpa = ctx.settings.cpa_ceiling, ctx.metrics.get("cpa")
        if ctx.proposal.action_type != "budget_increase" or cap is None or not isinstance(cpa, (int, float)):
            return None
        return f"CPA {fmt(cpa)} exceeds ceiling of {fmt(cap)}" if cpa > cap else None


class RoasFloor(Rule):
    name = "roas_floor"

    def evaluate(self, ctx: PolicyContext) -> str | None:
        floor, roas = ctx.settings.roas_floor, ctx.metrics.get("roas")
        if ctx.proposal.action_type != "budget_increase" or floor is None or not isinstance(roas, (int, float)):
            return None
        return f"ROAS {fmt(roas)} is below floor of {fmt(floor)}" if roas < floor else None


RULES: tuple[Rule, ...] = (Frozen(), Disabled(), Level(), SafeType(), IncreasePercent(), DailyMax(),
                           CampaignMax(), CpaCeiling(), RoasFloor())


@dataclass(frozen=True)
class ApprovalDecision:
    """Whether the action is auto-approved and, if not, why (and which rule said so)."""

    auto_approved: bool
    reason: str | None
    rule: str | None


def decide(ctx: PolicyContext) -> ApprovalDecision:
    """Apply RULES in order; the first objection makes the action wait for a person."""
    for rule in RULES:
        reason = rule.evaluate(ctx)
        if reason is not None:
            return ApprovalDecision(False, reason, rule.name)
    return ApprovalDecision(True, None, None)
