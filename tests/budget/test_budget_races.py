"""Concurrent writers on one run over its budget raise exactly one request; a decision races a timeout once."""

from __future__ import annotations

import threading
from datetime import timedelta

from autopack.approvals import service as approvals
from autopack.approvals.timeouts import expire_due_requests
from autopack.core.database import session_scope
from autopack.db.base import utcnow
from autopack.db.models import ApprovalRequest, Run
from autopack.phases.results import update_status
from autopack.runs.schemas import PhaseStatusUpdate
from autopack.usage.schemas import UsageBatch
from autopack.usage.service import record_usage
from tests.budget.test_budget import budget_requests, run_row, start


def _together(jobs) -> list[Exception]:
    barrier = threading.Barrier(len(jobs))
    errors: list[Exception] = []

    def run(job) -> None:
        barrier.wait()
        try:
            with session_scope() as session:
                job(session)
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_concurrent_usage_reports_raise_one_request(client):
    start(client, phases=6, token_cap=1000)
    batch = UsageBatch.model_validate({"events": [{"provider": "p", "model": "m", "role": "builder",
                                                   "total_tokens": 400}]})
    jobs = [lambda s: record_usage(s, "budget-run", batch, "user:x") for _ in range(6)]
    jobs += [lambda s, p=f"F1.{i}": update_status(s, "budget-run", p, PhaseStatusUpdate(state="EXECUTING"), "user:y")
             for i in range(1, 4)]
    assert _together(jobs) == []
    assert run_row().usage_tokens == 2400
    [request] = budget_requests()
    assert run_row().budget_approval_id == request.id


def test_an_extension_racing_the_timeout_takes_effect_once(client):
    for round_no in range(4):
        run_id = f"race-{round_no}"
        start(client, run_id, token_cap=10)
        client.post(f"/runs/{run_id}/phases/F1.1/update_status", json={"state": "EXECUTING", "tokens_used": 20})
        [request] = budget_requests(run_id)
        with session_scope() as session:  # due now: the worker and a decider both want it
            session.get(ApprovalRequest, request.id).timeout_at = utcnow() + timedelta(milliseconds=300)
        approve = lambda s: approvals.decide(s, request.id, approve=True, actor="user:a", reason=None,  # noqa: E731
                                             method="dashboard", amount=100)
        expire = lambda s: expire_due_requests(utcnow() + timedelta(seconds=1))  # noqa: E731
        assert _together([approve, expire]) == []
        with session_scope(writer=False) as session:
            status = session.get(ApprovalRequest, request.id).status
            run = session.get(Run, run_id)
            if status == "approved":
                assert (run.token_cap, run.state, run.budget_hold) == (110, "PHASE_EXECUTION", None)
            else:
                assert status == "timeout"
                assert (run.token_cap, run.state) == (10, "DONE_FAILED_BUDGET_EXHAUSTED")
