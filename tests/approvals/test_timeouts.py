"""Timeouts fail closed, once, across workers, including what expired while no server was running."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from autopack.approvals.timeouts import expire_due_requests, run_approval_jobs, start_approval_worker
from autopack.db.base import utcnow
from tests.approvals.helpers import audit_trail, create, insert_pending, row

PAST = timedelta(minutes=1)


def _in_threads(count: int, target) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_expired_request_times_out_and_is_never_approved():
    due = insert_pending(timeout_at=utcnow() - PAST)
    later = insert_pending(timeout_at=utcnow() + PAST)
    assert expire_due_requests() == [due]
    expired = row(due)
    assert (expired.status, expired.response_method) == ("timeout", "timeout")
    assert expired.rejected_reason == "Auto-rejected after timeout"
    assert expired.approval_reason is None and expired.responded_at is not None
    assert row(later).status == "pending"
    assert audit_trail(due) == [("approval.timed_out", "system:approval-timeout-worker")]
    assert expire_due_requests() == []  # nothing happens twice


def test_default_approve_on_timeout_still_does_not_approve(monkeypatch):
    from autopack.core.settings import get_settings

    monkeypatch.setenv("APPROVAL_DEFAULT_ON_TIMEOUT", "approve")
    get_settings.cache_clear()
    due = insert_pending(timeout_at=utcnow() - PAST)
    expire_due_requests()
    expired = row(due)
    assert expired.status == "timeout"
    assert expired.approval_reason is None
    assert "never approves" in expired.rejected_reason


def test_decided_requests_are_left_alone(client):
    from tests.auth.helpers import bearer, make_user

    approval_id = create(client)["approval_id"]
    client.post(f"/approval/{approval_id}/approve", headers=bearer(make_user("carol")[1]))
    assert expire_due_requests(utcnow() + timedelta(days=1)) == []
    assert row(approval_id).status == "approved"


def test_request_that_expired_while_the_server_was_down(make_client, monkeypatch):
    """Rows written while no server ran; the worker finds them as soon as the app starts."""
    due = [insert_pending(timeout_at=utcnow() - timedelta(hours=h)) for h in (1, 5)]
    waiting = insert_pending(timeout_at=utcnow() + timedelta(hours=1))
    monkeypatch.setenv("AUTOPACK_APPROVAL_WORKER", "1")
    monkeypatch.setenv("AUTOPACK_APPROVAL_POLL_SECONDS", "3600")  # only the start-up tick can do it
    client = make_client()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(row(i).status == "pending" for i in due):
        time.sleep(0.05)
    for approval_id in due:
        status = client.get(f"/approval/status/{approval_id}").json()
        assert status["status"] == "timeout"
        assert status["response_method"] == "timeout"
        assert status["approval_reason"] is None
    assert row(waiting).status == "pending"


def test_concurrent_workers_expire_each_request_once():
    ids = [insert_pending(timeout_at=utcnow() - PAST, phase_id=f"F{i}") for i in range(60)]
    results = _in_threads(6, lambda: expire_due_requests(batch=7))
    claimed = Counter(i for result in results for i in result)
    assert sorted(claimed) == sorted(ids)
    assert set(claimed.values()) == {1}  # no request expired by two workers
    assert all(row(i).status == "timeout" for i in ids)
    events = Counter(action for action, _ in audit_trail())
    assert events == {"approval.timed_out": 60}


def test_worker_setting_and_tick():
    assert start_approval_worker() is None  # AUTOPACK_APPROVAL_WORKER=0 in these tests
    insert_pending(timeout_at=utcnow() - PAST)
    counts = run_approval_jobs()
    assert counts["expired"] == 1 and counts["notifications"] == 0
