"""GET /status, PUT /config, POST /freeze and /unfreeze."""

from __future__ import annotations

import pytest

from autopack.audit import service as audit
from autopack.core.database import session_scope
from tests.autopilot.core.conftest import queue


def ledger(tenant_id: int, action: str) -> list[dict]:
    """The tenant's ledger events named `action`, oldest first."""
    with session_scope(writer=False) as session:
        events = audit.list_events(session, tenant_id=tenant_id).model_dump()["events"]
    return [e for e in events if e["action"] == action]


def test_status_defaults_to_approval_required(client, acme):
    response = client.get(acme.url("/status"), headers=acme.viewer)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["autopilot_level"] == 2 and data["autopilot_level_name"] == "Approval Required"
    assert data["caps"] == {"daily_max": 1000.0, "campaign_max": 5000.0, "cpa_ceiling": 50.0, "roas_floor": 1.5}
    assert data["enabled"] is True and data["frozen"] is False and data["pending_actions"] == 0
    assert data["feature_flags"] == {"action_dry_run": True, "custom_autopilot_rules": True}
    assert (data["healthy_threshold"], data["degraded_threshold"]) == (70.0, 40.0)


def test_status_counts_every_queued_action(client, acme):
    for i in range(3):
        queue(client, acme)
    assert client.get(acme.url("/status"), headers=acme.viewer).json()["data"]["pending_actions"] == 3


def test_put_config_is_partial_and_audited(client, acme):
    response = client.put(acme.url("/config"), headers=acme.admin,
                          json={"level": 1, "caps": {"daily_max": 250.5, "cpa_ceiling": None},
                                "feature_flags": {"action_dry_run": False}, "healthy_threshold": 80})
    assert response.status_code == 200
    config = response.json()["data"]["config"]
    assert config["autopilot_level"] == 1 and config["autopilot_level_name"] == "Guarded Auto"
    assert config["caps"] == {"daily_max": 250.5, "campaign_max": 5000.0, "cpa_ceiling": None, "roas_floor": 1.5}
    assert config["feature_flags"] == {"action_dry_run": False, "custom_autopilot_rules": True}
    assert config["healthy_threshold"] == 80.0 and config["degraded_threshold"] == 40.0
    status = client.get(acme.url("/status"), headers=acme.viewer).json()["data"]
    assert status["autopilot_level"] == 1 and status["caps"]["cpa_ceiling"] is None
    events = ledger(acme.id, "autopilot.config_changed")
    assert len(events) == 1
    assert events[0]["details"]["changes"]["level"] == {"from": 2, "to": 1}
    assert events[0]["actor"] == "user:acme-admin"


def test_level_zero_reports_disabled(client, acme):
    client.put(acme.url("/config"), headers=acme.admin, json={"level": 0})
    data = client.get(acme.url("/status"), headers=acme.viewer).json()["data"]
    assert data["autopilot_level_name"] == "Suggest Only" and data["enabled"] is False


@pytest.mark.parametrize("body", [
    {}, {"level": 3}, {"level": -1}, {"level": "1"}, {"level": 1.5}, {"level": True},
    {"caps": {"daily_max": -5}}, {"caps": {"daily_max": 0}}, {"caps": {"daily_max": 1e308}},
    {"caps": {"daily_max": "100"}}, {"caps": {"bogus": 1}}, {"healthy_threshold": 101},
    {"healthy_threshold": -1}, {"feature_flags": {"action_dry_run": "yes"}}, {"unknown": 1},
    {"healthy_threshold": 30},  # below the default degraded threshold (40)
    {"degraded_threshold": 90, "healthy_threshold": 80},
])
def test_put_config_rejects_nonsense(client, acme, body):
    response = client.put(acme.url("/config"), headers=acme.admin, json=body)
    assert response.status_code == 422, body
    assert response.json()["success"] is False and response.json()["error"]["code"] == "VALIDATION_ERROR"
    status = client.get(acme.url("/status"), headers=acme.viewer).json()["data"]
    assert status["autopilot_level"] == 2 and status["caps"]["daily_max"] == 1000.0


def test_put_config_rejects_nan_and_infinity(client, acme):
    for raw in ('{"caps": {"daily_max": NaN}}', '{"healthy_threshold": Infinity}'):
        response = client.put(acme.url("/config"), headers={**acme.admin, "Content-Type": "application/json"},
                              content=raw)
        assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_config_and_freeze_need_admin(client, acme):
    for headers in (acme.operator, acme.viewer):
        for method, path, body in (("put", "/config", {"level": 1}), ("post", "/freeze", {"reason": "x"}),
                                   ("post", "/unfreeze", {})):
            response = client.request(method, acme.url(path), headers=headers, json=body)
            assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"


def test_freeze_blocks_approvals_until_unfrozen(client, acme):
    action = queue(client, acme)
    missing = client.post(acme.url("/freeze"), headers=acme.admin, json={})
    assert missing.status_code == 422
    blank = client.post(acme.url("/freeze"), headers=acme.admin, json={"reason": "   "})
    assert blank.status_code == 422
    frozen = client.post(acme.url("/freeze"), headers=acme.admin, json={"reason": "Platform incident"})
    assert frozen.status_code == 200 and frozen.json()["data"]["config"]["frozen"] is True
    status = client.get(acme.url("/status"), headers=acme.viewer).json()["data"]
    assert status["frozen"] is True and status["frozen_reason"] == "Platform incident"

    refused = client.post(acme.url(f"/actions/{action['id']}/approve"), headers=acme.operator)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "AUTOPILOT_FROZEN"
    assert refused.json()["error"]["details"]["frozen_reason"] == "Platform incident"
    batch = client.post(acme.url("/actions/approve-all"), headers=acme.operator, json={"action_ids": [action["id"]]})
    assert batch.status_code == 409 and batch.json()["error"]["code"] == "AUTOPILOT_FROZEN"
    still = client.get(acme.url(f"/actions/{action['id']}"), headers=acme.viewer).json()["data"]["action"]
    assert still["status"] == "queued"

    thawed = client.post(acme.url("/unfreeze"), headers=acme.admin)
    assert thawed.status_code == 200 and thawed.json()["data"]["config"]["frozen"] is False
    approved = client.post(acme.url(f"/actions/{action['id']}/approve"), headers=acme.operator)
    assert approved.status_code == 200 and approved.json()["data"]["action"]["status"] == "approved"
    changes = [e["details"] for e in ledger(acme.id, "autopilot.freeze_changed")]
    assert [(c["frozen"], c["reason"]) for c in changes] == [(True, "Platform incident"), (False, None)]
    logs = client.get(acme.url("/enforcement/audit-log"), headers=acme.viewer).json()["data"]["logs"]
    rows = [log for log in logs if log["intervention_action"] == "freeze_changed"]
    assert [(r["details"]["frozen"], r["entity_type"], r["violation_type"]) for r in rows] == [
        (False, "tenant", None), (True, "tenant", None)]  # newest first


def test_frozen_tenant_queues_without_auto_approval(client, acme):
    client.put(acme.url("/config"), headers=acme.admin, json={"level": 1})
    client.post(acme.url("/freeze"), headers=acme.admin, json={"reason": "stop"})
    response = client.post(acme.url("/actions"), headers=acme.operator,
                           json={"action_type": "pause_campaign", "entity_type": "campaign", "entity_id": "c",
                                 "platform": "meta", "action_json": {}})
    data = response.json()["data"]
    assert response.status_code == 201 and data["auto_approved"] is False
    assert data["action"]["status"] == "queued" and data["reason"].startswith("Autopilot is frozen")


def test_superuser_on_a_missing_tenant_gets_404_not_500(client):
    from tests.auth.helpers import bearer, make_user

    root = bearer(make_user("root", superuser=True)[1])
    base = "/api/v1/tenant/9999/autopilot"
    status = client.get(f"{base}/status", headers=root)  # reads too: the tenant is checked first
    assert status.status_code == 404 and status.json()["error"]["code"] == "TENANT_NOT_FOUND"
    for method, path, body in (("post", "/actions", {"action_type": "pause_campaign", "entity_type": "campaign",
                                                     "entity_id": "c", "platform": "meta"}),
                               ("put", "/config", {"level": 1}), ("post", "/freeze", {"reason": "x"}),
                               ("post", "/signal-health", {"readings": [{"platform": "meta", "emq": 1,
                                                                         "freshness": 1, "variance": 1,
                                                                         "anomaly": 1}]})):
        response = client.request(method, base + path, headers=root, json=body)
        assert response.status_code == 404 and response.json()["error"]["code"] == "TENANT_NOT_FOUND", path
