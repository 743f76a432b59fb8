"""POST /actions/dry-run: every field of the contract example, and each decision."""

from __future__ import annotations

from sqlalchemy import func, select

from autopack.core.database import session_scope
from autopack.db.models import AutopilotAction, TrustGateAuditLog
from tests.autopilot.core.conftest import add_reading, pause

EXAMPLE = {"action_type": "budget_increase", "entity_type": "campaign", "entity_id": "123456789",
           "entity_name": "Summer Sale 2024", "platform": "meta",
           "action_json": {"type": "budget_increase", "new_budget": 750.0, "change_percent": 50}}


def dry_run(client, tenant, body):
    response = client.post(tenant.url("/actions/dry-run"), headers=tenant.operator, json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_contract_example(client, acme):
    client.put(acme.url("/config"), headers=acme.admin, json={"level": 1})
    add_reading(acme.id, "meta", emq=60, freshness=70, variance=60, anomaly=60)  # 62.5
    data = dry_run(client, acme, EXAMPLE)
    assert data["would_execute"] is False and data["decision_type"] == "hold" and data["gate_passed"] is False
    assert data["signal_health_score"] == 62.5 and data["signal_health_status"] == "degraded"
    assert data["gate_reasons"] == ["EMQ score 62.5% is below healthy threshold (70%)",
                                    "Autopilot check: Budget change 50% exceeds cap of 30%"]
    assert data["healthy_threshold"] == 70.0 and data["degraded_threshold"] == 40.0
    assert data["action_preview"] == {"action_type": "budget_increase", "entity_type": "campaign",
                                      "entity_id": "123456789", "entity_name": "Summer Sale 2024",
                                      "platform": "meta", "details": EXAMPLE["action_json"]}
    assert data["warnings"][0] == "Consider improving data quality before executing"
    assert data["message"] == "Dry-run simulation completed. No changes were made."
    with session_scope(writer=False) as session:
        row = session.get(TrustGateAuditLog, data["audit_log_id"])
        assert row.tenant_id == acme.id and row.decision_type == "hold" and row.is_dry_run is True
        assert row.signal_health_score == 62.5 and row.gate_reasons == data["gate_reasons"]
        assert row.triggered_by == "user:acme-operator"
        assert session.scalar(select(func.count()).select_from(AutopilotAction)) == 0  # nothing queued


def test_healthy_safe_action_at_level_one_executes(client, acme):
    client.put(acme.url("/config"), headers=acme.admin, json={"level": 1})
    add_reading(acme.id, "meta", emq=90, freshness=90, variance=90, anomaly=90)
    data = dry_run(client, acme, pause())
    assert (data["decision_type"], data["gate_passed"], data["would_execute"]) == ("execute", True, True)
    assert data["signal_health_status"] == "healthy" and data["gate_reasons"] == []


def test_level_two_holds_even_when_healthy(client, acme):
    add_reading(acme.id, "meta", emq=90, freshness=90, variance=90, anomaly=90)
    data = dry_run(client, acme, pause())
    assert data["decision_type"] == "hold" and data["would_execute"] is False
    assert data["gate_reasons"] == ["Autopilot check: Autopilot level 2 requires manual approval"]


def test_critical_blocks(client, acme):
    client.put(acme.url("/config"), headers=acme.admin, json={"level": 1})
    add_reading(acme.id, "meta", emq=20, freshness=20, variance=20, anomaly=20)
    data = dry_run(client, acme, pause())
    assert data["decision_type"] == "block" and data["gate_passed"] is False
    assert data["signal_health_status"] == "critical" and data["signal_health_score"] == 20.0
    assert data["gate_reasons"] == ["EMQ score 20% is below degraded threshold (40%)"]


def test_no_data_holds(client, acme):
    client.put(acme.url("/config"), headers=acme.admin, json={"level": 1})
    add_reading(acme.id, "google", emq=90, freshness=90, variance=90, anomaly=90)  # another platform
    data = dry_run(client, acme, pause())
    assert data["decision_type"] == "hold" and data["signal_health_score"] is None
    assert data["signal_health_status"] == "no_data"
    assert data["gate_reasons"] == ["No signal-health reading for meta in the last 48 hours (fail closed)"]


def test_enforcement_hard_block_blocks(client, acme):
    client.put(acme.url("/config"), headers=acme.admin, json={"level": 1})
    client.put(acme.url("/enforcement/settings"), headers=acme.admin, json={"default_mode": "hard_block"})
    add_reading(acme.id, "meta", emq=90, freshness=90, variance=90, anomaly=90)
    data = dry_run(client, acme, {**EXAMPLE, "before_value": {"daily_budget": 500.0}})
    assert data["decision_type"] == "block" and data["enforcement_outcome"] == "hard_block"
    assert any(r.startswith("Enforcement (hard_block): ") for r in data["gate_reasons"])


def test_enforcement_soft_block_holds(client, acme):
    client.put(acme.url("/config"), headers=acme.admin, json={"level": 1})
    client.put(acme.url("/enforcement/settings"), headers=acme.admin, json={"default_mode": "soft_block"})
    add_reading(acme.id, "meta", emq=90, freshness=90, variance=90, anomaly=90)
    data = dry_run(client, acme, {**EXAMPLE, "before_value": {"daily_budget": 500.0}})
    assert data["decision_type"] == "hold" and data["enforcement_outcome"] == "soft_block"


def test_feature_flag_off(client, acme):
    client.put(acme.url("/config"), headers=acme.admin, json={"feature_flags": {"action_dry_run": False}})
    response = client.post(acme.url("/actions/dry-run"), headers=acme.operator, json=EXAMPLE)
    assert response.status_code == 403
    assert response.json()["error"] == {"code": "FEATURE_NOT_ENABLED",
                                        "message": "Action dry-run feature not enabled for this tenant",
                                        "details": {"feature": "action_dry_run"}}
    with session_scope(writer=False) as session:
        assert session.scalar(select(func.count()).select_from(TrustGateAuditLog)) == 0


def test_dry_run_validation_and_roles(client, acme):
    for body in ({**EXAMPLE, "platform": "myspace"}, {**EXAMPLE, "action_json": {"new_budget": -1}},
                 {**EXAMPLE, "action_json": {"new_budget": "lots"}}, {"action_type": "budget_increase"}):
        response = client.post(acme.url("/actions/dry-run"), headers=acme.operator, json=body)
        assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    viewer = client.post(acme.url("/actions/dry-run"), headers=acme.viewer, json=EXAMPLE)
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "FORBIDDEN"
