"""Any JSON numbers in a check body: validated into a proposal or refused with a ValidationError, never a crash."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from autopack.autopilot.enforcement.engine import build_rules, run_rules
from autopack.autopilot.enforcement.rules import EnforcementContext
from autopack.autopilot.enforcement.schemas import CheckRequest
from autopack.autopilot.settings import SettingsSnapshot

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70),
                    st.text(max_size=5), st.booleans(), st.none())


@settings(max_examples=300, deadline=None)
@given(new=numbers, current=numbers, roas=numbers, cpa=numbers)
def test_check_bodies_validate_or_refuse(new, current, roas, cpa):
    body = {"action_type": "budget_increase", "entity_type": "campaign", "entity_id": "c-1",
            "proposed_value": {"daily_budget": new}, "current_value": {"daily_budget": current},
            "metrics": {"roas": roas, "cpa": cpa}}
    try:
        request = CheckRequest.model_validate(body)
    except ValidationError:
        return
    proposal = request.proposal()
    context = EnforcementContext("budget_increase", "campaign", "c-1", new_budget=proposal.new_budget,
                                 current_budget=proposal.current_budget,
                                 roas=roas if isinstance(roas, (int, float)) and not isinstance(roas, bool) else None)
    settings_ = SettingsSnapshot(default_mode="soft_block", max_campaign_budget=1000.0)
    decision = run_rules(build_rules(settings_, "budget_increase"), context, "soft_block")
    assert decision.outcome in ("allowed", "soft_block")
    for violation in decision.violations:
        assert violation.actual is None or abs(violation.actual) < float("inf")
