"""Concurrent decisions on one request: exactly one takes effect, and only it is audited."""

from __future__ import annotations

import threading
from collections import Counter

from autopack.approvals import service
from autopack.core.database import session_scope
from tests.approvals.helpers import audit_trail, insert_pending, row


def _race(approval_id: int, contenders: list[tuple[bool, str]]) -> list[service.Decision]:
    barrier = threading.Barrier(len(contenders))
    results: list = [None] * len(contenders)
    errors: list = []

    def decide(i: int, approve: bool, actor: str) -> None:
        barrier.wait()
        try:
            with session_scope() as session:
                decision = service.decide(session, approval_id, approve=approve, actor=actor, reason=None,
                                          method="dashboard")
                results[i] = (decision.decided, decision.status)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=decide, args=(i, approve, actor))
               for i, (approve, actor) in enumerate(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_approve_versus_reject_exactly_one_wins():
    for round_no in range(8):
        approval_id = insert_pending(phase_id=f"F{round_no}")
        contenders = [(i % 2 == 0, f"user:u{i}") for i in range(6)]
        results = _race(approval_id, contenders)
        winners = [i for i, (decided, _) in enumerate(results) if decided]
        assert len(winners) == 1, results
        approve, actor = contenders[winners[0]]
        final = row(approval_id)
        assert final.status == ("approved" if approve else "rejected")
        assert final.decided_by == actor
        # Every loser saw the winner's status, not "pending".
        assert {status for _, status in results} == {final.status}
        actions = Counter(action for action, _ in audit_trail(approval_id))
        assert actions == {f"approval.{final.status}": 1}
