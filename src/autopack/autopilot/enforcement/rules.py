"""Enforcement rules as data: small classes with a pure `evaluate(context) -> RuleDecision`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

SCALING_TYPES = frozenset({"budget_increase", "bid_increase", "enable_campaign", "enable_adset",
                           "enable_creative"})


@dataclass(frozen=True)
class EnforcementContext:
    """Everything a rule may look at, gathered before any rule runs (rules never query)."""

    action_type: str
    entity_type: str
    entity_id: str
    new_budget: float | None = None
    current_budget: float | None = None
    change_percent: float | None = None
    roas: float | None = None  # from the request, else the stored lookback average
    cpa: float | None = None
    metrics_source: str = "none"  # "request" | "lookback" | "none"
    tenant_total_after: float | None = None  # the tenant's total daily budget after the change
    budget_changes_today: int = 0  # applied budget changes to the entity since 00:00 UTC
    changes_today: int = 0  # applied changes of any type to the entity since 00:00 UTC
    hours_since_last_budget_change: float | None = None
    evaluated_at: datetime | None = None  # "now" of the evaluation (UTC): resets and cooldown ends

    @property
    def is_increase(self) -> bool:
        """True when the action scales the entity up."""
        if self.action_type in SCALING_TYPES:
            return True
        return (self.action_type == "set_budget" and self.new_budget is not None
                and self.current_budget is not None and self.new_budget > self.current_budget)


@dataclass(frozen=True)
class Violation:
    """One broken rule, in the mode its rule carries."""

    rule_id: str
    violation_type: str
    mode: str
    message: str
    threshold: float | None
    actual: float | None
    details: tuple[tuple[str, Any], ...] = ()  # extra facts (frequency caps: counts, resets, cooldown end)

    def as_dict(self) -> dict[str, Any]:
        """The API shape: the contract's `type` plus `violation_type`, `mode` and `rule_id` (and `details`)."""
        out = {"type": self.violation_type, "violation_type": self.violation_type, "rule_id": self.rule_id,
               "mode": self.mode, "message": self.message, "threshold": self.threshold,
               "actual": self.actual}
        if self.details:
            out["details"] = dict(self.details)
        return out


@dataclass(frozen=True)
class RuleDecision:
    """A rule's verdict: a violation, a warning, or neither."""

    rule_id: str
    violation: Violation | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _next_midnight(context: EnforcementContext) -> str | None:
    if context.evaluated_at is None:
        return None
    today = context.evaluated_at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return _iso(today + timedelta(days=1))


def _cap_details(count: int, threshold: float, context: EnforcementContext) -> tuple[tuple[str, Any], ...]:
    """The edge-case doc's FREQUENCY_CAP_EXCEEDED details: {changes_today, max_allowed, resets_at}."""
    return (("changes_today", count), ("max_allowed", int(threshold) if threshold == int(threshold) else threshold),
            ("resets_at", _next_midnight(context)))


def _money(value: float) -> str:
    return f"${value:.2f}"


def _num(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Rule:
    """A rule with an id, a threshold and the mode its violations carry."""

    rule_id: str
    threshold: float
    mode: str
    description: str | None = None
    violation_type: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()  # facts the service must gather: metrics, spend, frequency

    def evaluate(self, context: EnforcementContext) -> RuleDecision:
        """Pure: the same context always gives the same decision."""
        raise NotImplementedError

    def _violate(self, message: str, actual: float | None,
                 details: tuple[tuple[str, Any], ...] = ()) -> RuleDecision:
        return RuleDecision(self.rule_id, Violation(self.rule_id, self.violation_type, self.mode,
                                                    self.description or message, self.threshold, actual,
                                                    details))

    def _pass(self, *warnings: str) -> RuleDecision:
        return RuleDecision(self.rule_id, None, tuple(warnings))


class BudgetExceeded(Rule):
    """Proposed daily budget above the threshold (built-in: max_campaign_budget)."""

    violation_type = "budget_exceeded"

    def evaluate(self, context: EnforcementContext) -> RuleDecision:
        budget = context.new_budget
        if budget is not None and budget > self.threshold:
            return self._violate(f"Budget {_money(budget)} exceeds max {_money(self.threshold)}", budget)
        return self._pass()


class DailySpendLimit(Rule):
    """The tenant's total daily budget after the change above the threshold (built-in: max_daily_budget)."""

    violation_type = "daily_spend_limit"
    needs = frozenset({"spend"})

    def evaluate(self, context: EnforcementContext) -> RuleDecision:
        total = context.tenant_total_after
        if context.new_budget is not None and total is not None and total > self.threshold:
            return self._violate(f"Total daily budget {_money(total)} would exceed the daily limit "
                                 f"{_money(self.threshold)}", round(total, 2))
        return self._pass()


class BudgetIncreaseLimit(Rule):
    """A budget increase of more than `threshold` percent (contract type budget_increase_limit)."""

    violation_type = "budget_increase_limit"

    def evaluate(self, context: EnforcementContext) -> RuleDecision:
        if context.action_type not in ("budget_increase", "set_budget"):
            return self._pass()
        current, new = context.current_budget, context.new_budget
        if current and current > 0 and new is not None:  # no current budget: no percentage to check
            pct = round((new - current) / current * 100, 2)
            if pct > self.threshold:
                return self._violate(f"Budget increase {_num(pct)}% exceeds limit of {_num(self.threshold)}%",
                                     pct)
        return self._pass()


class RoasBelowThreshold(Rule):
    """ROAS (request, else lookback average) below the threshold; missing ROAS only warns."""

    violation_type = "roas_below_threshold"
    needs = frozenset({"metrics"})
    scaling_only: ClassVar[bool] = False

    def evaluate(self, context: EnforcementContext) -> RuleDecision:
        if self.scaling_only and not context.is_increase:
            return self._pass()
        if context.roas is None and self.scaling_only:  # the always-on floor stays quiet without data
            return self._pass()
        if context.roas is None:
            return self._pass(f"No ROAS available for {context.entity_type} {context.entity_id}; "
                              f"rule {self.rule_id} not evaluated")
        if context.roas < self.threshold:
            return self._violate(f"ROAS {context.roas:.2f} is below minimum threshold {self.threshold:.2f}",
                                 round(context.roas, 4))
        return self._pass()


class RoasFloor(RoasBelowThreshold):
    """Built-in min_roas_threshold: scaling actions only (edge case 10); no ROAS known → no warning."""

    scaling_only = True


class CpaAboveThreshold(Rule):
    """CPA (request, else lookback average) above the threshold; missing CPA only warns."""

    violation_type = "cpa_above_threshold"
    needs = frozenset({"metrics"})

    def evaluate(self, context: EnforcementContext) -> RuleDecision:
        if context.cpa is None:
            return self._pass(f"No CPA available for {context.entity_type} {context.entity_id}; "
                              f"rule {self.rule_id} not evaluated")
        if context.cpa > self.threshold:
            return self._violate(f"CPA {_money(context.cpa)} exceeds {_money(self.threshold)}",
                                 round(context.cpa, 4))
        return self._pass()


class FrequencyCapExceeded(Rule):
    """Applied changes to the entity today at or above the threshold (any action type)."""

    violation_type = "frequency_cap_exceeded"
    needs = frozenset({"frequency"})

    def evaluate(self, context: EnforcementContext) -> RuleDecision:
        if context.changes_today >= self.threshold:
            return self._violate(f"Entity {context.entity_id} has reached {context.changes_today} changes "
                                 f"today (limit {_num(self.threshold)})", float(context.changes_today),
                                 _cap_details(context.changes_today, self.threshold, context))
        return self._pass()


class MaxBudgetChangesPerDay(Rule):
    """Built-in max_budget_changes_per_day: applied budget changes to the entity today."""

    violation_type = "frequency_cap_exceeded"
    needs = frozenset({"frequency"})

    def evaluate(self, context: EnforcementContext) -> RuleDecision:
        if context.action_type not in ("budget_increase", "budget_decrease", "set_budget"):
            return self._pass()
        count = context.budget_changes_today
        if count >= self.threshold:
            return self._violate(f"Maximum budget changes ({_num(self.threshold)}) reached for today",
                                 float(count), _cap_details(count, self.threshold, context))
        return self._pass()


class MinHoursBetweenChanges(Rule):
    """Built-in min_hours_between_changes: the cooldown since the entity's last applied budget change."""

    violation_type = "frequency_cap_exceeded"
    needs = frozenset({"frequency"})

    def evaluate(self, context: EnforcementContext) -> RuleDecision:
        if context.action_type not in ("budget_increase", "budget_decrease", "set_budget"):
            return self._pass()
        hours = context.hours_since_last_budget_change
        if hours is not None and hours < self.threshold:
            ends = (None if context.evaluated_at is None
                    else _iso(context.evaluated_at + timedelta(hours=self.threshold - hours)))
            return self._violate(f"Last budget change for entity {context.entity_id} was {hours:.2f}h ago; "
                                 f"minimum gap is {_num(self.threshold)}h", round(hours, 2),
                                 (("hours_since_last_change", round(hours, 2)),
                                  ("hours_remaining", round(self.threshold - hours, 2)),
                                  ("cooldown_ends_at", ends)))
        return self._pass()


class CampaignPauseRequired(Rule):
    """ROAS below the threshold blocks increases (the entity should be paused, not scaled)."""

    violation_type = "campaign_pause_required"
    needs = frozenset({"metrics"})

    def evaluate(self, context: EnforcementContext) -> RuleDecision:
        if not context.is_increase or context.roas is None or context.roas >= self.threshold:
            return self._pass()
        return self._violate(f"ROAS {context.roas:.2f} is below {self.threshold:.2f}: pause instead of "
                             f"scaling {context.entity_type} {context.entity_id}", round(context.roas, 4))


CUSTOM_RULE_TYPES: dict[str, type[Rule]] = {
    "budget_exceeded": BudgetExceeded,
    "roas_below_threshold": RoasBelowThreshold,
    "cpa_above_threshold": CpaAboveThreshold,
    "daily_spend_limit": DailySpendLimit,
    "frequency_cap_exceeded": FrequencyCapExceeded,
    "campaign_pause_required": CampaignPauseRequired,
}
