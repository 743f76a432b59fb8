"""Concurrent approvals (exactly one wins) and approve-all racing dismissals (consistent end state)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from autopack.autopilot.actions import service
from autopack.core.database import session_scope
from autopack.core.errors import EnvelopeError
from autopack.db.models import AutopilotAction, AutopilotActionEvent
from tests.autopilot.core.conftest import pause, queue
from tests.autopilot.core.test_config import ledger


def run_concurrently(calls: list) -> list:
    """Run each zero-argument call in its own thread and session, all released at once."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            with session_scope() as session:
                results[i] = calls[i](session)
        except EnvelopeError as exc:
            results[i] = exc
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertions
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def transitions(action_ids: list[str], to_status: str) -> int:
    """queued → `to_status` events of these actions."""
    with session_scope(writer=False) as session:
        rows = session.scalars(select(AutopilotActionEvent).where(AutopilotActionEvent.action_id.in_(action_ids),
                                                                  AutopilotActionEvent.from_status == "queued",
                                                                  AutopilotActionEvent.to_status == to_status))
        return len(list(rows))


def test_fifty_concurrent_approvals_make_exactly_one_transition(client, acme):
    action_id = queue(client, acme)["id"]
    calls = [lambda s, n=n: service.approve(s, acme.id, action_id, f"user:racer-{n}").status for n in range(50)]
    results = run_concurrently(calls)
    wins = [r for r in results if r == "approved"]
    losses = [r for r in results if isinstance(r, EnvelopeError)]
    assert len(wins) == 1 and len(losses) == 49, [r for r in results if r != "approved"][:3]
    assert {(e.status_code, e.code, e.details["current_status"]) for e in losses} == {
        (400, "INVALID_STATUS_TRANSITION", "approved")}
    assert transitions([action_id], "approved") == 1
    assert len(ledger(acme.id, "autopilot.action_approved")) == 1


def test_approve_all_racing_dismissals_stays_consistent(client, acme):
    ids = [queue(client, acme, pause(f"c-{i}"))["id"] for i in range(20)]
    to_dismiss = ids[::2]
    calls = [lambda s: service.approve_all(s, acme.id, ids, "user:batch")]
    calls += [lambda s, i=i: service.dismiss(s, acme.id, i, "user:dismisser").status for i in to_dismiss]
    results = run_concurrently(calls)
    batch = results[0]
    assert isinstance(batch, dict), batch
    dismissed = {i for i, r in zip(to_dismiss, results[1:]) if r == "dismissed"}
    lost = [r for r in results[1:] if r != "dismissed"]
    assert all(isinstance(r, EnvelopeError) and r.code == "INVALID_STATUS_TRANSITION" for r in lost)
    with session_scope(writer=False) as session:
        final = dict(session.execute(select(AutopilotAction.id, AutopilotAction.status)
                                     .where(AutopilotAction.id.in_(ids))).all())
    approved = {i for i, status in final.items() if status == "approved"}
    assert approved == set(batch["approved_ids"]) and batch["approved_count"] == len(approved)
    assert {i for i, status in final.items() if status == "dismissed"} == dismissed
    assert approved | dismissed == set(ids) and not approved & dismissed
    assert {s["id"] for s in batch["skipped"]} == dismissed
    assert transitions(ids, "approved") == len(approved) and transitions(ids, "dismissed") == len(dismissed)
