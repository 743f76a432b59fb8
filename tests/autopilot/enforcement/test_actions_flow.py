"""Enforcement through POST /actions: soft block → confirm → queue with the token, once, for that amount."""

from __future__ import annotations

from tests.autopilot.enforcement.helpers import make_tenant


def action(new_budget: float) -> dict:
    return {"action_type": "budget_increase", "entity_type": "campaign", "entity_id": "123456789",
            "entity_name": "Summer Sale 2024", "platform": "meta",
            "action_json": {"type": "budget_increase", "new_budget": new_budget},
            "before_value": {"daily_budget": 500.0}}


def test_soft_block_confirm_and_queue_once(client):
    tenant = make_tenant()
    actions = f"/api/v1/tenant/{tenant.id}/autopilot/actions"
    client.put(tenant.url("/settings"), headers=tenant.admin, json={"default_mode": "soft_block"})
    blocked = client.post(actions, headers=tenant.operator, json=action(750.0))
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "CONFIRMATION_REQUIRED"
    token = blocked.json()["error"]["details"]["confirmation_token"]
    assert client.post(tenant.url("/confirm"), headers=tenant.operator,
                       json={"confirmation_token": token, "override_reason": "launch"}).status_code == 200
    other_amount = client.post(actions, headers=tenant.operator, json={**action(900.0), "confirmation_token": token})
    assert other_amount.status_code == 400 and other_amount.json()["error"]["code"] == "INVALID_CONFIRMATION_TOKEN"
    queued = client.post(actions, headers=tenant.operator, json={**action(750.0), "confirmation_token": token})
    assert queued.status_code == 201, queued.text
    assert queued.json()["data"]["action"]["status"] == "queued"
    again = client.post(actions, headers=tenant.operator, json={**action(750.0), "confirmation_token": token})
    assert again.status_code == 400 and again.json()["error"]["details"]["reason"] == "reused"
    kinds = [log["intervention_action"] for log in
             client.get(tenant.url("/audit-log"), headers=tenant.viewer).json()["data"]["logs"]]
    assert kinds == ["confirmed", "override_logged", "confirmation_required"]


def test_hard_block_queues_nothing(client):
    tenant = make_tenant()
    actions = f"/api/v1/tenant/{tenant.id}/autopilot/actions"
    client.put(tenant.url("/settings"), headers=tenant.admin, json={"default_mode": "hard_block"})
    blocked = client.post(actions, headers=tenant.operator, json=action(750.0))
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "ENFORCEMENT_BLOCKED"
    assert client.get(actions, headers=tenant.viewer).json()["data"]["count"] == 0
    logs = client.get(tenant.url("/audit-log"), headers=tenant.viewer).json()["data"]["logs"]
    assert [(x["intervention_action"], x["violation_type"]) for x in logs] == [("blocked", "budget_increase_limit")]


def test_confirmed_soft_block_is_applied_by_the_worker(client):
    """The redeemed token travels with the action: execution-time re-validation honours it."""
    from tests.autopilot.execution.helpers import action as stored_action
    from tests.autopilot.execution.helpers import worker

    tenant = make_tenant()
    base = f"/api/v1/tenant/{tenant.id}/autopilot"
    client.put(tenant.url("/settings"), headers=tenant.admin, json={"default_mode": "soft_block"})
    reading = {"platform": "meta", "emq": 95, "freshness": 95, "variance": 95, "anomaly": 95}
    assert client.post(f"{base}/signal-health", headers=tenant.operator, json={"readings": [reading]}).status_code in (200, 201)
    token = client.post(f"{base}/actions", headers=tenant.operator, json=action(750.0)).json()["error"]["details"][
        "confirmation_token"]
    queued = client.post(f"{base}/actions", headers=tenant.operator, json={**action(750.0), "confirmation_token": token})
    action_id = queued.json()["data"]["action"]["id"]
    assert stored_action(action_id).confirmation_jti is not None
    assert client.post(f"{base}/actions/{action_id}/approve", headers=tenant.operator).status_code == 200
    worker().run_once()
    applied = stored_action(action_id)
    assert (applied.status, applied.error) == ("applied", None)
    assert applied.after_value["daily_budget"] == 750.0
