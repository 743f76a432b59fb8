"""Governance endpoints: pending, approve/deny (applying the stored patch), staleness, requests, auth."""

from __future__ import annotations

import json

from autopack.audit.service import verify_ledger
from autopack.core.database import session_scope
from autopack.db.models import AuditEvent, GovernanceRequest, Phase
from tests.conftest import run_payload
from tests.governance.helpers import RUN_ID, all_rows, make_patch, porcelain, submit

APPROVE = "/governance/approve/{}"


def protected_request(client, repo, phase_id="F1.1") -> str:
    """Submit a patch touching a protected path; returns the governance request id."""
    patch = "# needed for the new column\n" + make_patch(repo, lambda c: (
        (c / "src/autopack/models.py").write_bytes(b"MODELS = 2\n"),
        (c / "a.txt").write_bytes(b"alpha\nBETA\ngamma\n")))
    response = submit(client, patch, phase_id=phase_id)
    assert response.status_code == 422
    return json.loads(response.json()["detail"])["request_id"]


def test_approval_applies_the_stored_patch(gov_client, repo):
    request_id = protected_request(gov_client, repo)
    pending = gov_client.get("/governance/pending").json()
    assert pending["count"] == 1 and pending["pending_requests"][0]["request_id"] == request_id
    item = pending["pending_requests"][0]
    assert item["approved"] is None and item["requested_paths"] == ["src/autopack/models.py"]
    assert item["created_at"].endswith("+00:00")
    response = gov_client.post(APPROVE.format(request_id), params={"user_id": "alice"})
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "approved", "request_id": request_id,
                               "message": "Governance request approved", "applied": True,
                               "apply_error": None}
    assert (repo / "src/autopack/models.py").read_bytes() == b"MODELS = 2\n"
    assert sorted(porcelain(repo)) == [" M a.txt", " M src/autopack/models.py"]
    assert all_rows(Phase, phase_id="F1.1")[0].state == "GATE"
    (request,) = all_rows(GovernanceRequest)
    assert (request.approved, request.approved_by, request.applied) == (True, "alice", True)
    assert request.decided_at is not None
    (event,) = all_rows(AuditEvent, action="governance.approved")
    assert (event.actor, event.target_id, event.details["applied"]) == ("alice", request_id, True)
    assert gov_client.get("/governance/pending").json()["count"] == 0
    with session_scope(writer=False) as session:
        report = verify_ledger(session)
    assert report.ok and report.events_checked == 2  # requested + approved, chained


def test_authenticated_principal_is_recorded_over_user_id(make_client, repo, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "gov-key-0123456789")
    client = make_client(headers={"X-API-Key": "gov-key-0123456789"})
    assert client.post("/runs/start", json=run_payload(RUN_ID)).status_code == 201
    request_id = protected_request(client, repo)
    response = client.post(APPROVE.format(request_id), params={"approved": "false", "user_id": "mallory"})
    assert response.json()["status"] == "denied"
    (request,) = all_rows(GovernanceRequest)
    assert request.approved is False and request.approved_by == "api_key:env"
    (event,) = all_rows(AuditEvent, action="governance.denied")
    assert event.actor == "api_key:env" and event.details["user_id"] == "mallory"


def test_denial_applies_nothing_and_second_decision_is_409(gov_client, repo):
    request_id = protected_request(gov_client, repo)
    response = gov_client.post(APPROVE.format(request_id), params={"approved": False, "reason": "too risky"})
    assert response.json() == {"status": "denied", "request_id": request_id,
                               "message": "Governance request denied", "applied": False, "apply_error": None}
    assert porcelain(repo) == []
    for approved in (True, False):
        again = gov_client.post(APPROVE.format(request_id), params={"approved": approved})
        assert again.status_code == 409
        assert again.json() == {"detail": "Governance request already decided"}
    (request,) = all_rows(GovernanceRequest)
    assert (request.approved, request.decision_reason) == (False, "too risky")
    assert porcelain(repo) == [] and all_rows(Phase, phase_id="F1.1")[0].state == "FAILED"
    assert len(all_rows(AuditEvent, action="governance.denied")) == 1
    assert all_rows(AuditEvent, action="governance.approved") == []


def test_stale_approval_is_refused_and_stays_pending(gov_client, repo):
    request_id = protected_request(gov_client, repo)
    (repo / "a.txt").write_bytes(b"alpha\nbeta\ngamma\nmore\n")  # a touched file changed meanwhile
    response = gov_client.post(APPROVE.format(request_id))
    assert response.status_code == 409
    assert response.json() == {"detail": "Workspace changed since the request; approval refused as stale"}
    assert (repo / "src/autopack/models.py").read_bytes() == b"MODELS = 1\n"
    (request,) = all_rows(GovernanceRequest)
    assert request.approved is None and request.applied is False
    assert all_rows(AuditEvent, action="governance.approved") == []
    (repo / "a.txt").write_bytes(b"alpha\nbeta\ngamma\n")  # back as it was: no longer stale
    assert gov_client.post(APPROVE.format(request_id)).json()["applied"] is True


def test_unknown_request_is_404(gov_client):
    response = gov_client.post(APPROVE.format("deadbeef"))
    assert response.status_code == 404
    assert response.json() == {"detail": "Governance request not found"}
    assert gov_client.get("/governance/request/deadbeef").status_code == 404


def api_request(client, **overrides):
    body = {"run_id": RUN_ID, "phase_id": "F1.1", "requested_paths": ["src/autopack/models.py"],
            "justification": "executor needs it", **overrides}
    return client.post("/governance/request", json=body)


def test_executor_request_is_created_and_decided_without_server_apply(gov_client, repo):
    response = api_request(gov_client, patch_content="diff --git a/x b/x\n", risk_level="high",
                           requested_paths=["docs/a.md", "docs/a.md", "src/autopack/models.py"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["requested_paths"] == ["docs/a.md", "src/autopack/models.py"]
    assert (body["risk_level"], body["approved"]) == ("high", None)
    assert body["justification"] == "executor needs it"
    assert len(body["request_id"]) == 16 and len(body["patch_sha256"]) == 64
    detail = gov_client.get(f"/governance/request/{body['request_id']}").json()
    assert detail["patch_content"] == "diff --git a/x b/x\n"
    decision = gov_client.post(APPROVE.format(body["request_id"])).json()
    assert (decision["status"], decision["applied"]) == ("approved", False)
    assert porcelain(repo) == []


def test_executor_request_validation(gov_client):
    assert api_request(gov_client, run_id="no-such-run").status_code == 404
    assert api_request(gov_client, phase_id="F9.9").json() == {"detail": "Phase F9.9 not found"}
    for bad in (["../etc/passwd"], ["/abs/path"], ["a/../../b"], [".git/config"], [], ["x"] * 201):
        assert api_request(gov_client, requested_paths=bad).status_code == 422, bad
    assert api_request(gov_client, risk_level="extreme").status_code == 422
    assert api_request(gov_client, justification="nul\x00byte").status_code == 422
    lone_surrogate = ('{"run_id": "%s", "phase_id": "F1.1", "requested_paths": ["a"], '
                      '"patch_content": "\\ud800"}')
    response = gov_client.post("/governance/request", content=lone_surrogate % RUN_ID,
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    computed = api_request(gov_client, requested_paths=["tests/test_x.py"], justification=None).json()
    assert (computed["risk_level"], computed["justification"]) == ("low", "No justification provided")
    assert len(all_rows(GovernanceRequest)) == 1


def test_pending_pagination_newest_first(gov_client):
    ids = [api_request(gov_client, justification=f"n{i}").json()["request_id"] for i in range(5)]
    first = gov_client.get("/governance/pending", params={"limit": 2}).json()
    assert [r["request_id"] for r in first["pending_requests"]] == ids[::-1][:2]
    assert (first["count"], first["total"], first["limit"], first["offset"]) == (2, 5, 2, 0)
    rest = gov_client.get("/governance/pending", params={"limit": 2, "offset": 4}).json()
    assert [r["request_id"] for r in rest["pending_requests"]] == [ids[0]]
    gov_client.post(APPROVE.format(ids[4]), params={"approved": False})
    assert gov_client.get("/governance/pending").json()["total"] == 4
    assert gov_client.get("/governance/pending", params={"limit": 501}).status_code == 422
    assert gov_client.get("/governance/pending", params={"offset": -1}).status_code == 422


def test_production_requires_credentials(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "prod-key-0123456789")
    client = make_client()
    assert client.post(APPROVE.format("abc")).status_code == 403
    assert api_request(client).status_code == 403
    authed = client.post(APPROVE.format("abc"), headers={"X-API-Key": "prod-key-0123456789"})
    assert authed.status_code == 404
