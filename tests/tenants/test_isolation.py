"""Tenant isolation: every tenant table is seeded for two tenants, every tenant route is walked, and
tenant B's rows are never returned or changed; tenant filters are written only by the scope helper."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import autopack
from tests.autopilot.core.conftest import create_tenant
from tests.tenants.seeding import counts, seed, snapshot, tenant_tables

PREFIX = "/api/v1/tenant/{tenant_id}"
SCOPE_MODULE = Path(autopack.__file__).parent / "db" / "scope.py"
HAND_WRITTEN_FILTER = re.compile(r"tenant_id\s*==|==\s*[A-Za-z_][\w.]*\.tenant_id\b|filter_by\([^)]*\btenant_id\s*=")


def _proposal(b) -> dict:
    """A proposal aimed at B's campaign: an unscoped fact lookup would read B's budget and history."""
    return {"action_type": "budget_increase", "entity_type": "campaign", "entity_id": b.entity_id,
            "entity_name": "ours", "platform": "meta", "action_json": {"change_percent": 10}}


# Every tenant route, with the requests that aim it at B's objects. A new route must be added here.
REQUESTS = {
    ("get", "/membership"): lambda b: [{}],
    ("get", "/autopilot/status"): lambda b: [{}],
    ("get", "/autopilot/events"): lambda b: [{"params": {"once": 1}}, {"params": {"once": 1, "last_event_id": 0}}],
    ("put", "/autopilot/config"): lambda b: [{"json": {"level": 1}}],
    ("post", "/autopilot/freeze"): lambda b: [{"json": {"reason": "walk"}}],
    ("post", "/autopilot/unfreeze"): lambda b: [{"json": {"reason": "walk"}}],
    ("post", "/autopilot/actions/dry-run"): lambda b: [{"json": _proposal(b)}],
    ("get", "/autopilot/actions"): lambda b: [{}, {"params": {"status": "queued", "platform": "meta"}}],
    ("post", "/autopilot/actions"): lambda b: [{"json": _proposal(b)},
                                               {"json": {**_proposal(b), "confirmation_token": b.token}}],
    ("get", "/autopilot/actions/summary"): lambda b: [{}],
    ("post", "/autopilot/actions/approve-all"): lambda b: [{"json": {"action_ids": [b.action_id]}}],
    ("get", "/autopilot/actions/{action_id}"): lambda b: [{}],
    ("post", "/autopilot/actions/{action_id}/approve"): lambda b: [{}],
    ("post", "/autopilot/actions/{action_id}/dismiss"): lambda b: [{}],
    ("get", "/autopilot/signal-health"): lambda b: [{}],
    ("post", "/autopilot/signal-health"): lambda b: [{"json": {"readings": [
        {"platform": "meta", "emq": 80, "freshness": 80, "variance": 80, "anomaly": 80}]}}],
    ("get", "/signal-health"): lambda b: [{}],
    ("post", "/signal-health"): lambda b: [{"json": {"readings": [
        {"platform": "google", "emq": 80, "freshness": 80, "variance": 80, "anomaly": 80}]}}],
    ("get", "/autopilot/enforcement/settings"): lambda b: [{}],
    ("put", "/autopilot/enforcement/settings"): lambda b: [{"json": {"default_mode": "soft_block"}}],
    ("post", "/autopilot/enforcement/check"): lambda b: [{"json": {
        "action_type": "budget_increase", "entity_type": "campaign", "entity_id": b.entity_id,
        "proposed_value": {"daily_budget": 1.0}}}],
    ("post", "/autopilot/enforcement/confirm"): lambda b: [{"json": {"confirmation_token": b.token}}],
    ("post", "/autopilot/enforcement/kill-switch"): lambda b: [{"json": {"enabled": False, "reason": "walk"}}],
    ("get", "/autopilot/enforcement/audit-log"): lambda b: [{}, {"params": {"cursor": b.audit_log_id}}],
    ("post", "/autopilot/enforcement/rules"): lambda b: [{"json": {
        "rule_id": "walk-rule", "rule_type": "budget_exceeded", "threshold_value": 1}}],
    ("delete", "/autopilot/enforcement/rules/{rule_id}"): lambda b: [{}],
}


def tenant_routes(app) -> list[tuple[str, str]]:
    """(method, path after the tenant prefix) of every /api/v1/tenant/{tenant_id}/... operation."""
    return [(method, path[len(PREFIX):]) for path, operations in app.openapi()["paths"].items()
            if path.startswith(PREFIX + "/") for method in operations
            if method in ("get", "post", "put", "patch", "delete")]


@pytest.fixture(autouse=True)
def no_execution_worker(monkeypatch):
    """The walk compares rows before and after: no worker may move them meanwhile."""
    monkeypatch.setenv("AUTOPACK_AUTOPILOT_WORKER", "0")


@pytest.fixture
def two_tenants():
    """Tenants A and B, each with members and a row in every tenant table."""
    alpha, bravo = create_tenant("alpha-q7x"), create_tenant("bravo-q7x")
    return (alpha, seed(alpha.id, "alpha-q7x", 1)), (bravo, seed(bravo.id, "bravo-q7x", 2))


def test_every_tenant_table_is_seeded_for_both_tenants(two_tenants):
    (alpha, _), (bravo, _) = two_tenants
    assert len(tenant_tables()) >= 15
    for tenant in (alpha, bravo):
        empty = sorted(name for name, n in counts(tenant.id).items() if n == 0)
        assert empty == [], f"tests/tenants/seeding.py seeds nothing for tenant {tenant.id} in {empty}"


def test_every_route_is_known(client):
    unknown = sorted(set(tenant_routes(client.app)) - set(REQUESTS))
    assert unknown == [], f"add the new tenant routes to REQUESTS (aimed at tenant B's objects): {unknown}"
    assert len(tenant_routes(client.app)) == len(REQUESTS)


def test_no_route_returns_or_changes_another_tenants_rows(client, two_tenants):
    (alpha, _), (bravo, b) = two_tenants
    before = snapshot(bravo.id)
    assert all(before.values())
    walked = 0
    for method, suffix in tenant_routes(client.app):
        path = PREFIX.replace("{tenant_id}", str(alpha.id)) + suffix
        path = path.replace("{action_id}", b.action_id).replace("{rule_id}", b.rule_id)
        assert "{" not in path, f"give {suffix} a tenant-B id for its path parameter"
        for kwargs in REQUESTS[(method, suffix)](b):
            response = client.request(method, path, headers=alpha.admin, **kwargs)
            walked += 1
            assert response.status_code < 500, (method, path, response.text)
            if "{action_id}" in suffix:
                assert response.status_code == 404, (method, path, response.text)
            if "{rule_id}" in suffix:
                assert response.json()["error"]["code"] == "RULE_NOT_FOUND"
            sent = f"{path} {kwargs}"
            leaked = sorted(m for m in b.markers if m in response.text and m not in sent)
            assert leaked == [], (method, path, leaked)
    assert walked > len(REQUESTS)
    after = snapshot(bravo.id)
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == [], f"tenant B's rows changed in {changed}"


def test_tenant_filters_are_only_written_by_the_scope_helper():
    """`tenant_id ==` or filter_by(tenant_id=...) outside db/scope.py would bypass the one scope."""
    root = Path(autopack.__file__).parent
    offenders = []
    for source in sorted(root.rglob("*.py")):
        if source == SCOPE_MODULE:
            continue
        for number, line in enumerate(source.read_text().splitlines(), 1):
            if HAND_WRITTEN_FILTER.search(line):
                offenders.append(f"{source.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == [], "route tenant filters through autopack.db.scope:\n" + "\n".join(offenders)


def test_the_source_scan_can_fail():
    """The pattern catches the forms it is meant to catch (and not a plain assignment)."""
    for line in ("stmt.where(Model.tenant_id == tenant_id)", "q.filter_by(tenant_id=3)",
                 "where(x == row.tenant_id)"):
        assert HAND_WRITTEN_FILTER.search(line), line
    assert not HAND_WRITTEN_FILTER.search("Model(tenant_id=tenant_id)")


def test_a_statement_scoped_by_the_tenant_parameter_reads_one_tenant(two_tenants):
    """scoped(..., TENANT), built once, filters every tenant table by the tenant given at execution."""
    from sqlalchemy import select

    from autopack.core.database import session_scope
    from autopack.db.models import TenantEnforcementRule
    from autopack.db.models.campaigns import CampaignMetricsDaily
    from autopack.db.scope import TENANT, scoped

    (alpha, a), (bravo, b) = two_tenants
    stmt = scoped(select(TenantEnforcementRule.tenant_id, CampaignMetricsDaily.tenant_id).join(
        CampaignMetricsDaily, CampaignMetricsDaily.entity_id != TenantEnforcementRule.rule_id), TENANT)
    assert str(stmt).count(":tenant_id") == 2  # both tables, one parameter
    with session_scope(writer=False) as session:
        conn = session.connection()
        for tenant in (alpha, bravo):
            rows = conn.execute(stmt, {"tenant_id": tenant.id}).all()
            assert rows and {r[0] for r in rows} == {r[1] for r in rows} == {tenant.id}
