"""Approvals page: requests shown with context and patch, decided through the API's services and rules."""

from __future__ import annotations

import json

import pytest

from autopack.db.models import ApprovalRequest, GovernanceRequest
from tests.conftest import run_payload
from tests.governance.helpers import RUN_ID, all_rows, builder_body, init_repo, make_patch, snapshot
from tests.web.helpers import enter, page_csrf, user

KEY = "instance-key-0123456789"
SECRETS = b"token: mine\n"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = init_repo(tmp_path / "workspace")
    monkeypatch.setenv("REPO_PATH", str(root))
    return root


@pytest.fixture
def secured(make_client, repo, monkeypatch):
    """Authentication in force (development with the instance key), a started run."""
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    client = make_client()
    assert client.post("/runs/start", json=run_payload(RUN_ID), headers={"X-API-Key": KEY}).status_code == 201
    return client


def raise_approval(client, headers: dict | None = None, patch: str = "--- a/x\n+++ b/x\n+<b>new</b>\n") -> int:
    body = {"run_id": RUN_ID, "phase_id": "F1.1", "context": "build113_risky_decision",
            "decision_info": {"risk_level": "high", "description": "<script>x</script>"}, "patch_preview": patch}
    response = client.post("/approval/request", json=body, headers=headers or {"X-API-Key": KEY})
    assert response.status_code == 200, response.text
    return response.json()["approval_id"]


def raise_governance(client, repo) -> str:
    patch = make_patch(repo, lambda c: (c / "config/secrets.yaml").write_bytes(SECRETS))
    response = client.post(f"/runs/{RUN_ID}/phases/F1.1/builder_result", headers={"X-API-Key": KEY},
                           json=builder_body(patch, allowed_paths=["config"]))
    assert response.status_code == 422, response.text
    return json.loads(response.json()["detail"])["request_id"]


def test_page_shows_pending_requests_escaped_with_patch_and_hash(secured, repo):
    approval_id = raise_approval(secured)
    request_id = raise_governance(secured, repo)
    user("ann", roles=("approver",))
    enter(secured, "ann")
    page = secured.get("/ui/approvals")
    assert page.status_code == 200
    assert f'data-testid="approval-{approval_id}"' in page.text
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text and "<script>x" not in page.text
    assert "+&lt;b&gt;new&lt;/b&gt;" in page.text
    sha = all_rows(GovernanceRequest)[0].patch_sha256
    assert f'data-testid="patch-sha">{sha}<' in page.text
    assert '<span class="add">+token: mine</span>' in page.text
    assert f'action="/ui/governance/{request_id}/approve"' in page.text


def test_approver_approves_and_rejects_as_herself(secured):
    first, second = raise_approval(secured), raise_approval(secured)
    user("ann", roles=("approver",))
    enter(secured, "ann")
    csrf = page_csrf(secured, "/ui/approvals")
    done = secured.post(f"/ui/approvals/{first}/approve", data={"csrf_token": csrf, "reason": "looks fine"},
                        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/ui/approvals"
    secured.post(f"/ui/approvals/{second}/reject", data={"csrf_token": csrf, "reason": "no"})
    rows = {r.id: r for r in all_rows(ApprovalRequest)}
    assert (rows[first].status, rows[first].decided_by, rows[first].approval_reason) == \
        ("approved", "user:ann", "looks fine")
    assert (rows[second].status, rows[second].decided_by) == ("rejected", "user:ann")
    third = raise_approval(secured)
    assert 'name="amount"' not in secured.get("/ui/approvals").text  # only budget extensions take one
    wrong = secured.post(f"/ui/approvals/{third}/approve", data={"csrf_token": csrf, "amount": "500"})
    assert wrong.status_code == 400 and "budget extension" in wrong.text
    assert secured.post(f"/ui/approvals/{third}/approve", data={"csrf_token": csrf, "amount": "x"}).status_code == 400
    assert all_rows(ApprovalRequest, id=third)[0].status == "pending"
    again = secured.post(f"/ui/approvals/{first}/reject", data={"csrf_token": csrf})
    assert again.status_code == 409 and "not pending" in again.text
    assert all_rows(ApprovalRequest, id=first)[0].status == "approved"
    history = secured.get("/ui/approvals").text
    assert "approval #" in history and "looks fine" in history


def test_deciding_needs_csrf_and_the_approver_role(secured):
    approval_id = raise_approval(secured)
    user("ann", roles=("approver",))
    user("bob")
    enter(secured, "ann")
    assert secured.post(f"/ui/approvals/{approval_id}/approve", data={}).status_code == 403
    assert secured.post(f"/ui/approvals/{approval_id}/approve", data={"csrf_token": "f" * 64}).status_code == 403
    secured.cookies.clear()
    enter(secured, "bob")
    page = secured.get("/ui/approvals")
    assert "deciding needs the approver role" in page.text and 'data-testid="approve"' not in page.text
    refused = secured.post(f"/ui/approvals/{approval_id}/approve", data={"csrf_token": page_csrf(secured, "/ui/approvals")})
    assert refused.status_code == 403 and "approver role" in refused.text
    assert all_rows(ApprovalRequest)[0].status == "pending"


def test_four_eyes_a_user_never_decides_her_own_request(secured, repo):
    from tests.auth.helpers import bearer
    from tests.auth.helpers import make_user as make_token_user

    approver_id, token = make_token_user("carol", "correct-horse-battery")
    from autopack.auth import privileges
    from autopack.core.database import session_scope

    with session_scope() as session:
        privileges.grant(session, approver_id, "approver", "test")
        privileges.grant(session, approver_id, "runner", "test")
    approval_id = raise_approval(secured, bearer(token))
    enter(secured, "carol")
    response = secured.post(f"/ui/approvals/{approval_id}/approve",
                            data={"csrf_token": page_csrf(secured, "/ui/approvals")})
    assert response.status_code == 403 and "raised it" in response.text
    assert all_rows(ApprovalRequest)[0].status == "pending"


def test_governance_approval_applies_the_patch_to_the_workspace(secured, repo):
    request_id = raise_governance(secured, repo)
    user("ann", roles=("approver",))
    enter(secured, "ann")
    csrf = page_csrf(secured, "/ui/approvals")
    assert not (repo / "config/secrets.yaml").exists()
    response = secured.post(f"/ui/governance/{request_id}/approve", data={"csrf_token": csrf, "reason": "ok"},
                            follow_redirects=False)
    assert response.status_code == 303
    assert (repo / "config/secrets.yaml").read_bytes() == SECRETS
    row = all_rows(GovernanceRequest)[0]
    assert (row.approved, row.applied, row.approved_by) == (True, True, "user:ann")
    assert secured.post(f"/ui/governance/{request_id}/reject", data={"csrf_token": csrf}).status_code == 409


def test_governance_denial_and_refusals_leave_the_workspace(secured, repo):
    request_id = raise_governance(secured, repo)
    before = snapshot(repo)
    user("bob")
    enter(secured, "bob")
    csrf = page_csrf(secured, "/ui/approvals")
    assert secured.post(f"/ui/governance/{request_id}/approve", data={"csrf_token": csrf}).status_code == 403
    assert secured.post(f"/ui/governance/{request_id}/approve", data={}).status_code == 403
    assert snapshot(repo) == before and all_rows(GovernanceRequest)[0].approved is None
    secured.cookies.clear()
    user("ann", roles=("approver",))
    enter(secured, "ann")
    csrf = page_csrf(secured, "/ui/approvals")
    assert secured.post("/ui/governance/nope/approve", data={"csrf_token": csrf}).status_code == 404
    secured.post(f"/ui/governance/{request_id}/reject", data={"csrf_token": csrf, "reason": "too risky"})
    row = all_rows(GovernanceRequest)[0]
    assert (row.approved, row.decision_reason) == (False, "too risky")
    assert snapshot(repo) == before


def test_diff_lines_are_classed_and_capped():
    from autopack.web.present import DIFF_MAX_LINES as MAX_LINES
    from autopack.web.present import diff_lines

    shown = diff_lines("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n")
    assert shown == {"diff": [("file", "diff --git a/x b/x"), ("file", "--- a/x"), ("file", "+++ b/x"),
                              ("hunk", "@@ -1 +1 @@"), ("del", "-old"), ("add", "+new"), ("", " same")],
                     "diff_more": 0}
    long = diff_lines("+x\n" * (MAX_LINES + 7))
    assert len(long["diff"]) == MAX_LINES and long["diff_more"] == 7
