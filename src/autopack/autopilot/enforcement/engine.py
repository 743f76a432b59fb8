"""The rule pipeline: built-in rules from the settings, then custom rules, in a declared order."""

from __future__ import annotations

from dataclasses import dataclass

from autopack.autopilot.enforcement.rules import (
    CUSTOM_RULE_TYPES,
    BudgetExceeded,
    BudgetIncreaseLimit,
    DailySpendLimit,
    EnforcementContext,
    MaxBudgetChangesPerDay,
    MinHoursBetweenChanges,
    RoasFloor,
    Rule,
    Violation,
)
from autopack.autopilot.settings import SettingsSnapshot

MODE_RANK = {"advisory": 0, "soft_block": 1, "hard_block": 2}
MODES = tuple(MODE_RANK)
MODE_DESCRIPTIONS = {
    "advisory": "Warn only, no blocking",
    "soft_block": "Warn + require confirmation to proceed",
    "hard_block": "Prevent action via API, log override attempts",
}
BUDGET_TYPES = frozenset({"budget_increase", "budget_decrease", "set_budget"})


@dataclass(frozen=True)
class EngineDecision:
    """The combined verdict: violations in rule order, warnings, and the strictest mode."""

    violations: tuple[Violation, ...]
    warnings: tuple[str, ...]
    mode: str  # the strictest violation mode, or the default mode when nothing was violated
    evaluated: tuple[str, ...]  # rule ids, in the order they ran

    @property
    def outcome(self) -> str:
        """allowed | advisory | soft_block | hard_block."""
        return self.mode if self.violations else "allowed"


def build_rules(settings: SettingsSnapshot, action_type: str) -> list[Rule]:
    """The ordered pipeline: caps, increase %, ROAS floor, frequency, cooldown, then enabled custom rules."""
    mode = settings.default_mode
    rules: list[Rule] = []
    if action_type in BUDGET_TYPES:
        if settings.max_campaign_budget is not None:
            rules.append(BudgetExceeded("max_campaign_budget", settings.max_campaign_budget, mode))
        if settings.max_daily_budget is not None:
            rules.append(DailySpendLimit("max_daily_budget", settings.max_daily_budget, mode))
        rules.append(BudgetIncreaseLimit("budget_increase_limit", settings.budget_increase_limit_pct, mode))
    rules.append(RoasFloor("min_roas_threshold", settings.min_roas_threshold, mode))
    if action_type in BUDGET_TYPES:
        rules.append(MaxBudgetChangesPerDay("max_budget_changes_per_day",
                                            float(settings.max_budget_changes_per_day), mode))
        if settings.min_hours_between_changes > 0:
            rules.append(MinHoursBetweenChanges("min_hours_between_changes",
                                                float(settings.min_hours_between_changes), mode))
    for spec in settings.rules:
        rule_class = CUSTOM_RULE_TYPES.get(spec.rule_type)
        if spec.enabled and rule_class is not None:  # unknown types are refused when a rule is added
            rules.append(rule_class(spec.rule_id, spec.threshold_value, spec.enforcement_mode, spec.description))
    return rules


def needed_facts(rules: list[Rule]) -> frozenset[str]:
    """The facts (metrics, spend, frequency) the service must gather for these rules."""
    facts: set[str] = set()
    for rule in rules:
        facts |= rule.needs
    return frozenset(facts)


def strictest(modes: list[str], default: str) -> str:
    """hard_block > soft_block > advisory; `default` when there is nothing to compare."""
    return max(modes, key=MODE_RANK.__getitem__) if modes else default


def run_rules(rules: list[Rule], context: EnforcementContext, default_mode: str) -> EngineDecision:
    """Evaluate every rule in order (no short-circuit: every violation is reported and audited)."""
    violations: list[Violation] = []
    warnings: list[str] = []
    for rule in rules:
        decision = rule.evaluate(context)
        if decision.violation is not None:
            violations.append(decision.violation)
            warnings.append(decision.violation.message)
        warnings.extend(decision.warnings)
    mode = strictest([v.mode for v in violations], default_mode)
    return EngineDecision(tuple(violations), tuple(warnings), mode, tuple(r.rule_id for r in rules))
