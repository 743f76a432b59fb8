"""POST /actions (levels and caps), GET /actions/{id}, approve, dismiss, approve-all; events and ledger."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.db.models import AutopilotActionEvent
from tests.autopilot.core.conftest import pause, proposal, queue
from tests.autopilot.core.test_config import ledger


def events(action_id: str) -> list[tuple]:
    """(from, to, actor) of an action's events, in order."""
    with session_scope(writer=False) as session:
        rows = session.scalars(select(AutopilotActionEvent).where(AutopilotActionEvent.action_id == action_id)
                               .order_by(AutopilotActionEvent.id))
        return [(e.from_status, e.to_status, e.actor) for e in rows]


def set_level(client, tenant, level: int) -> None:
    assert client.put(tenant.url("/config"), headers=tenant.admin, json={"level": level}).status_code == 200


def test_queue_at_level_two_needs_approval(client, acme):
    response = client.post(acme.url("/actions"), headers=acme.operator, json=proposal())
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["auto_approved"] is False and data["requires_approval"] is True
    assert data["reason"] == "Autopilot level 2 requires manual approval"
    action = data["action"]
    assert action["status"] == "queued" and action["action_json"]["new_budget"] == 600.0
    assert action["before_value"] == {"daily_budget": 500.0} and action["after_value"] is None
    assert action["created_at"].endswith("+00:00") and len(action["date"]) == 10
    assert events(action["id"]) == [(None, "queued", "user:acme-operator")]


def test_level_zero_never_auto_approves(client, acme):
    set_level(client, acme, 0)
    data = client.post(acme.url("/actions"), headers=acme.operator, json=pause()).json()["data"]
    assert data["auto_approved"] is False
    assert data["reason"] == "Autopilot level 0 (Suggest Only) requires manual approval"


@pytest.mark.parametrize("body, auto, reason", [
    (pause(), True, None),
    ({**pause(), "action_type": "bid_decrease"}, True, None),
    (proposal(), True, None),  # +20%, +100, 600 ≤ 5000
    ({**pause(), "action_type": "enable_campaign"}, False, "enable_campaign requires approval at autopilot level 1"),
    (proposal(action_json={"new_budget": 750.0, "change_percent": 50}), False,
     "Budget change 50% exceeds cap of 30%"),
    (proposal(action_json={"new_budget": 5200.0}, before_value={"daily_budget": 4500.0}), False,
     "New budget 5200 exceeds campaign cap of 5000"),
    (proposal(action_json={"new_budget": 3900.0}, before_value={"daily_budget": 3000.0}), True, None),
    (proposal(action_json={"new_budget": 600.0, "change_percent": 20, "metrics": {"cpa": 80, "roas": 2}}), False,
     "CPA 80 exceeds ceiling of 50"),
    (proposal(action_json={"change_percent": 10}, before_value=None), False,
     "Budget increase cannot be checked against daily_max: give new_budget and before_value"),
])
def test_level_one_auto_approves_safe_actions_within_caps(client, acme, body, auto, reason):
    set_level(client, acme, 1)
    response = client.post(acme.url("/actions"), headers=acme.operator, json=body)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert (data["auto_approved"], data["requires_approval"], data["reason"]) == (auto, not auto, reason)
    if auto:
        assert data["action"]["status"] == "approved" and data["action"]["approved_by"] == "autopilot"
        assert events(data["action"]["id"]) == [(None, "queued", "user:acme-operator"),
                                                ("queued", "approved", "autopilot")]
        assert ledger(acme.id, "autopilot.action_approved")[0]["details"]["auto"] is True
    else:
        assert data["action"]["status"] == "queued"


def test_daily_max_caps_the_increase(client, acme):
    set_level(client, acme, 1)
    client.put(acme.url("/config"), headers=acme.admin, json={"caps": {"daily_max": 50}})
    data = client.post(acme.url("/actions"), headers=acme.operator, json=proposal()).json()["data"]
    assert data["reason"] == "Budget increase 100 exceeds daily cap of 50"


@pytest.mark.parametrize("body", [
    proposal(platform="myspace"), proposal(action_type="delete_everything"), proposal(entity_type="account"),
    proposal(entity_id=""), proposal(action_json={"new_budget": 1e308}), proposal(action_json={"new_budget": -5}),
    proposal(before_value={"daily_budget": -1}), proposal(action_json={"change_percent": -150}),
    proposal(extra_field=1), {k: v for k, v in proposal().items() if k != "platform"},
    proposal(action_json={"new_budget": "600"}), proposal(action_json={"change_percent": True}),
    proposal(before_value={"daily_budget": "500"}), proposal(entity_id="x" * 256),
])
def test_queue_rejects_bad_input(client, acme, body):
    response = client.post(acme.url("/actions"), headers=acme.operator, json=body)
    assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert client.get(acme.url("/actions"), headers=acme.viewer).json()["data"]["count"] == 0


def test_queue_rejects_nan(client, acme):
    raw = '{"action_type": "budget_increase", "entity_type": "campaign", "entity_id": "1", "platform": "meta", ' \
          '"action_json": {"new_budget": NaN}}'
    response = client.post(acme.url("/actions"), headers={**acme.operator, "Content-Type": "application/json"},
                           content=raw)
    assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_get_action_and_its_errors(client, acme):
    action = queue(client, acme)
    got = client.get(acme.url(f"/actions/{action['id']}"), headers=acme.viewer)
    assert got.status_code == 200 and got.json()["data"]["action"] == action
    upper = client.get(acme.url(f"/actions/{action['id'].upper()}"), headers=acme.viewer)
    assert upper.status_code == 200 and upper.json()["data"]["action"]["id"] == action["id"]
    for bad in ("not-a-uuid", "123", "%20", "00000000-0000-0000-0000-00000000000g"):
        response = client.get(acme.url(f"/actions/{bad}"), headers=acme.viewer)
        assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_ACTION_ID", bad
    missing = client.get(acme.url(f"/actions/{uuid.uuid4()}"), headers=acme.viewer)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ACTION_NOT_FOUND"


def test_approve_then_approve_again_is_an_invalid_transition(client, acme):
    action = queue(client, acme)
    first = client.post(acme.url(f"/actions/{action['id']}/approve"), headers=acme.operator)
    assert first.status_code == 200
    body = first.json()["data"]
    assert body["message"] == "Action approved for execution"
    assert body["action"]["status"] == "approved" and body["action"]["approved_by"] == "user:acme-operator"
    assert body["action"]["approved_at"] is not None
    again = client.post(acme.url(f"/actions/{action['id']}/approve"), headers=acme.operator)
    assert again.status_code == 400 and again.json()["error"]["code"] == "INVALID_STATUS_TRANSITION"
    assert again.json()["error"]["details"]["current_status"] == "approved"
    dismiss = client.post(acme.url(f"/actions/{action['id']}/dismiss"), headers=acme.operator)
    assert dismiss.status_code == 400 and dismiss.json()["error"]["details"]["current_status"] == "approved"
    assert [e[:2] for e in events(action["id"])][:2] == [(None, "queued"), ("queued", "approved")]
    assert [e["target_id"] for e in ledger(acme.id, "autopilot.action_approved")] == [action["id"]]


def test_dismiss(client, acme):
    action = queue(client, acme)
    response = client.post(acme.url(f"/actions/{action['id']}/dismiss"), headers=acme.operator)
    assert response.status_code == 200 and response.json()["data"]["message"] == "Action dismissed"
    dismissed = response.json()["data"]["action"]
    assert dismissed["status"] == "dismissed" and dismissed["dismissed_by"] == "user:acme-operator"
    assert dismissed["approved_at"] is None
    approve = client.post(acme.url(f"/actions/{action['id']}/approve"), headers=acme.operator)
    assert approve.status_code == 400 and approve.json()["error"]["details"]["current_status"] == "dismissed"
    assert events(action["id"]) == [(None, "queued", "user:acme-operator"),
                                    ("queued", "dismissed", "user:acme-operator")]
    assert len(ledger(acme.id, "autopilot.action_dismissed")) == 1
    for verb in ("approve", "dismiss"):
        bad = client.post(acme.url(f"/actions/nope/{verb}"), headers=acme.operator)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_ACTION_ID"
        gone = client.post(acme.url(f"/actions/{uuid.uuid4()}/{verb}"), headers=acme.operator)
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "ACTION_NOT_FOUND"


def test_approve_all_lists_what_it_skipped(client, acme, globex):
    queued = [queue(client, acme, pause(f"c-{i}"))["id"] for i in range(3)]
    done = queue(client, acme)["id"]
    client.post(acme.url(f"/actions/{done}/dismiss"), headers=acme.operator)
    foreign = queue(client, globex)["id"]
    unknown = str(uuid.uuid4())
    response = client.post(acme.url("/actions/approve-all"), headers=acme.operator,
                           json={"action_ids": [*queued, queued[0], done, foreign, unknown]})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["approved_count"] == 3 and sorted(data["approved_ids"]) == sorted(queued)
    assert data["message"] == "Approved 3 actions for execution"
    assert data["skipped"] == [{"id": done, "reason": "not_queued", "current_status": "dismissed"},
                               {"id": foreign, "reason": "not_found", "current_status": None},
                               {"id": unknown, "reason": "not_found", "current_status": None}]
    other = client.get(globex.url(f"/actions/{foreign}"), headers=globex.viewer).json()["data"]["action"]
    assert other["status"] == "queued"
    for action_id in queued:
        assert events(action_id)[1][:2] == ("queued", "approved")
    batch = ledger(acme.id, "autopilot.actions_approved")
    assert len(batch) == 1 and sorted(batch[0]["details"]["action_ids"]) == sorted(queued)


@pytest.mark.parametrize("body, status, code", [
    ({"action_ids": []}, 422, "VALIDATION_ERROR"),
    ({}, 422, "VALIDATION_ERROR"),
    ({"action_ids": [str(uuid.uuid4()) for _ in range(501)]}, 422, "VALIDATION_ERROR"),
    ({"action_ids": "abc"}, 422, "VALIDATION_ERROR"),
    ({"action_ids": [1, 2]}, 422, "VALIDATION_ERROR"),
    ({"action_ids": ["not-a-uuid"]}, 400, "INVALID_ACTION_ID"),
])
def test_approve_all_rejects_bad_lists(client, acme, body, status, code):
    action = queue(client, acme)
    ids = body.get("action_ids")
    if isinstance(ids, list) and ids == ["not-a-uuid"]:
        body = {"action_ids": [action["id"], "not-a-uuid"]}
    response = client.post(acme.url("/actions/approve-all"), headers=acme.operator, json=body)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert client.get(acme.url(f"/actions/{action['id']}"), headers=acme.viewer).json()["data"]["action"][
        "status"] == "queued"


def test_approve_all_of_500(client, acme):
    from autopack.db.base import utcnow
    from autopack.db.models import AutopilotAction

    with session_scope() as session:
        rows = [AutopilotAction(tenant_id=acme.id, date=utcnow().date(), action_type="pause_campaign",
                                entity_type="campaign", entity_id=f"c{i}", platform="meta", action_json={},
                                status="queued", requires_approval=True, auto_approved=False,
                                proposed_hash="0" * 64, attempts=0) for i in range(500)]
        session.add_all(rows)
        session.flush()
        ids = [r.id for r in rows]
    response = client.post(acme.url("/actions/approve-all"), headers=acme.operator, json={"action_ids": ids})
    assert response.status_code == 200 and response.json()["data"]["approved_count"] == 500
    assert client.get(acme.url("/status"), headers=acme.viewer).json()["data"]["pending_actions"] == 0
