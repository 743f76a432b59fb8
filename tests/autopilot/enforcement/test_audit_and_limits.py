"""The audit-log endpoint (filters, days, cursor pages), the ledger mirror, and rate limits (429 envelope)."""

from __future__ import annotations

from datetime import timedelta

from autopack.audit import service as ledger
from autopack.autopilot.enforcement.audit import record_intervention
from autopack.core.database import session_scope
from autopack.db.base import utcnow
from tests.autopilot.enforcement.helpers import check_body, make_tenant


def seed_logs(tenant_id: int, count: int, *, days_ago: float = 0.0) -> None:
    with session_scope() as session:
        for i in range(count):
            record_intervention(session, tenant_id, intervention_action="warned" if i % 2 else "blocked",
                                actor="seed", action_type="budget_increase", entity_type="campaign",
                                entity_id=f"c-{i}", enforcement_mode="advisory",
                                timestamp=utcnow() - timedelta(days=days_ago, seconds=i))


def test_audit_log_pages_with_a_cursor(client):
    tenant = make_tenant()
    seed_logs(tenant.id, 7)
    seen, cursor = [], None
    while True:
        url = tenant.url("/audit-log?limit=3") + (f"&cursor={cursor}" if cursor else "")
        data = client.get(url, headers=tenant.viewer).json()["data"]
        seen += [log["entity_id"] for log in data["logs"]]
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"c-{i}" for i in range(7)]  # newest first, each once
    assert data["filters"]["limit"] == 3


def test_audit_log_filters_and_bounds(client):
    tenant = make_tenant()
    seed_logs(tenant.id, 4)
    seed_logs(tenant.id, 2, days_ago=40)
    data = client.get(tenant.url("/audit-log"), headers=tenant.viewer).json()["data"]
    assert (data["count"], data["filters"]) == (4, {"days": 30, "limit": 100, "cursor": None})
    assert client.get(tenant.url("/audit-log?days=90"), headers=tenant.viewer).json()["data"]["count"] == 6
    blocked = client.get(tenant.url("/audit-log?intervention_action=blocked"), headers=tenant.viewer).json()["data"]
    assert [log["entity_id"] for log in blocked["logs"]] == ["c-0", "c-2"]
    for query in ("limit=501", "limit=0", "days=91", "enforcement_mode=loose", "cursor=nope"):
        response = client.get(tenant.url(f"/audit-log?{query}"), headers=tenant.viewer)
        assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR", query
    other = make_tenant("other")
    assert client.get(other.url("/audit-log?days=90"), headers=other.viewer).json()["data"]["count"] == 0


def test_every_check_is_in_the_log_and_the_ledger(client):
    tenant = make_tenant()
    ids = [client.post(tenant.url("/check"), headers=tenant.operator, json=check_body(new)).json()["data"][
        "audit_log_id"] for new in (550.0, 750.0)]
    with session_scope(writer=False) as session:
        events = [e for e in ledger.list_events(session, tenant_id=tenant.id, limit=500).events
                  if e.action.startswith("enforcement.")]
        assert ledger.verify_ledger(session, tenant.id).ok
    assert [(e.action, e.details["audit_log_id"]) for e in events] == [
        ("enforcement.allowed", ids[0]), ("enforcement.warned", ids[1])]
    logs = client.get(tenant.url("/audit-log"), headers=tenant.viewer).json()["data"]["logs"]
    assert [log["id"] for log in logs] == ids[::-1]


def test_rate_limits_answer_the_envelope(client):
    tenant = make_tenant()
    for _ in range(5):
        assert client.post(tenant.url("/kill-switch"), headers=tenant.admin,
                           json={"enabled": True, "reason": "drill"}).status_code == 200
    limited = client.post(tenant.url("/kill-switch"), headers=tenant.admin, json={"enabled": True, "reason": "x"})
    assert limited.status_code == 429 and limited.json()["success"] is False
    assert limited.json()["error"]["code"] == "RATE_LIMITED" and "Retry-After" in limited.headers
    for _ in range(10):
        assert client.post(tenant.url("/confirm"), headers=tenant.operator,
                           json={"confirmation_token": "bogus"}).status_code == 400
    confirm = client.post(tenant.url("/confirm"), headers=tenant.operator, json={"confirmation_token": "bogus"})
    assert confirm.status_code == 429 and confirm.json()["error"]["code"] == "RATE_LIMITED"
    # per (tenant, user): the admin's own confirm budget is untouched
    assert client.post(tenant.url("/confirm"), headers=tenant.admin,
                       json={"confirmation_token": "bogus"}).status_code == 400


def test_write_limit_is_30_per_minute_and_reads_60(client):
    tenant = make_tenant()
    codes = [client.post(tenant.url("/check"), headers=tenant.operator, json=check_body(510.0)).status_code
             for _ in range(31)]
    assert codes == [200] * 30 + [429]
    reads = [client.get(tenant.url("/settings"), headers=tenant.viewer).status_code for _ in range(61)]
    assert reads == [200] * 60 + [429]
