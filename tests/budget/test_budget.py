"""Budgets that act: a run over its tokens, time or phases is held, one approval decides, the run goes on or ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from autopack.approvals.timeouts import expire_due_requests, run_approval_jobs
from autopack.budget import service as budget
from autopack.core.database import session_scope
from autopack.db.base import utcnow
from autopack.db.models import ApprovalRequest, AuditEvent, Event, Phase, Run
from tests.auth.helpers import bearer, make_user
from tests.conftest import run_payload

RUN = "budget-run"


def start(client, run_id: str = RUN, *, phases: int = 4, **caps) -> str:
    payload = run_payload(run_id, tiers=1, phases_per_tier=phases)
    payload["run"].update(caps)
    response = client.post("/runs/start", json=payload)
    assert response.status_code == 201, response.text
    return run_id


def move(client, phase: str, state: str, run_id: str = RUN, **fields):
    return client.post(f"/runs/{run_id}/phases/{phase}/update_status", json={"state": state, **fields})


def budget_requests(run_id: str = RUN) -> list[ApprovalRequest]:
    with session_scope(writer=False) as session:
        return session.scalars(select(ApprovalRequest).where(ApprovalRequest.run_id == run_id,
                                                             ApprovalRequest.context == budget.CONTEXT)
                               .order_by(ApprovalRequest.id)).all()


def run_row(run_id: str = RUN) -> Run:
    with session_scope(writer=False) as session:
        return session.get(Run, run_id)


def phase_states(run_id: str = RUN) -> list[str]:
    with session_scope(writer=False) as session:
        return list(session.scalars(select(Phase.state).where(Phase.run_id == run_id).order_by(Phase.phase_index)))


def event_types(run_id: str = RUN) -> list[str]:
    with session_scope(writer=False) as session:
        return list(session.scalars(select(Event.type).where(Event.run_id == run_id).order_by(Event.id)))


@pytest.fixture
def approver():
    _, token = make_user("olga")
    return bearer(token)


@pytest.fixture
def held(client):
    """A run of 4 phases with a 1,000-token cap, over it after its first phase: held."""
    start(client, token_cap=1000)
    assert move(client, "F1.1", "EXECUTING").status_code == 200
    assert move(client, "F1.1", "COMPLETE", tokens_used=1200).status_code == 200
    return client


def test_crossing_the_token_cap_holds_the_run_and_raises_one_request(held):
    client = held
    [request] = budget_requests()
    run = run_row()
    assert (run.budget_hold, run.budget_approval_id) == ("token_cap", request.id)
    assert request.status == "pending" and request.requested_by == budget.ACTOR
    assert request.phase_id == "F1.2"  # the phase that waits
    info = request.decision_info
    assert (info["limit"], info["cap"], info["used"], info["unit"]) == ("token_cap", 1000, 1200, "tokens")
    assert info["proposed_extension"] == 200 + 250  # the overshoot and a quarter of the cap
    # Every status read shows it.
    body = client.get(f"/runs/{RUN}").json()
    assert (body["budget_hold"], body["budget_approval_id"], body["token_cap"]) == ("token_cap", request.id, 1000)
    progress = client.get(f"/runs/{RUN}/progress").json()["budget"]
    assert (progress["hold"], progress["approval_id"], progress["tokens_counted"]) == ("token_cap", request.id, 1200)
    status = client.get(f"/dashboard/runs/{RUN}/status").json()["budget"]
    assert (status["hold"], status["approval_id"]) == ("token_cap", request.id)
    assert "run.budget_held" in event_types()
    # Queued phases are not handed out: each try is refused, nothing changes, no second request.
    for _ in range(3):
        refused = move(client, "F1.2", "EXECUTING")
        assert refused.status_code == 409
        assert refused.json()["budget_hold"] == "token_cap" and refused.json()["approval_id"] == request.id
        assert "approval request #" in refused.json()["detail"]
    assert phase_states() == ["COMPLETE", "QUEUED", "QUEUED", "QUEUED"]
    assert len(budget_requests()) == 1
    # The request is an ordinary pending approval (listed, and pending for Telegram too).
    pending = client.get("/approval/pending").json()
    assert [r["id"] for r in pending["requests"]] == [request.id]


def test_approving_with_an_amount_raises_the_cap_and_the_run_goes_on(held, approver):
    client = held
    [request] = budget_requests()
    response = client.post(f"/approval/{request.id}/approve", json={"amount": 5000, "reason": "worth it"},
                           headers=approver)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "approved"
    run = run_row()
    assert (run.token_cap, run.budget_hold) == (6000, None)
    assert move(client, "F1.2", "EXECUTING").status_code == 200
    assert client.get(f"/runs/{RUN}").json()["budget_hold"] is None
    assert "run.budget_extended" in event_types()
    with session_scope(writer=False) as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == RUN)))
    assert actions == ["run.budget_extended"]


def test_approving_without_an_amount_adds_the_proposed_extension(held, approver):
    [request] = budget_requests()
    assert held.post(f"/approval/{request.id}/approve", headers=approver).status_code == 200
    assert run_row().token_cap == 1000 + 450
    assert move(held, "F1.2", "EXECUTING").status_code == 200


def test_too_small_an_extension_holds_the_run_again_with_a_new_request(held, approver):
    [first] = budget_requests()
    assert held.post(f"/approval/{first.id}/approve", json={"amount": 100}, headers=approver).status_code == 200
    first_after, second = budget_requests()
    assert first_after.status == "approved" and second.status == "pending"
    run = run_row()
    assert (run.token_cap, run.budget_hold, run.budget_approval_id) == (1100, "token_cap", second.id)


def test_rejecting_ends_the_run_budget_exhausted(held, approver):
    client = held
    assert move(client, "F1.2", "EXECUTING").status_code == 409
    [request] = budget_requests()
    response = client.post(f"/approval/{request.id}/reject", json={"reason": "too expensive"}, headers=approver)
    assert response.status_code == 200, response.text
    run = run_row()
    assert run.state == "DONE_FAILED_BUDGET_EXHAUSTED" and run.completed_at is not None
    assert run.failure_reason.startswith("Budget exhausted (token_cap): extension rejected by")
    assert phase_states() == ["COMPLETE", "SKIPPED", "SKIPPED", "SKIPPED"]
    body = client.get(f"/runs/{RUN}").json()
    assert body["state"] == "DONE_FAILED_BUDGET_EXHAUSTED"
    assert [t["state"] for t in body["tiers"]] == ["COMPLETE"]
    ended = move(client, "F1.3", "EXECUTING")
    assert ended.status_code == 409 and "ended" in ended.json()["detail"]
    assert "run.budget_stopped" in event_types()


def test_a_timeout_ends_the_run_too(held):
    [request] = budget_requests()
    expired = expire_due_requests(utcnow() + timedelta(days=1))
    assert expired == [request.id]
    run = run_row()
    assert run.state == "DONE_FAILED_BUDGET_EXHAUSTED"
    assert run.failure_reason == "Budget exhausted (token_cap): extension timed out"
    assert phase_states() == ["COMPLETE", "SKIPPED", "SKIPPED", "SKIPPED"]


def test_phases_in_flight_finish_but_the_run_stays_stopped(client, approver):
    start(client, token_cap=1000)
    move(client, "F1.1", "EXECUTING")
    move(client, "F1.2", "EXECUTING", tokens_used=1500)  # two in flight when the cap is crossed
    [request] = budget_requests()
    client.post(f"/approval/{request.id}/reject", headers=approver)
    assert move(client, "F1.2", "COMPLETE").status_code == 200
    assert move(client, "F1.1", "COMPLETE").status_code == 200
    assert run_row().state == "DONE_FAILED_BUDGET_EXHAUSTED"  # not DONE_SUCCESS: its plan was cut short


def test_usage_events_count_against_the_cap(client):
    start(client, token_cap=1000)
    move(client, "F1.1", "EXECUTING")
    response = client.post(f"/runs/{RUN}/usage", json={"events": [
        {"provider": "openai", "model": "gpt-4o", "role": "builder", "total_tokens": 600, "phase_id": "F1.1"},
        {"provider": "openai", "model": "gpt-4o", "role": "auditor", "total_tokens": 500}]})
    assert response.status_code == 201, response.text
    run = run_row()
    assert (run.usage_tokens, run.budget_hold) == (1100, "token_cap")
    assert move(client, "F1.2", "EXECUTING").status_code == 409


def test_phase_tokens_and_usage_are_not_added_together(client):
    start(client, token_cap=1000)
    move(client, "F1.1", "EXECUTING", tokens_used=600)
    client.post(f"/runs/{RUN}/usage", json={"events": [
        {"provider": "openai", "model": "m", "role": "builder", "total_tokens": 600}]})
    assert run_row().budget_hold is None  # the same 600 tokens, reported twice
    assert client.get(f"/runs/{RUN}/progress").json()["budget"]["tokens_counted"] == 600


def test_a_builder_result_crossing_the_cap_holds(client):
    start(client, token_cap=1000)
    move(client, "F1.1", "EXECUTING")
    response = client.post(f"/runs/{RUN}/phases/F1.1/builder_result", json={
        "run_id": RUN, "phase_id": "F1.1", "status": "success", "tokens_used": 1000})
    assert response.status_code == 200, response.text
    assert run_row().budget_hold == "token_cap"


def test_max_phases_holds_once_the_last_allowed_phase_starts(client, approver):
    start(client, max_phases=2)
    assert move(client, "F1.1", "EXECUTING").status_code == 200
    assert run_row().budget_hold is None
    assert move(client, "F1.2", "EXECUTING").status_code == 200
    [request] = budget_requests()
    assert (run_row().budget_hold, request.decision_info["proposed_extension"]) == ("max_phases", 2)
    assert move(client, "F1.3", "EXECUTING").status_code == 409
    assert move(client, "F1.3", "SKIPPED").status_code == 200  # skipping is not starting
    assert approver and client.post(f"/approval/{request.id}/approve", headers=approver).status_code == 200
    assert run_row().max_phases == 4
    assert move(client, "F1.4", "EXECUTING").status_code == 200


def test_a_plan_without_a_phase_budget_gets_one_for_the_whole_plan(client):
    start(client, phases=30)
    assert run_row().max_phases == 30
    start(client, "explicit", phases=30, max_phases=25)
    assert run_row("explicit").max_phases == 25


def _age(run_id: str, minutes: int) -> None:
    with session_scope() as session:
        run = session.get(Run, run_id)
        run.started_at = utcnow() - timedelta(minutes=minutes)
        run.budget_deadline_at = budget.deadline_for(run.started_at, run.max_duration_minutes)


def test_the_worker_holds_a_run_out_of_time(client, approver):
    start(client, max_duration_minutes=30)
    move(client, "F1.1", "EXECUTING")
    _age(RUN, 45)
    counts = run_approval_jobs()
    assert counts["budget_holds"] == 1 and run_approval_jobs()["budget_holds"] == 0
    [request] = budget_requests()
    info = request.decision_info
    assert (info["limit"], info["unit"], info["used"], info["cap"]) == ("max_duration_minutes", "minutes", 45, 30)
    assert info["proposed_extension"] == 15 + 7
    assert client.post(f"/approval/{request.id}/approve", json={"amount": 60}, headers=approver).status_code == 200
    run = run_row()
    assert run.max_duration_minutes == 90 and run.budget_hold is None
    assert run.budget_deadline_at == run.started_at + timedelta(minutes=90)
    assert move(client, "F1.2", "EXECUTING").status_code == 200


def test_starting_a_phase_late_raises_the_hold_itself(client):
    start(client, max_duration_minutes=30)
    _age(RUN, 31)
    refused = move(client, "F1.1", "EXECUTING")
    assert refused.status_code == 409 and refused.json()["budget_hold"] == "max_duration_minutes"
    assert len(budget_requests()) == 1  # committed although the call was refused


def test_runs_without_waiting_phases_are_not_held(client):
    start(client, phases=1, token_cap=10)
    move(client, "F1.1", "EXECUTING", tokens_used=50)
    assert run_row().budget_hold is None and budget_requests() == []


def test_an_amount_is_only_for_budget_requests(held, approver):
    client = held
    [request] = budget_requests()
    other = client.post("/approval/request", json={"run_id": RUN, "phase_id": "F1.2", "context": "risky"}).json()
    response = client.post(f"/approval/{other['approval_id']}/approve", json={"amount": 10}, headers=approver)
    assert response.status_code == 400 and "budget extension" in response.json()["detail"]
    response = client.post(f"/approval/{request.id}/reject", json={"amount": 10}, headers=approver)
    assert response.status_code == 400
    assert client.get(f"/approval/status/{request.id}").json()["status"] == "pending"
    for bad in (0, -5, 2**31, "lots"):
        assert client.post(f"/approval/{request.id}/approve", json={"amount": bad},
                           headers=approver).status_code == 422
    assert run_row().token_cap == 1000


def test_a_look_alike_request_changes_no_budget(held, approver):
    client = held
    forged = client.post("/approval/request", json={
        "run_id": RUN, "phase_id": "F1.2", "context": budget.CONTEXT,
        "decision_info": {"proposed_extension": 10**9}}).json()["approval_id"]
    assert client.post(f"/approval/{forged}/approve", headers=approver).status_code == 200
    assert run_row().token_cap == 1000 and run_row().budget_hold == "token_cap"
    response = client.post(f"/approval/{forged}/approve", json={"amount": 5}, headers=approver)
    assert response.status_code == 409  # already decided


def test_deciding_a_budget_request_is_a_privilege(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "k" * 40)
    client = make_client()
    key = {"X-API-Key": "k" * 40}
    payload = run_payload(RUN, tiers=1, phases_per_tier=3)
    payload["run"]["token_cap"] = 10
    assert client.post("/runs/start", json=payload, headers=key).status_code == 201
    assert client.post(f"/runs/{RUN}/phases/F1.1/update_status", json={"state": "EXECUTING", "tokens_used": 20},
                       headers=key).status_code == 200
    [request] = budget_requests()
    _, token = make_user("mallory")
    for verb in ("approve", "reject"):
        response = client.post(f"/approval/{request.id}/{verb}", json={"amount": 10**6}, headers=bearer(token))
        assert response.status_code == 403
    assert run_row().token_cap == 10 and run_row().budget_hold == "token_cap"
    assert client.post(f"/approval/{request.id}/approve", json={"amount": 100}, headers=key).status_code == 200
    assert run_row().token_cap == 110


def test_incident_token_cap_is_reported_when_crossed(client):
    payload = run_payload(RUN, tiers=1, phases_per_tier=2)
    payload["phases"][0]["incident_token_cap"] = 500
    assert client.post("/runs/start", json=payload).status_code == 201
    move(client, "F1.1", "EXECUTING", tokens_used=499)
    assert client.get(f"/dashboard/runs/{RUN}/status").json()["incident_token_cap_exceeded"] == []
    move(client, "F1.1", "EXECUTING", tokens_used=650)
    status = client.get(f"/dashboard/runs/{RUN}/status").json()
    assert status["incident_token_cap_exceeded"] == [
        {"phase_id": "F1.1", "name": "Phase 1.1", "tokens_used": 650, "incident_token_cap": 500}]
    assert client.get(f"/runs/{RUN}/progress").json()["phases"][0]["incident_token_cap"] == 500


def test_the_worker_leaves_finished_and_held_runs_alone(client):
    start(client, max_duration_minutes=30)
    _age(RUN, 45)
    assert budget.hold_overdue_runs() == 1
    assert budget.hold_overdue_runs() == 0  # already held
    with session_scope(writer=False) as session:
        assert session.scalar(select(func.count()).select_from(ApprovalRequest)) == 1
