"""Deciding is a privilege, not a login: the probe's attacks on approval and governance decisions."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from autopack.auth import apikeys, privileges
from autopack.auth import service as auth_service
from autopack.cli import app as cli_app
from autopack.core.database import session_scope
from autopack.db.models import ApprovalRequest, AuditEvent, GovernanceRequest, Tenant
from tests.auth.helpers import bearer, make_user
from tests.conftest import run_payload
from tests.governance.helpers import RUN_ID, all_rows, builder_body, make_patch, snapshot

KEY = "instance-key-0123456789"
SECRETS = b"token: mine\n"


def tenant_key(role: str, slug: str = "acme") -> dict:
    """X-API-Key header of a new key scoped to tenant `slug` with `role`."""
    with session_scope() as session:
        tenant = session.query(Tenant).filter_by(slug=slug).one_or_none()
        if tenant is None:
            tenant = Tenant(slug=slug, name=slug)
            session.add(tenant)
            session.flush()
        created = apikeys.create_key(session, name=f"{slug}-{role}", tenant_id=tenant.id, role=role,
                                     is_superuser=False, created_by="test")
        return {"X-API-Key": created.raw}


def with_role(username: str, *roles: str) -> dict:
    """A new user holding `roles` (approver by default); returns the Authorization header."""
    user_id, token = make_user(username)
    with session_scope() as session:
        for role in roles or ("approver",):
            privileges.grant(session, user_id, role, granted_by="test")
    return bearer(token)


@pytest.fixture(params=["production", "development-with-key"])
def secured(request, make_client, repo, monkeypatch):
    """An app where authentication is in force, with a started run; the instance key is KEY."""
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    if request.param == "production":
        monkeypatch.setenv("AUTOPACK_ENV", "production")
        monkeypatch.setenv("AUTOPACK_ALLOW_REGISTRATION", "1")
    client = make_client()
    assert client.post("/runs/start", json=run_payload(RUN_ID), headers={"X-API-Key": KEY}).status_code == 201
    return client


def send_secrets_patch(client, headers: dict, phase_id: str = "F1.1"):
    """A maintenance builder_result writing config/secrets.yaml with allowed_paths covering config/."""
    patch = make_patch(client.repo, lambda c: (c / "config/secrets.yaml").write_bytes(SECRETS))
    return client.post(f"/runs/{RUN_ID}/phases/{phase_id}/builder_result", headers=headers,
                       json=builder_body(patch, phase_id=phase_id, allowed_paths=["config"]))


def raise_governance(client, headers: dict, phase_id: str = "F1.1") -> str:
    """The secrets patch as a governance request; returns its id."""
    response = send_secrets_patch(client, headers, phase_id)
    assert response.status_code == 422, response.text
    return json.loads(response.json()["detail"])["request_id"]


def raise_approval(client, headers: dict) -> int:
    """POST /approval/request as `headers`; returns the approval id."""
    body = {"run_id": RUN_ID, "phase_id": "F1.1", "context": "build113_risky_decision",
            "decision_info": {"risk_level": "high"}}
    response = client.post("/approval/request", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["approval_id"]


@pytest.fixture
def secured_env(request):
    return request.node.callspec.params["secured"]


@pytest.fixture
def client(secured, repo):
    secured.repo = repo
    return secured


def test_the_probe_self_registered_user_cannot_approve_her_own_secrets_patch(client, repo, secured_env):
    registered = client.post("/api/auth/register", json={"username": "mallory", "email": "m@example.com",
                                                         "password": "long-password-1"})
    assert registered.status_code == 201, registered.text
    assert registered.json()["is_superuser"] is False
    token = client.post("/api/auth/login", data={"username": "mallory", "password": "long-password-1"})
    headers = bearer(token.json()["access_token"])
    before = snapshot(repo)
    sent = send_secrets_patch(client, headers)
    if secured_env == "production":  # a login is not a runner: the patch never reaches the workspace
        assert sent.status_code == 403
        request_id = raise_governance(client, {"X-API-Key": KEY})
    else:  # development with a key leaves executor writes open; the patch still waits for a human
        assert sent.status_code == 422
        request_id = json.loads(sent.json()["detail"])["request_id"]
        assert all_rows(GovernanceRequest)[0].requested_by == "user:mallory"
    response = client.post(f"/governance/approve/{request_id}", headers=headers)
    assert response.status_code == 403
    assert snapshot(repo) == before and not (repo / "config/secrets.yaml").exists()
    assert all_rows(GovernanceRequest)[0].approved is None


@pytest.mark.parametrize("who", ["plain user", "tenant viewer", "tenant operator", "tenant admin",
                                 "other tenant admin"])
def test_logins_and_tenant_keys_never_decide(client, repo, who):
    headers = {
        "plain user": lambda: bearer(make_user("newbie")[1]),
        "tenant viewer": lambda: tenant_key("viewer"),
        "tenant operator": lambda: tenant_key("operator"),
        "tenant admin": lambda: tenant_key("admin"),
        "other tenant admin": lambda: tenant_key("admin", slug="other"),
    }[who]()
    request_id = raise_governance(client, {"X-API-Key": KEY})
    approval_id = raise_approval(client, {"X-API-Key": KEY})
    for url in (f"/governance/approve/{request_id}", f"/governance/approve/{request_id}?approved=false",
                f"/approval/{approval_id}/approve", f"/approval/{approval_id}/reject"):
        response = client.post(url, headers=headers)
        assert response.status_code == 403, (url, response.text)
    assert all_rows(GovernanceRequest)[0].approved is None
    assert all_rows(ApprovalRequest)[0].status == "pending"
    assert not (repo / "config/secrets.yaml").exists()


def test_approver_role_superuser_and_instance_key_decide(client, repo):
    approver = with_role("ann")
    _, admin_token = make_user("root", superuser=True)
    first = raise_governance(client, {"X-API-Key": KEY}, phase_id="F1.1")
    second = raise_governance(client, {"X-API-Key": KEY}, phase_id="F1.2")
    third = raise_governance(client, {"X-API-Key": KEY}, phase_id="F2.1")
    assert client.post(f"/governance/approve/{first}", headers=approver).json()["applied"] is True
    assert (repo / "config/secrets.yaml").read_bytes() == SECRETS
    denied = client.post(f"/governance/approve/{second}?approved=false", headers=bearer(admin_token))
    assert denied.json()["status"] == "denied"
    assert client.post(f"/governance/approve/{third}?approved=false", headers={"X-API-Key": KEY}).status_code == 200
    by = {r.request_id: r.approved_by for r in all_rows(GovernanceRequest)}
    assert by == {first: "user:ann", second: "user:root", third: "api_key:env"}
    approval_id = raise_approval(client, {"X-API-Key": KEY})
    assert client.post(f"/approval/{approval_id}/approve", headers=approver).json()["decided_by"] == "user:ann"


def test_revoking_the_role_takes_effect_on_the_next_request(client):
    approver = with_role("ann")
    approval_id = raise_approval(client, {"X-API-Key": KEY})
    with session_scope() as session:
        assert privileges.revoke(session, auth_service.find_user(session, "ann").id, "approver") is True
    assert client.post(f"/approval/{approval_id}/approve", headers=approver).status_code == 403


def test_a_user_never_decides_a_request_that_user_raised(client):
    ann, bob = with_role("ann", "approver", "runner"), with_role("bob")
    request_id = raise_governance(client, ann)
    approval_id = raise_approval(client, ann)
    assert client.post(f"/governance/approve/{request_id}", headers=ann).status_code == 403
    assert client.post(f"/approval/{approval_id}/approve", headers=ann).status_code == 403
    assert client.post(f"/approval/{approval_id}/reject", headers=ann).status_code == 403
    assert all_rows(GovernanceRequest)[0].approved is None
    decided = client.post(f"/governance/approve/{request_id}", headers=bob)
    assert decided.status_code == 200 and decided.json()["applied"] is True
    assert all_rows(GovernanceRequest)[0].approved_by == "user:bob"
    assert client.post(f"/approval/{approval_id}/approve", headers=bob).json()["decided_by"] == "user:bob"
    # The instance key is a machine credential: an executor holding it may raise and a human decide,
    # or it may decide what it raised itself.
    own = raise_approval(client, {"X-API-Key": KEY})
    assert client.post(f"/approval/{own}/reject", headers={"X-API-Key": KEY}).status_code == 200


def test_a_superuser_is_bound_by_four_eyes_too(client):
    _, token = make_user("root", superuser=True)
    approval_id = raise_approval(client, bearer(token))
    assert client.post(f"/approval/{approval_id}/approve", headers=bearer(token)).status_code == 403
    assert all_rows(ApprovalRequest)[0].status == "pending"


def test_development_without_a_key_keeps_the_contract_but_tenant_keys_never_decide(make_client, repo):
    client = make_client()
    client.post("/runs/start", json=run_payload(RUN_ID))
    client.repo = repo
    request_id = raise_governance(client, {})
    approval_id = raise_approval(client, {})
    viewer = tenant_key("admin")
    assert client.post(f"/governance/approve/{request_id}", headers=viewer).status_code == 403
    assert client.post(f"/approval/{approval_id}/approve", headers=viewer).status_code == 403
    _, token = make_user("dev")
    assert client.post(f"/approval/{approval_id}/approve", headers=bearer(token)).status_code == 200
    assert client.post(f"/governance/approve/{request_id}?approved=false").status_code == 200


def test_cli_grants_and_revokes_roles_audited(client):
    make_user("carol")
    runner = CliRunner()
    granted = runner.invoke(cli_app, ["users", "grant", "carol", "approver"])
    assert granted.exit_code == 0, granted.output
    assert "approver granted for carol; roles: approver" in granted.output
    assert "already held" in runner.invoke(cli_app, ["users", "grant", "carol", "approver"]).output
    assert runner.invoke(cli_app, ["users", "grant", "carol", "god"]).exit_code == 1
    assert runner.invoke(cli_app, ["users", "grant", "nobody", "approver"]).exit_code == 1
    listed = runner.invoke(cli_app, ["users", "list"]).output
    assert "carol\tapprover" in listed
    revoked = runner.invoke(cli_app, ["users", "revoke", "carol", "approver"])
    assert revoked.exit_code == 0 and "roles: none" in revoked.output
    events = [(e.action, e.actor, e.details["role"]) for e in all_rows(AuditEvent)
              if e.action.startswith("auth.role_")]
    assert events == [("auth.role_granted", "cli", "approver"), ("auth.role_revoked", "cli", "approver")]


def test_me_shows_the_instance_roles(client):
    user_id, token = make_user("dora")
    assert client.get("/api/auth/me", headers=bearer(token)).json()["roles"] == []
    with session_scope() as session:
        privileges.grant(session, user_id, "runner", granted_by="test")
        privileges.grant(session, user_id, "approver", granted_by="test")
    assert client.get("/api/auth/me", headers=bearer(token)).json()["roles"] == ["approver", "runner"]
    with session_scope() as session:
        privileges.revoke(session, user_id, "approver")
    assert client.get("/api/auth/me", headers=bearer(token)).json()["roles"] == ["runner"]
