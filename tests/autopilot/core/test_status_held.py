"""GET /status says why approved actions are waiting: the execution worker's own hold checks."""

from __future__ import annotations

from autopack.autopilot.execution.worker import ExecutionWorker
from tests.autopilot.core.conftest import add_reading, queue

NO_DATA = "meta: No recent signal-health data - action deferred"
GOOD = {"emq": 90, "freshness": 90, "variance": 90, "anomaly": 90}
FAIR = {"emq": 55, "freshness": 55, "variance": 55, "anomaly": 55}


def status(client, tenant) -> dict:
    response = client.get(tenant.url("/status"), headers=tenant.viewer)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def approved(client, tenant, entity_id: str = "c-1") -> str:
    action = queue(client, tenant, {"action_type": "pause_campaign", "entity_type": "campaign",
                                    "entity_id": entity_id, "platform": "meta", "action_json": {}})
    response = client.post(tenant.url(f"/actions/{action['id']}/approve"), headers=tenant.operator)
    assert response.status_code == 200, response.text
    return action["id"]


def test_nothing_waiting_nothing_held(client, acme):
    data = status(client, acme)
    assert (data["held"], data["held_reasons"], data["approved_actions"]) == (False, [], 0)
    assert data["enabled"] is True and data["pending_actions"] == 0  # the old keys stay


def test_no_signal_health_holds_what_the_worker_holds(client, acme):
    action_id = approved(client, acme)
    data = status(client, acme)
    assert (data["held"], data["held_reasons"], data["approved_actions"]) == (True, [NO_DATA], 1)
    ExecutionWorker(poll_seconds=0.05).run_once()
    after = client.get(acme.url(f"/actions/{action_id}"), headers=acme.viewer).json()["data"]["action"]
    assert after["status"] == "approved" and NO_DATA == f"meta: {after['error']}"  # the worker's reason


def test_degraded_health_then_healthy(client, acme):
    approved(client, acme)
    add_reading(acme.id, "meta", **FAIR)
    data = status(client, acme)
    assert data["held"] is True
    assert data["held_reasons"] == ["meta: Signal health degraded (55.0) - action deferred"]
    add_reading(acme.id, "meta", **GOOD)
    data = status(client, acme)
    assert (data["held"], data["held_reasons"], data["approved_actions"]) == (False, [], 1)


def test_freeze_and_disable_are_reasons(client, acme, globex):
    approved(client, acme)
    add_reading(acme.id, "meta", **GOOD)
    assert client.post(acme.url("/freeze"), headers=acme.admin, json={"reason": "incident"}).status_code == 200
    assert status(client, acme)["held_reasons"] == ["Autopilot frozen - action deferred"]
    client.post(acme.url("/unfreeze"), headers=acme.admin)
    assert client.put(acme.url("/config"), headers=acme.admin, json={"enabled": False}).status_code == 200
    data = status(client, acme)
    assert (data["held"], data["held_reasons"]) == (True, ["Autopilot disabled - action deferred"])
    # another tenant's state is not this tenant's reason
    assert status(client, globex)["held_reasons"] == []


def test_kill_switch_is_not_a_hold(client, acme):
    """The kill switch turns enforcement off; it does not stop execution (DECISIONS §4.8)."""
    approved(client, acme)
    add_reading(acme.id, "meta", **GOOD)
    response = client.post(acme.url("/enforcement/kill-switch"), headers=acme.admin,
                           json={"enabled": False, "reason": "test"})
    assert response.status_code == 200, response.text
    assert status(client, acme)["held"] is False
