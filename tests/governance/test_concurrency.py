"""Two simultaneous decisions on one request: exactly one wins, the patch is applied at most once."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from autopack.core.database import session_scope
from autopack.core.errors import Conflict
from autopack.db.models import AuditEvent, GovernanceRequest
from autopack.phases.governance import decide_request
from tests.governance.helpers import all_rows, git, make_patch, submit


def pending_request(client, repo, phase_id: str) -> str:
    patch = make_patch(repo, lambda c: (c / "src/autopack/models.py").write_bytes(
        (c / "src/autopack/models.py").read_bytes() + f"# {phase_id}\n".encode()))
    response = submit(client, patch, phase_id=phase_id)
    assert response.status_code == 422, response.text
    return json.loads(response.json()["detail"])["request_id"]


def race(decide_a, decide_b):
    """Run two deciders at the same moment; returns their results (or the exception raised)."""
    barrier = threading.Barrier(2)

    def run(fn):
        barrier.wait()
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001
            return exc

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(run, decide_a), pool.submit(run, decide_b)]
        return [f.result(timeout=60) for f in futures]


def decide_in_own_session(request_id: str, approved: bool, actor: str):
    with session_scope() as session:
        return decide_request(session, request_id, approved=approved, actor=actor, claimed_user=actor)


def test_concurrent_approve_and_deny_services(gov_client, repo):
    for round_number, phase_id in enumerate(["F1.1", "F1.2", "F2.1"]):
        request_id = pending_request(gov_client, repo, phase_id)
        results = race(lambda rid=request_id: decide_in_own_session(rid, True, "approver"),
                       lambda rid=request_id: decide_in_own_session(rid, False, "denier"))
        winners = [r for r in results if isinstance(r, dict)]
        losers = [r for r in results if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert losers[0].detail == "Governance request already decided"
        (row,) = all_rows(GovernanceRequest, request_id=request_id)
        assert row.approved is (winners[0]["status"] == "approved")
        assert row.approved_by == ("approver" if row.approved else "denier")
        content = (repo / "src/autopack/models.py").read_text()
        assert content.count(f"# {phase_id}") == (1 if row.approved else 0)
        decided = [e for e in all_rows(AuditEvent) if e.target_id == request_id
                   and e.action in ("governance.approved", "governance.denied")]
        assert len(decided) == 1, round_number
        if row.approved:
            git(repo, "commit", "-qam", f"approved {phase_id}")  # next request starts from a clean tree


def test_concurrent_approvals_over_http_apply_once(gov_client, repo):
    request_id = pending_request(gov_client, repo, "F1.1")
    url = f"/governance/approve/{request_id}"
    results = race(lambda: gov_client.post(url, params={"user_id": "one"}),
                   lambda: gov_client.post(url, params={"user_id": "two"}))
    assert sorted(r.status_code for r in results) == [200, 409]
    assert (repo / "src/autopack/models.py").read_text().count("# F1.1") == 1
    assert len(all_rows(AuditEvent, action="governance.approved")) == 1
