"""Tenants, memberships and the tenant access dependency (envelope errors)."""

from __future__ import annotations

from typer.testing import CliRunner

from autopack.audit import service as audit
from autopack.cli import app as cli
from autopack.core.database import session_scope
from autopack.db.models import Tenant
from tests.auth.helpers import bearer, make_user

runner = CliRunner()


def admin_headers():
    return bearer(make_user("root", superuser=True)[1])


def test_superuser_manages_tenants_and_members(client):
    root = admin_headers()
    _, alice = make_user("alice")
    created = client.post("/api/v1/tenants", json={"slug": "acme", "name": "Acme"}, headers=root)
    assert created.status_code == 201
    tenant_id = created.json()["data"]["id"]
    assert created.json()["success"] is True
    dup = client.post("/api/v1/tenants", json={"slug": "acme", "name": "Again"}, headers=root)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "TENANT_ALREADY_EXISTS"
    added = client.put(f"/api/v1/tenants/{tenant_id}/members", json={"username": "alice", "role": "operator"},
                       headers=root)
    assert added.status_code == 200 and added.json()["data"]["role"] == "operator"
    members = client.get(f"/api/v1/tenants/{tenant_id}/members", headers=root).json()["data"]
    assert members["total"] == 1 and members["members"][0]["username"] == "alice"
    mine = client.get(f"/api/v1/tenant/{tenant_id}/membership", headers=bearer(alice))
    assert mine.status_code == 200 and mine.json()["data"]["role"] == "operator"
    client.put(f"/api/v1/tenants/{tenant_id}/members", json={"username": "alice", "role": "viewer"}, headers=root)
    with session_scope(writer=False) as session:
        actions = [e["action"] for e in audit.list_events(session, tenant_id=tenant_id).model_dump()["events"]]
    assert {"tenant.created", "tenant.member_added", "tenant.role_changed"} <= set(actions)


def test_non_superusers_cannot_administer(client):
    _, alice = make_user("alice")
    response = client.post("/api/v1/tenants", json={"slug": "x", "name": "X"}, headers=bearer(alice))
    assert response.status_code == 403
    assert response.json() == {"success": False, "error": {"code": "FORBIDDEN", "message": "Admin privileges required",
                                                           "details": {}}}
    anonymous = client.get("/api/v1/tenants")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "UNAUTHORIZED"


def test_tenant_access_errors(client):
    root = admin_headers()
    tenant_id = client.post("/api/v1/tenants", json={"slug": "acme", "name": "Acme"}, headers=root).json()["data"]["id"]
    other_id = client.post("/api/v1/tenants", json={"slug": "other", "name": "O"}, headers=root).json()["data"]["id"]
    _, alice = make_user("alice")
    client.put(f"/api/v1/tenants/{tenant_id}/members", json={"username": "alice", "role": "viewer"}, headers=root)
    no_auth = client.get(f"/api/v1/tenant/{tenant_id}/membership")
    assert no_auth.status_code == 401 and no_auth.json()["error"]["code"] == "UNAUTHORIZED"
    bad_token = client.get(f"/api/v1/tenant/{tenant_id}/membership", headers=bearer("x.y.z"))
    assert bad_token.status_code == 401
    foreign = client.get(f"/api/v1/tenant/{other_id}/membership", headers=bearer(alice))
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "ACCESS_DENIED"
    missing = client.get("/api/v1/tenant/424242/membership", headers=bearer(alice))
    assert missing.status_code == 403 and missing.json()["error"]["code"] == "ACCESS_DENIED"
    malformed = client.get("/api/v1/tenant/abc/membership", headers=bearer(alice))
    assert malformed.status_code == 422 and malformed.json()["error"]["code"] == "VALIDATION_ERROR"


def test_removing_membership_takes_effect_at_once(client):
    root = admin_headers()
    user_id, alice = make_user("alice")
    tenant_id = client.post("/api/v1/tenants", json={"slug": "acme", "name": "Acme"}, headers=root).json()["data"]["id"]
    client.put(f"/api/v1/tenants/{tenant_id}/members", json={"user_id": user_id, "role": "admin"}, headers=root)
    assert client.get(f"/api/v1/tenant/{tenant_id}/membership", headers=bearer(alice)).status_code == 200
    assert client.delete(f"/api/v1/tenants/{tenant_id}/members/{user_id}", headers=root).status_code == 200
    assert client.get(f"/api/v1/tenant/{tenant_id}/membership", headers=bearer(alice)).status_code == 403


def test_member_validation(client):
    root = admin_headers()
    tenant_id = client.post("/api/v1/tenants", json={"slug": "acme", "name": "Acme"}, headers=root).json()["data"]["id"]
    for body in ({"username": "alice", "role": "owner"}, {"role": "viewer"},
                 {"user_id": 1, "username": "root", "role": "viewer"}):
        response = client.put(f"/api/v1/tenants/{tenant_id}/members", json=body, headers=root)
        assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    unknown = client.put(f"/api/v1/tenants/{tenant_id}/members", json={"username": "ghost", "role": "viewer"},
                         headers=root)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "USER_NOT_FOUND"
    bad_slug = client.post("/api/v1/tenants", json={"slug": "Bad Slug!", "name": "x"}, headers=root)
    assert bad_slug.status_code == 422


def test_scoped_api_key_gets_its_role_in_its_tenant_only(client):
    assert runner.invoke(cli, ["tenants", "create", "acme"]).exit_code == 0
    assert runner.invoke(cli, ["tenants", "create", "other"]).exit_code == 0
    result = runner.invoke(cli, ["apikeys", "create", "--name", "bot", "--tenant", "acme", "--role", "operator"])
    raw = [line.split(": ", 1)[1] for line in result.stdout.splitlines() if line.startswith("key: ")][0]
    with session_scope(writer=False) as session:
        ids = {t.slug: t.id for t in session.query(Tenant)}
    mine = client.get(f"/api/v1/tenant/{ids['acme']}/membership", headers={"X-API-Key": raw})
    assert mine.status_code == 200 and mine.json()["data"]["role"] == "operator"
    other = client.get(f"/api/v1/tenant/{ids['other']}/membership", headers={"X-API-Key": raw})
    assert other.status_code == 403 and other.json()["error"]["code"] == "ACCESS_DENIED"
    roleless = runner.invoke(cli, ["apikeys", "create", "--name", "x", "--tenant", "acme"])
    assert roleless.exit_code == 1


def test_cli_add_member(client):
    make_user("alice")
    assert runner.invoke(cli, ["tenants", "create", "acme", "--name", "Acme Inc"]).exit_code == 0
    result = runner.invoke(cli, ["tenants", "add-member", "acme", "alice", "--role", "admin"])
    assert result.exit_code == 0 and "alice is admin of acme" in result.stdout
    assert runner.invoke(cli, ["tenants", "add-member", "acme", "alice", "--role", "king"]).exit_code == 1
    assert runner.invoke(cli, ["tenants", "add-member", "nope", "alice"]).exit_code == 1


def test_superuser_on_a_missing_tenant_is_404_not_a_write(client):
    root = admin_headers()
    for method, path, body in (("GET", "/api/v1/tenant/424242/membership", None),
                               ("POST", "/api/v1/tenant/424242/autopilot/enforcement/kill-switch",
                                {"enabled": False, "reason": "x"}),
                               ("PUT", "/api/v1/tenant/424242/autopilot/enforcement/settings", {})):
        response = client.request(method, path, json=body, headers=root)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "TENANT_NOT_FOUND"
