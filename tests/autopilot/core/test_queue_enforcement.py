"""POST /actions runs enforcement first (DECISIONS §4.7): hard block, soft block + token, advisory."""

from __future__ import annotations

from sqlalchemy import func, select

from autopack.core.database import session_scope
from autopack.db.models import AutopilotAction
from tests.autopilot.core.conftest import proposal

OVER_LIMIT = proposal(action_json={"type": "budget_increase", "new_budget": 750.0, "change_percent": 50})


def mode(client, tenant, default_mode: str) -> None:
    response = client.put(tenant.url("/enforcement/settings"), headers=tenant.admin,
                          json={"default_mode": default_mode})
    assert response.status_code == 200, response.text


def action_count() -> int:
    with session_scope(writer=False) as session:
        return session.scalar(select(func.count()).select_from(AutopilotAction))


def audit_log(client, tenant) -> list[dict]:
    return client.get(tenant.url("/enforcement/audit-log"), headers=tenant.viewer).json()["data"]["logs"]


def test_hard_block_queues_nothing_and_is_audited(client, acme):
    mode(client, acme, "hard_block")
    response = client.post(acme.url("/actions"), headers=acme.operator, json=OVER_LIMIT)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "ENFORCEMENT_BLOCKED" and error["details"]["outcome"] == "hard_block"
    assert error["details"]["violations"] and error["details"]["audit_log_id"]
    assert action_count() == 0
    logs = audit_log(client, acme)
    assert [log["id"] for log in logs if log["intervention_action"] == "blocked"] == [
        error["details"]["audit_log_id"]]


def test_soft_block_needs_the_token_for_exactly_this_action(client, acme):
    mode(client, acme, "soft_block")
    first = client.post(acme.url("/actions"), headers=acme.operator, json=OVER_LIMIT)
    assert first.status_code == 403 and first.json()["error"]["code"] == "CONFIRMATION_REQUIRED"
    token = first.json()["error"]["details"]["confirmation_token"]
    assert token and action_count() == 0

    other = proposal(action_json={"type": "budget_increase", "new_budget": 900.0, "change_percent": 80})
    wrong = client.post(acme.url("/actions"), headers=acme.operator, json={**other, "confirmation_token": token})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "INVALID_CONFIRMATION_TOKEN"
    assert action_count() == 0

    confirmed = client.post(acme.url("/enforcement/confirm"), headers=acme.operator,
                            json={"confirmation_token": token, "override_reason": "Q4 push"})
    assert confirmed.status_code == 200
    queued = client.post(acme.url("/actions"), headers=acme.operator, json={**OVER_LIMIT, "confirmation_token": token})
    assert queued.status_code == 201, queued.text
    data = queued.json()["data"]
    assert data["action"]["status"] == "queued" and data["enforcement"]["confirmed"] is True
    reused = client.post(acme.url("/actions"), headers=acme.operator, json={**OVER_LIMIT, "confirmation_token": token})
    assert reused.status_code == 400 and reused.json()["error"]["code"] == "INVALID_CONFIRMATION_TOKEN"
    assert action_count() == 1


def test_advisory_queues_with_warnings(client, acme):
    mode(client, acme, "advisory")
    response = client.post(acme.url("/actions"), headers=acme.operator, json=OVER_LIMIT)
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["enforcement"]["outcome"] == "advisory" and data["enforcement"]["violations"]
    assert data["warnings"] and data["action"]["warnings"] == data["warnings"]
    assert data["action"]["status"] == "queued"


def test_kill_switch_off_lets_the_action_through(client, acme):
    mode(client, acme, "hard_block")
    off = client.post(acme.url("/enforcement/kill-switch"), headers=acme.admin,
                      json={"enabled": False, "reason": "maintenance"})
    assert off.status_code == 200
    response = client.post(acme.url("/actions"), headers=acme.operator, json=OVER_LIMIT)
    assert response.status_code == 201 and response.json()["data"]["enforcement"]["outcome"] == "allowed"


def test_cooldown_lets_an_advisory_action_through_with_its_end(client, acme):
    from datetime import datetime, timedelta

    from tests.autopilot.enforcement.helpers import applied_action, now

    applied_action(acme.id, now() - timedelta(hours=1), entity_id="123456789")
    response = client.post(acme.url("/actions"), headers=acme.operator, json=proposal())
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    ends = datetime.fromisoformat(data["cooldown_ends_at"])
    assert abs((ends - (now() + timedelta(hours=3))).total_seconds()) < 60
    warning = next(w for w in data["warnings"] if w.startswith("Action queued but cooldown period active."))
    assert "3 hours remaining" in warning or "2.99 hours remaining" in warning
    assert data["action"]["warnings"] == data["warnings"]
    # no cooldown, no key
    later = client.post(acme.url("/actions"), headers=acme.operator, json=proposal(entity_id="other"))
    assert "cooldown_ends_at" not in later.json()["data"]
