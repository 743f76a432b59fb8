"""The rule classes and the pipeline, pure: a context in, a decision out."""

from __future__ import annotations

import pytest

from autopack.autopilot.enforcement.engine import build_rules, run_rules
from autopack.autopilot.enforcement.rules import CUSTOM_RULE_TYPES, EnforcementContext
from autopack.autopilot.settings import RuleSpec, SettingsSnapshot

BASE = {"action_type": "budget_increase", "entity_type": "campaign", "entity_id": "c-1"}


def ctx(**overrides) -> EnforcementContext:
    return EnforcementContext(**{**BASE, **overrides})


def custom(rule_type: str, threshold: float, mode: str = "soft_block", **ctx_values):
    rule = CUSTOM_RULE_TYPES[rule_type](f"r-{rule_type}", threshold, mode)
    return rule.evaluate(ctx(**ctx_values))


@pytest.mark.parametrize("rule_type,threshold,violating,passing,actual", [
    ("budget_exceeded", 1000, {"new_budget": 1500.0}, {"new_budget": 1000.0}, 1500.0),
    ("roas_below_threshold", 1.5, {"roas": 1.2}, {"roas": 1.5}, 1.2),
    ("cpa_above_threshold", 75, {"cpa": 80.0}, {"cpa": 75.0}, 80.0),
    ("daily_spend_limit", 2000, {"new_budget": 900.0, "tenant_total_after": 2100.0},
     {"new_budget": 900.0, "tenant_total_after": 2000.0}, 2100.0),
    ("frequency_cap_exceeded", 3, {"changes_today": 3}, {"changes_today": 2}, 3.0),
    ("campaign_pause_required", 1.0, {"roas": 0.5}, {"roas": 1.0}, 0.5),
])
def test_every_custom_rule_type(rule_type, threshold, violating, passing, actual):
    hit = custom(rule_type, threshold, **violating)
    assert hit.violation is not None
    assert (hit.violation.violation_type, hit.violation.mode, hit.violation.threshold, hit.violation.actual) == (
        rule_type, "soft_block", threshold, actual)
    assert custom(rule_type, threshold, **passing).violation is None


def test_missing_metrics_warn_without_violating():
    for rule_type in ("roas_below_threshold", "cpa_above_threshold"):
        decision = custom(rule_type, 1.0)
        assert decision.violation is None and len(decision.warnings) == 1 and "not evaluated" in decision.warnings[0]


def test_campaign_pause_required_only_blocks_increases():
    assert custom("campaign_pause_required", 1.0, roas=0.2, action_type="budget_decrease").violation is None
    assert custom("campaign_pause_required", 1.0, roas=0.2, action_type="set_budget", new_budget=50.0,
                  current_budget=100.0).violation is None
    assert custom("campaign_pause_required", 1.0, roas=0.2, action_type="set_budget", new_budget=150.0,
                  current_budget=100.0).violation is not None


def test_custom_rule_description_is_the_message():
    rule = CUSTOM_RULE_TYPES["budget_exceeded"]("high", 75.0, "hard_block", "Block when budget exceeds $75")
    assert rule.evaluate(ctx(new_budget=80.0)).violation.message == "Block when budget exceeds $75"


def test_builtin_increase_limit_matches_the_contract_example():
    decision = run_rules(build_rules(SettingsSnapshot(default_mode="soft_block"), "budget_increase"),
                         ctx(new_budget=750.0, current_budget=500.0, roas=1.8), "soft_block")
    assert [v.as_dict() for v in decision.violations] == [{
        "type": "budget_increase_limit", "violation_type": "budget_increase_limit",
        "rule_id": "budget_increase_limit", "mode": "soft_block",
        "message": "Budget increase 50% exceeds limit of 30%", "threshold": 30.0, "actual": 50.0}]
    assert decision.outcome == "soft_block"


def test_zero_or_missing_current_budget_skips_the_percentage():
    rules = build_rules(SettingsSnapshot(), "budget_increase")
    for current in (None, 0.0):
        assert run_rules(rules, ctx(new_budget=900.0, current_budget=current), "advisory").violations == ()


def test_strictest_mode_wins_and_advisory_cannot_loosen():
    settings = SettingsSnapshot(default_mode="soft_block", max_campaign_budget=600.0, rules=(
        RuleSpec("soft-ish", "budget_exceeded", 100.0, "advisory"),
        RuleSpec("hard", "budget_exceeded", 700.0, "hard_block"),
        RuleSpec("off", "budget_exceeded", 1.0, "hard_block", enabled=False)))
    decision = run_rules(build_rules(settings, "budget_increase"), ctx(new_budget=750.0, current_budget=700.0),
                         settings.default_mode)
    assert [(v.rule_id, v.mode) for v in decision.violations] == [
        ("max_campaign_budget", "soft_block"), ("soft-ish", "advisory"), ("hard", "hard_block")]
    assert decision.mode == decision.outcome == "hard_block"
    only_advisory = run_rules(build_rules(SettingsSnapshot(rules=(settings.rules[0],)), "budget_increase"),
                              ctx(new_budget=750.0, current_budget=700.0), "hard_block")
    assert only_advisory.outcome == "advisory"


def test_no_violation_reports_the_default_mode_and_allowed():
    decision = run_rules(build_rules(SettingsSnapshot(default_mode="hard_block"), "pause_campaign"),
                         ctx(action_type="pause_campaign", roas=0.1), "hard_block")
    assert (decision.outcome, decision.mode, decision.violations) == ("allowed", "hard_block", ())


def test_builtin_roas_floor_only_for_scaling_actions():
    rules = build_rules(SettingsSnapshot(min_roas_threshold=1.0), "budget_decrease")
    assert run_rules(rules, ctx(action_type="budget_decrease", roas=0.5, new_budget=100.0), "advisory").violations == ()
    rules = build_rules(SettingsSnapshot(min_roas_threshold=1.0), "enable_campaign")
    hit = run_rules(rules, ctx(action_type="enable_campaign", roas=0.5), "advisory").violations
    assert [(v.violation_type, v.message) for v in hit] == [
        ("roas_below_threshold", "ROAS 0.50 is below minimum threshold 1.00")]


def test_frequency_and_cooldown_builtins():
    rules = build_rules(SettingsSnapshot(max_budget_changes_per_day=2, min_hours_between_changes=4), "budget_decrease")
    decision = run_rules(rules, ctx(action_type="budget_decrease", new_budget=100.0, budget_changes_today=2,
                                    hours_since_last_budget_change=1.5), "advisory")
    assert [(v.rule_id, v.actual) for v in decision.violations] == [
        ("max_budget_changes_per_day", 2.0), ("min_hours_between_changes", 1.5)]
    assert decision.violations[0].message == "Maximum budget changes (2) reached for today"
    calm = run_rules(rules, ctx(action_type="budget_decrease", new_budget=100.0, budget_changes_today=1,
                                hours_since_last_budget_change=4.0), "advisory")
    assert calm.violations == ()


def test_rules_are_pure():
    settings = SettingsSnapshot(default_mode="soft_block", max_daily_budget=1000.0)
    context = ctx(new_budget=900.0, current_budget=800.0, tenant_total_after=1200.0)
    first = run_rules(build_rules(settings, "budget_increase"), context, "soft_block")
    assert run_rules(build_rules(settings, "budget_increase"), context, "soft_block") == first


def test_frequency_violations_carry_the_edge_case_details():
    from datetime import UTC, datetime

    at = datetime(2026, 3, 4, 22, 30, tzinfo=UTC)
    rules = build_rules(SettingsSnapshot(max_budget_changes_per_day=5, min_hours_between_changes=4), "budget_decrease")
    decision = run_rules(rules, ctx(action_type="budget_decrease", new_budget=100.0, budget_changes_today=5,
                                    hours_since_last_budget_change=1.5, evaluated_at=at), "advisory")
    cap, cooldown = (v.as_dict() for v in decision.violations)
    assert cap["details"] == {"changes_today": 5, "max_allowed": 5, "resets_at": "2026-03-05T00:00:00+00:00"}
    assert cooldown["details"] == {"hours_since_last_change": 1.5, "hours_remaining": 2.5,
                                   "cooldown_ends_at": "2026-03-05T01:00:00+00:00"}
    custom = CUSTOM_RULE_TYPES["frequency_cap_exceeded"]("r-freq", 3.0, "advisory")
    hit = custom.evaluate(ctx(changes_today=4, evaluated_at=at)).violation.as_dict()
    assert hit["details"] == {"changes_today": 4, "max_allowed": 3, "resets_at": "2026-03-05T00:00:00+00:00"}
    # other violations keep the contract's shape: no details key
    budget = CUSTOM_RULE_TYPES["budget_exceeded"]("r-b", 10.0, "advisory")
    assert "details" not in budget.evaluate(ctx(new_budget=20.0)).violation.as_dict()
