"""Every autopilot route, walked: auth first, roles, and no tenant reads or changes another's data."""

from __future__ import annotations

import re

from autopack.autopilot.proposals import PLATFORMS
from tests.autopilot.core.conftest import pause, proposal, queue

BODIES = {
    ("post", "/actions"): pause("walk"),
    ("post", "/actions/dry-run"): proposal(),
    ("post", "/actions/approve-all"): None,  # filled with the foreign id
    ("put", "/config"): {"level": 1},
    ("post", "/freeze"): {"reason": "walk"},
    ("post", "/signal-health"): {"readings": [{"platform": "meta", "emq": 1, "freshness": 1, "variance": 1,
                                               "anomaly": 1}]},
    ("put", "/enforcement/settings"): {"default_mode": "hard_block"},
    ("post", "/enforcement/check"): {"action_type": "budget_increase", "entity_type": "campaign", "entity_id": "1",
                                     "proposed_value": {"daily_budget": 1.0}},
    ("post", "/enforcement/confirm"): {"confirmation_token": "x.y.z"},
    ("post", "/enforcement/kill-switch"): {"enabled": False, "reason": "walk"},
    ("post", "/enforcement/rules"): {"rule_id": "walk-rule", "rule_type": "budget_exceeded", "threshold_value": 1},
}


def tenant_routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every tenant-scoped autopilot route in the OpenAPI schema."""
    routes = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api/v1/tenant/{tenant_id}/") and ("/autopilot" in path or "signal-health" in path):
            routes += [(method, path) for method in operations if method in ("get", "post", "put", "delete")]
    return routes


def fill(path: str, tenant_id: int, action_id: str, rule_id: str) -> str:
    path = path.replace("{tenant_id}", str(tenant_id)).replace("{action_id}", action_id)
    path = path.replace("{rule_id}", rule_id)
    return re.sub(r"\{[a-z_]+\}", "00000000-0000-4000-8000-000000000000", path)


def suffix(path: str) -> str:
    return path.split("/autopilot", 1)[-1] if "/autopilot" in path else path.split("{tenant_id}", 1)[-1]


def test_routes_are_all_walked(client):
    routes = {(m, suffix(p)) for m, p in tenant_routes(client.app)}
    assert {("get", "/status"), ("get", "/actions"), ("post", "/actions"), ("get", "/actions/summary"),
            ("get", "/actions/{action_id}"), ("post", "/actions/{action_id}/approve"),
            ("post", "/actions/approve-all"), ("post", "/actions/{action_id}/dismiss"),
            ("post", "/actions/dry-run"), ("put", "/config"), ("post", "/freeze"), ("post", "/unfreeze"),
            ("post", "/signal-health"), ("get", "/signal-health")} <= routes


def test_no_route_leaks_across_tenants(client, acme, globex):
    foreign_action = queue(client, globex)["id"]
    rule = client.post(globex.url("/enforcement/rules"), headers=globex.admin,
                       json={"rule_id": "g-rule", "rule_type": "budget_exceeded", "threshold_value": 100})
    assert rule.status_code == 201
    before_status = client.get(globex.url("/status"), headers=globex.viewer).json()["data"]
    before_settings = client.get(globex.url("/enforcement/settings"), headers=globex.viewer).json()["data"]
    routes = tenant_routes(client.app)
    assert len(routes) >= 14

    for method, template in routes:
        body = BODIES.get((method, suffix(template)), {})
        if suffix(template) == "/actions/approve-all":
            body = {"action_ids": [foreign_action]}
        kwargs = {"json": body} if method in ("post", "put") else {}
        # 1. acme's admin on globex's path: refused before any lookup.
        theirs = fill(template, globex.id, foreign_action, "g-rule")
        response = client.request(method, theirs, headers=acme.admin, **kwargs)
        assert response.status_code == 403, (method, theirs, response.text)
        assert response.json()["error"]["code"] == "ACCESS_DENIED"
        # 2. no credentials at all.
        anonymous = client.request(method, theirs, **kwargs)
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "UNAUTHORIZED"
        # 3. acme's admin on acme's path with globex's ids: not found, never globex's data.
        ours = fill(template, acme.id, foreign_action, "g-rule")
        response = client.request(method, ours, headers=acme.admin, **kwargs)
        if suffix(template) == "/actions/approve-all":  # echoes the id it was sent, as unknown
            assert response.json()["data"]["skipped"] == [{"id": foreign_action, "reason": "not_found",
                                                           "current_status": None}]
        elif "{action_id}" in template:
            assert response.status_code == 404 and response.json()["error"] == {
                "code": "ACTION_NOT_FOUND", "message": "Action not found", "details": {}}
        elif "{rule_id}" in template:
            assert response.status_code == 404 and response.json()["error"]["code"] == "RULE_NOT_FOUND"
        else:
            assert foreign_action not in response.text and "g-rule" not in response.text, (method, ours)
        # 4. viewers only read.
        if method != "get":
            viewer = client.request(method, fill(template, acme.id, foreign_action, "g-rule"), headers=acme.viewer,
                                    **kwargs)
            assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "FORBIDDEN", (method, template)

    after = client.get(globex.url(f"/actions/{foreign_action}"), headers=globex.viewer).json()["data"]["action"]
    assert after["status"] == "queued" and after["approved_at"] is None
    assert client.get(globex.url("/status"), headers=globex.viewer).json()["data"] == before_status
    assert client.get(globex.url("/enforcement/settings"), headers=globex.viewer).json()["data"] == before_settings
    listing = client.get(globex.url("/actions"), headers=globex.viewer).json()["data"]
    assert [a["id"] for a in listing["actions"]] == [foreign_action]
    health = client.get(globex.url("/signal-health"), headers=globex.viewer).json()["data"]
    assert all(health["platforms"][p]["status"] == "no_data" for p in PLATFORMS)
    ours = client.get(acme.url("/actions"), headers=acme.viewer).json()["data"]
    assert foreign_action not in {a["id"] for a in ours["actions"]}


def test_revoked_membership_takes_effect_at_once(client, acme):
    from autopack.core.database import session_scope
    from autopack.db.models import TenantMembership

    assert client.get(acme.url("/status"), headers=acme.operator).status_code == 200
    with session_scope() as session:
        for membership in session.query(TenantMembership).filter_by(tenant_id=acme.id, role="operator"):
            session.delete(membership)
    response = client.get(acme.url("/status"), headers=acme.operator)
    assert response.status_code == 403 and response.json()["error"]["code"] == "ACCESS_DENIED"
