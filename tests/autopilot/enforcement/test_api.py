"""The enforcement endpoints: envelopes, contract shapes, the confirm flow, the kill switch, rules."""

from __future__ import annotations

from sqlalchemy import update

from autopack.core.database import session_scope
from autopack.db.models import AutopilotSettings
from tests.autopilot.enforcement.helpers import check_body, make_tenant


def test_get_settings_defaults_and_modes(client):
    tenant = make_tenant()
    response = client.get(tenant.url("/settings"), headers=tenant.viewer)
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {
        "settings": {"enforcement_enabled": True, "default_mode": "advisory", "max_daily_budget": None,
                     "max_campaign_budget": None, "budget_increase_limit_pct": 30.0, "min_roas_threshold": 1.0,
                     "roas_lookback_days": 7, "max_budget_changes_per_day": 5, "min_hours_between_changes": 4,
                     "rules": []},
        "modes": {"advisory": "Warn only, no blocking", "soft_block": "Warn + require confirmation to proceed",
                  "hard_block": "Prevent action via API, log override attempts"}}}


def test_put_settings_partial_update_and_null_clearing(client):
    tenant = make_tenant()
    first = client.put(tenant.url("/settings"), headers=tenant.admin,
                       json={"default_mode": "soft_block", "max_campaign_budget": 5000, "max_daily_budget": 2000.0})
    assert first.status_code == 200 and first.json()["data"]["message"] == "Settings updated successfully"
    second = client.put(tenant.url("/settings"), headers=tenant.admin, json={"max_daily_budget": None})
    settings = second.json()["data"]["settings"]
    assert (settings["default_mode"], settings["max_campaign_budget"], settings["max_daily_budget"],
            settings["budget_increase_limit_pct"]) == ("soft_block", 5000.0, None, 30.0)
    again = client.get(tenant.url("/settings"), headers=tenant.viewer).json()["data"]["settings"]
    assert again == settings


def test_put_settings_rejects_nonsense(client):
    tenant = make_tenant()
    for body in ({"default_mode": "invalid_mode"}, {"max_campaign_budget": -1}, {"max_campaign_budget": 1e308},
                 {"budget_increase_limit_pct": "30"}, {"roas_lookback_days": 0}, {"roas_lookback_days": 91},
                 {"enforcement_enabled": "yes"}, {"default_mode": None}, {"min_roas_threshold": None},
                 {"unknown_field": 1}, {"max_budget_changes_per_day": 2.5}):
        response = client.put(tenant.url("/settings"), headers=tenant.admin, json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    nan = client.put(tenant.url("/settings"), headers={**tenant.admin, "Content-Type": "application/json"},
                     content=b'{"max_daily_budget": NaN}')
    assert nan.status_code == 422
    assert client.get(tenant.url("/settings"), headers=tenant.viewer).json()["data"]["settings"][
        "default_mode"] == "advisory"


def test_check_matches_the_contract_soft_block_example(client):
    tenant = make_tenant()
    client.put(tenant.url("/settings"), headers=tenant.admin, json={"default_mode": "soft_block"})
    response = client.post(tenant.url("/check"), headers=tenant.operator,
                           json=check_body(750.0, 500.0, metrics={"roas": 1.8, "cpa": 35.0}))
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["allowed"], data["mode"], data["requires_confirmation"]) == (False, "soft_block", True)
    assert [{k: v[k] for k in ("type", "threshold", "actual", "message")} for v in data["violations"]] == [
        {"type": "budget_increase_limit", "threshold": 30.0, "actual": 50.0,
         "message": "Budget increase 50% exceeds limit of 30%"}]
    assert data["warnings"] == ["Budget increase 50% exceeds limit of 30%", "Confirmation required to proceed."]
    assert data["confirmation_token"].startswith("eyJhbGciOiJIUzI1NiIs")


def test_check_advisory_and_hard(client):
    tenant = make_tenant()
    advisory = client.post(tenant.url("/check"), headers=tenant.operator, json=check_body()).json()["data"]
    assert (advisory["allowed"], advisory["mode"], advisory["confirmation_token"]) == (True, "advisory", None)
    client.put(tenant.url("/settings"), headers=tenant.admin, json={"default_mode": "hard_block"})
    hard = client.post(tenant.url("/check"), headers=tenant.operator, json=check_body()).json()["data"]
    assert (hard["allowed"], hard["mode"], hard["requires_confirmation"], hard["confirmation_token"]) == (
        False, "hard_block", False, None)
    logs = client.get(tenant.url("/audit-log"), headers=tenant.viewer).json()["data"]["logs"]
    assert [(log["intervention_action"], log["enforcement_mode"]) for log in logs] == [
        ("blocked", "hard_block"), ("warned", "advisory")]


def test_check_rejects_absurd_numbers(client):
    tenant = make_tenant()
    bodies = [check_body(-5.0), check_body(1e308), {**check_body(), "proposed_value": {"daily_budget": "750"}},
              {**check_body(), "metrics": {"roas": "high"}}, {**check_body(), "metrics": {"roas": -1}},
              {**check_body(), "action_type": "launch_rockets"}, {**check_body(), "platform": "myspace"},
              {**check_body(), "proposed_value": {"daily_budget": True}}, check_body(750.0, 2**70),
              {**check_body(), "proposed_value": {"daily_budget": 1, "bid": 2**70}},
              {**check_body(), "metrics": {"roas": 1, "extra": 2**70}}]
    for body in bodies:
        response = client.post(tenant.url("/check"), headers=tenant.operator, json=body)
        assert response.status_code == 422, body
        assert response.json()["success"] is False and response.json()["error"]["code"] == "VALIDATION_ERROR"
    head = b'{"action_type": "budget_increase", "entity_type": "campaign", "entity_id": "c", '
    for raw in (head + b'"proposed_value": {"daily_budget": NaN}}',
                head + b'"proposed_value": {"daily_budget": 1}, "metrics": {"roas": Infinity}}'):
        response = client.post(tenant.url("/check"), headers={**tenant.operator, "Content-Type": "application/json"},
                               content=raw)
        assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_confirm_flow_and_errors(client):
    tenant = make_tenant()
    client.put(tenant.url("/settings"), headers=tenant.admin, json={"default_mode": "soft_block"})
    token = client.post(tenant.url("/check"), headers=tenant.operator, json=check_body()).json()["data"][
        "confirmation_token"]
    confirmed = client.post(tenant.url("/confirm"), headers=tenant.operator,
                            json={"confirmation_token": token, "override_reason": "Q4 executive approval"})
    assert confirmed.status_code == 200
    assert {k: confirmed.json()["data"][k] for k in ("message", "override_logged")} == {
        "message": "Action confirmed - you may now proceed", "override_logged": True}
    reused = client.post(tenant.url("/confirm"), headers=tenant.operator, json={"confirmation_token": token})
    assert reused.status_code == 400
    assert reused.json()["error"] == {"code": "INVALID_CONFIRMATION_TOKEN",
                                      "message": "Confirmation token is invalid or expired",
                                      "details": {"action_required": "re-check_enforcement", "reason": "reused"}}
    log = client.get(tenant.url("/audit-log?intervention_action=override_logged"),
                     headers=tenant.viewer).json()["data"]["logs"]
    assert [(x["override_reason"], x["violation_type"], x["enforcement_mode"]) for x in log] == [
        ("Q4 executive approval", "budget_increase_limit", "soft_block")]
    assert client.post(tenant.url("/confirm"), headers=tenant.viewer,
                       json={"confirmation_token": token}).json()["error"]["code"] == "FORBIDDEN"


def test_kill_switch(client):
    tenant = make_tenant()
    client.put(tenant.url("/settings"), headers=tenant.admin, json={"default_mode": "soft_block"})
    token = client.post(tenant.url("/check"), headers=tenant.operator, json=check_body()).json()["data"][
        "confirmation_token"]
    assert client.post(tenant.url("/kill-switch"), headers=tenant.admin,
                       json={"enabled": False}).status_code == 422  # reason required
    assert client.post(tenant.url("/kill-switch"), headers=tenant.operator,
                       json={"enabled": False, "reason": "x"}).json()["error"]["code"] == "FORBIDDEN"
    off = client.post(tenant.url("/kill-switch"), headers=tenant.admin,
                      json={"enabled": False, "reason": "Platform API maintenance window"})
    assert off.status_code == 200
    assert {k: off.json()["data"][k] for k in ("message", "enforcement_enabled")} == {
        "message": "Enforcement disabled for tenant", "enforcement_enabled": False}
    assert isinstance(off.json()["data"]["changed_by_user_id"], int)
    check = client.post(tenant.url("/check"), headers=tenant.operator, json=check_body(9000.0)).json()["data"]
    assert (check["allowed"], check["violations"], check["warnings"]) == (
        True, [], ["Enforcement is disabled for this tenant"])
    blocked = client.post(tenant.url("/confirm"), headers=tenant.operator, json={"confirmation_token": token})
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "KILL_SWITCH_DISABLED"
    on = client.post(tenant.url("/kill-switch"), headers=tenant.admin, json={"enabled": True, "reason": "done"})
    assert on.json()["data"]["message"] == "Enforcement enabled for tenant"
    rows = client.get(tenant.url("/audit-log?intervention_action=kill_switch_changed"),
                      headers=tenant.viewer).json()["data"]["logs"]
    assert [(r["details"]["enabled"], r["details"]["reason"], r["violation_type"], r["entity_type"])
            for r in rows] == [(True, "done", None, "tenant"),
                               (False, "Platform API maintenance window", None, "tenant")]
    assert client.post(tenant.url("/confirm"), headers=tenant.operator,
                       json={"confirmation_token": token}).status_code == 200  # still valid once back on


def test_rules_crud(client):
    tenant = make_tenant()
    rule = {"rule_id": "high_cpa_block", "rule_type": "cpa_above_threshold", "threshold_value": 75.0,
            "enforcement_mode": "hard_block", "description": "Block when CPA exceeds $75"}
    created = client.post(tenant.url("/rules"), headers=tenant.admin, json=rule)
    assert created.status_code == 201
    assert created.json()["data"] == {"message": "Rule 'high_cpa_block' added successfully",
                                      "rule": {**rule, "enabled": True}}
    duplicate = client.post(tenant.url("/rules"), headers=tenant.admin, json=rule)
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "RULE_ALREADY_EXISTS"
    bad_type = client.post(tenant.url("/rules"), headers=tenant.admin, json={**rule, "rule_id": "x",
                                                                             "rule_type": "vibes"})
    assert bad_type.status_code == 422 and bad_type.json()["error"]["code"] == "VALIDATION_ERROR"
    for bad in ({**rule, "rule_id": "y", "threshold_value": -1}, {**rule, "rule_id": "y", "enforcement_mode": "x"},
                {**rule, "rule_id": "bad id!"}):
        assert client.post(tenant.url("/rules"), headers=tenant.admin, json=bad).status_code == 422
    check = client.post(tenant.url("/check"), headers=tenant.operator,
                        json=check_body(510.0, metrics={"cpa": 80})).json()["data"]
    assert (check["mode"], [v["rule_id"] for v in check["violations"]]) == ("hard_block", ["high_cpa_block"])
    listed = client.get(tenant.url("/settings"), headers=tenant.viewer).json()["data"]["settings"]["rules"]
    assert [r["rule_id"] for r in listed] == ["high_cpa_block"]
    deleted = client.delete(tenant.url("/rules/high_cpa_block"), headers=tenant.admin)
    assert deleted.json()["data"] == {"message": "Rule 'high_cpa_block' deleted successfully"}
    missing = client.delete(tenant.url("/rules/high_cpa_block"), headers=tenant.admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "RULE_NOT_FOUND"


def test_rules_feature_flag(client):
    tenant = make_tenant()
    client.get(f"/api/v1/tenant/{tenant.id}/autopilot/status", headers=tenant.admin)
    with session_scope() as session:
        from autopack.autopilot.settings import get_autopilot_settings

        get_autopilot_settings(session, tenant.id)
        session.execute(update(AutopilotSettings).where(AutopilotSettings.tenant_id == tenant.id)
                        .values(custom_autopilot_rules=False))
    response = client.post(tenant.url("/rules"), headers=tenant.admin,
                           json={"rule_id": "r", "rule_type": "budget_exceeded", "threshold_value": 1})
    assert response.status_code == 403 and response.json()["error"]["code"] == "FEATURE_NOT_ENABLED"


def test_roles(client):
    tenant = make_tenant()
    other = make_tenant("other")
    assert client.put(tenant.url("/settings"), headers=tenant.operator, json={}).json()["error"]["code"] == "FORBIDDEN"
    assert client.post(tenant.url("/check"), headers=tenant.viewer, json=check_body()).status_code == 403
    assert client.post(tenant.url("/rules"), headers=tenant.operator, json={}).status_code == 403
    assert client.delete(tenant.url("/rules/x"), headers=tenant.operator).status_code == 403
    assert client.get(tenant.url("/audit-log"), headers=other.admin).json()["error"]["code"] == "ACCESS_DENIED"
    assert client.get(tenant.url("/settings")).json()["error"]["code"] == "UNAUTHORIZED"
    assert client.get(tenant.url("/settings"), headers=tenant.viewer).status_code == 200
