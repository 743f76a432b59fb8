"""Concurrent appenders never fork a chain (the real test runs on PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from autopack.audit import service
from autopack.core.database import session_scope
from autopack.db.models import AuditEvent
from tests.audit.helpers import events, head, seed, verify

THREADS = 8
PER_THREAD = 25
TENANTS = (None, "1", "2")


def _run_threads(target) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            target(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an appender hung"
    return errors


def _assert_contiguous(rows: list[AuditEvent], total: int) -> None:
    assert [e.global_seq for e in rows] == list(range(1, total + 1))
    assert [e.id for e in rows] == sorted(e.id for e in rows)  # ids were handed out in chain order
    per_tenant: dict[str, list[int]] = defaultdict(list)
    for e in rows:
        if e.tenant_id is not None:
            per_tenant[e.tenant_id].append(e.tenant_seq)
    for tenant, seqs in per_tenant.items():
        assert seqs == list(range(1, len(seqs) + 1)), tenant
        assert head(f"tenant:{tenant}").last_seq == len(seqs)
    assert head("global").last_seq == total


def test_eight_threads_appending_concurrently_never_fork_a_chain():
    def append_many(n: int) -> None:
        for i in range(PER_THREAD):
            with session_scope() as session:
                service.append_event(session, action="test.concurrent", actor=f"system:t{n}",
                                     tenant_id=TENANTS[(n + i) % 3], details={"thread": n, "i": i})

    assert _run_threads(append_many) == []
    rows = events()
    _assert_contiguous(rows, THREADS * PER_THREAD)
    assert sorted((e.details["thread"], e.details["i"]) for e in rows) == [
        (n, i) for n in range(THREADS) for i in range(PER_THREAD)]
    assert verify() == {"ok": True, "chains_checked": 3, "events_checked": 200, "first_break": None}


def test_rolled_back_appends_leave_no_gaps_under_concurrency():
    def append_some_fail(n: int) -> None:
        for i in range(10):
            try:
                with session_scope() as session:
                    service.append_event(session, action="test.maybe", actor="system", tenant_id=TENANTS[i % 3])
                    if (n + i) % 4 == 0:
                        raise LookupError("the recorded change failed")
            except LookupError:
                pass

    assert _run_threads(append_some_fail) == []
    rows = events()
    assert len(rows) == THREADS * 10 - sum(1 for n in range(THREADS) for i in range(10) if (n + i) % 4 == 0)
    _assert_contiguous(rows, len(rows))
    assert verify()["ok"] is True


def test_second_writer_waits_for_the_first_to_create_the_chain_head():
    created, release = threading.Event(), threading.Event()
    results: dict[str, int] = {}

    def first() -> None:
        with session_scope() as session:
            results["first"] = service.append_event(session, action="test.first", actor="system").global_seq
            created.set()
            release.wait(timeout=30)  # hold the uncommitted head while the second writer tries

    def second() -> None:
        created.wait(timeout=30)
        with session_scope() as session:
            results["second"] = service.append_event(session, action="test.second", actor="system").global_seq

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    assert "second" not in results  # blocked behind the first writer's head, not forked
    release.set()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {"first": 1, "second": 2}
    assert verify()["ok"] is True


def test_unique_constraints_refuse_a_second_event_at_the_same_place():
    seed(["5"])
    original = events()[0]
    duplicate = {"occurred_at": original.occurred_at, "actor": "x", "action": "x", "details": {},
                 "global_prev_hash": "0" * 64, "global_hash": "0" * 64}
    with pytest.raises(IntegrityError), session_scope() as session:
        session.execute(insert(AuditEvent).values(global_seq=1, **duplicate))
    with pytest.raises(IntegrityError), session_scope() as session:
        session.execute(insert(AuditEvent).values(global_seq=2, tenant_id="5", tenant_seq=1,
                                                  tenant_prev_hash="0" * 64, tenant_hash="0" * 64,
                                                  **duplicate))
    assert len(events()) == 1
