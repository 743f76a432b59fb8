"""Request → pending → web decision → status, with the reference's shapes, audit and auth."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from autopack.approvals.payload import payload_sha256
from tests.approvals.helpers import DECISION, DELETION, audit_trail, create, insert_pending, request_body, row

KEY = "k-approvals-0123456789"


def test_request_is_pending_with_reference_answer(client):
    answer = create(client)
    assert set(answer) == {"status", "reason", "approval_id", "telegram_sent", "timeout_at", "payload_sha256"}
    assert answer["status"] == "pending"
    assert answer["reason"] == "Awaiting human approval (timeout in 15 minutes, default: reject)"
    assert answer["telegram_sent"] is False
    timeout_at = datetime.fromisoformat(answer["timeout_at"])
    assert timeout_at.utcoffset() == timedelta(0)
    stored = row(answer["approval_id"])
    assert timeout_at == stored.timeout_at
    assert stored.timeout_at - stored.requested_at == timedelta(minutes=15)
    assert stored.telegram_error == "Telegram not configured (missing TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID)"
    assert (stored.notify_state, stored.requested_by) == ("skipped", "anonymous")


def test_status_and_pending_show_the_payload_hash(client):
    answer = create(client)
    approval_id = answer["approval_id"]
    status = client.get(f"/approval/status/{approval_id}").json()
    assert status == {"approval_id": approval_id, "run_id": "run-1", "phase_id": "F1.1", "status": "pending",
                      "requested_at": status["requested_at"], "responded_at": None,
                      "timeout_at": answer["timeout_at"], "approval_reason": None, "rejected_reason": None,
                      "response_method": None, "payload_sha256": answer["payload_sha256"], "decided_by": None}
    pending = client.get("/approval/pending").json()
    assert pending["count"] == 1
    item = pending["requests"][0]
    assert item["decision_info"] == DECISION and item["deletion_info"] == DELETION
    assert item["context"] == "build113_risky_decision" and item["telegram_sent"] is False
    # A human (or tool) recomputes the hash from what it was shown: it must match.
    expected = payload_sha256(item["decision_info"], item["deletion_info"], item["patch_preview"])
    assert item["payload_sha256"] == expected == answer["payload_sha256"]


def test_hash_changes_with_any_part_of_the_payload(client):
    base = create(client)["payload_sha256"]
    assert create(client, patch_preview="something else")["payload_sha256"] != base
    assert create(client, decision_info={**DECISION, "risk_score": 81})["payload_sha256"] != base
    assert create(client, deletion_info=None)["payload_sha256"] != base
    # `patch` is accepted when there is no patch_preview, and hashed the same way.
    body = request_body()
    patch = body.pop("patch_preview")
    again = client.post("/approval/request", json={**body, "patch": patch}).json()
    assert again["payload_sha256"] == base


def test_web_approve_records_who_and_why(client, alice):
    headers, actor = alice
    approval_id = create(client)["approval_id"]
    response = client.post(f"/approval/{approval_id}/approve", json={"reason": "looked at the diff"},
                           headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["decided_by"], body["approval_reason"]) == ("approved", actor,
                                                                          "looked at the diff")
    assert body["response_method"] == "dashboard" and body["responded_at"] is not None
    assert client.get(f"/approval/status/{approval_id}").json()["status"] == "approved"
    assert client.get("/approval/pending").json() == {"count": 0, "requests": []}
    assert audit_trail(approval_id) == [("approval.requested", "anonymous"), ("approval.approved", actor)]


def test_web_reject_with_api_key_and_default_reason(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    client = make_client()
    approval_id = create(client)["approval_id"]
    response = client.post(f"/approval/{approval_id}/reject", headers={"X-API-Key": KEY})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["rejected_reason"], body["decided_by"]) == (
        "rejected", "Rejected by api_key:env", "api_key:env")
    assert audit_trail(approval_id)[-1] == ("approval.rejected", "api_key:env")


def test_decisions_need_a_principal(client):
    approval_id = create(client)["approval_id"]
    for verb in ("approve", "reject"):
        response = client.post(f"/approval/{approval_id}/{verb}")
        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}
    bad = client.post(f"/approval/{approval_id}/approve", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert row(approval_id).status == "pending"


def test_second_decision_is_a_conflict_and_changes_nothing(client, alice):
    headers, _ = alice
    approval_id = create(client)["approval_id"]
    assert client.post(f"/approval/{approval_id}/reject", headers=headers).status_code == 200
    again = client.post(f"/approval/{approval_id}/approve", headers=headers)
    assert again.status_code == 409
    assert again.json() == {"detail": f"Approval request #{approval_id} is not pending (status: rejected)"}
    assert again.headers["x-approval-status"] == "rejected"
    assert row(approval_id).status == "rejected"
    assert [a for a, _ in audit_trail(approval_id)].count("approval.approved") == 0


def test_an_expired_request_cannot_be_approved(client, alice):
    headers, _ = alice
    approval_id = insert_pending(timeout_at=datetime.now().astimezone() - timedelta(seconds=1))
    response = client.post(f"/approval/{approval_id}/approve", headers=headers)
    assert response.status_code == 409
    assert "status: timeout" in response.json()["detail"]
    assert row(approval_id).status in ("pending", "timeout")  # the worker sweeps it; never approved


def test_unknown_and_malformed_ids(client, alice):
    headers, _ = alice
    assert client.get("/approval/status/999").json() == {"detail": "Approval request #999 not found"}
    assert client.get("/approval/status/999").status_code == 404
    assert client.post("/approval/999/approve", headers=headers).status_code == 404
    for bad in ("abc", "1.5", str(2**40)):
        assert client.get(f"/approval/status/{bad}").status_code == 422
        assert client.post(f"/approval/{bad}/reject", headers=headers).status_code == 422


def test_pending_is_newest_first_and_paged(client, alice):
    headers, _ = alice
    ids = [create(client, phase_id=f"F1.{i}")["approval_id"] for i in range(5)]
    client.post(f"/approval/{ids[2]}/approve", headers=headers)
    page = client.get("/approval/pending", params={"limit": 2}).json()
    assert page["count"] == 4
    assert [r["id"] for r in page["requests"]] == [ids[4], ids[3]]
    rest = client.get("/approval/pending", params={"limit": 2, "offset": 2}).json()
    assert [r["id"] for r in rest["requests"]] == [ids[1], ids[0]]
    assert client.get("/approval/pending", params={"limit": 0}).status_code == 422
    assert client.get("/approval/pending", params={"offset": -1}).status_code == 422


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_auto_approve_in_development(make_client, monkeypatch, value):
    monkeypatch.setenv("AUTO_APPROVE_BUILD113", value)
    answer = create(make_client())
    assert answer == {"status": "approved", "reason": "Auto-approved (BUILD-117 - auto-approve mode enabled)",
                      "approval_id": answer["approval_id"], "payload_sha256": answer["payload_sha256"]}
    stored = row(answer["approval_id"])
    assert (stored.status, stored.response_method, stored.approval_reason) == (
        "approved", "auto", "Auto-approved (AUTO_APPROVE_BUILD113=true)")
    assert audit_trail(answer["approval_id"])[-1] == ("approval.approved", "system:auto-approve")


@pytest.mark.parametrize("value", [None, "false", "maybe", ""])
def test_auto_approve_is_off_by_default_and_for_nonsense(make_client, monkeypatch, value):
    if value is not None:
        monkeypatch.setenv("AUTO_APPROVE_BUILD113", value)
    assert create(make_client())["status"] == "pending"


def test_production_never_auto_approves(make_client, monkeypatch):
    monkeypatch.setenv("AUTO_APPROVE_BUILD113", "true")
    monkeypatch.setenv("AUTOPACK_API_KEY", KEY)
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    client = make_client()
    assert client.post("/approval/request", json=request_body()).status_code == 403
    response = client.post("/approval/request", json=request_body(), headers={"X-API-Key": KEY})
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert row(response.json()["approval_id"]).requested_by == "api_key:env"


def test_timeout_minutes_and_default_text_are_configurable(make_client, monkeypatch):
    monkeypatch.setenv("APPROVAL_TIMEOUT_MINUTES", "90")
    monkeypatch.setenv("APPROVAL_DEFAULT_ON_TIMEOUT", "approve")
    answer = create(make_client())
    assert answer["reason"] == "Awaiting human approval (timeout in 90 minutes, default: approve)"
    stored = row(answer["approval_id"])
    assert stored.timeout_at - stored.requested_at == timedelta(minutes=90)
