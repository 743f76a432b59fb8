"""The event writer: written with the transaction, in commit order even with concurrent writers."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from autopack.core.database import session_scope
from autopack.db.base import utcnow
from autopack.db.models import Event
from autopack.events import log, service
from autopack.phases import results
from autopack.runs.schemas import PhaseStatusUpdate
from tests.conftest import run_payload


def _count() -> int:
    with session_scope(writer=False) as session:
        return session.scalar(select(func.count()).select_from(Event))


def test_an_event_is_written_when_its_transaction_commits():
    with session_scope() as session:
        log.record(session, "test.hello", run_id="r-1", tenant_id=7, payload={"at": utcnow(), "n": 1})
    [document] = service.events_after(0)
    assert (document["type"], document["run_id"], document["tenant_id"]) == ("test.hello", "r-1", 7)
    assert document["payload"]["n"] == 1 and isinstance(document["payload"]["at"], str)
    assert service.events_after(0, tenant_id=8) == [] and service.events_after(0, run_id="r-2") == []


def test_a_rolled_back_change_leaves_no_event(client):
    client.post("/runs/start", json=run_payload("rollback-run", 1, 1))
    before = _count()
    with pytest.raises(RuntimeError), session_scope() as session:
        results.update_status(session, "rollback-run", "F1.1", PhaseStatusUpdate(state="EXECUTING"), "test")
        raise RuntimeError("the request failed after the change")
    assert _count() == before
    assert client.get("/runs/rollback-run").json()["phases"][0]["state"] == "QUEUED"


def test_a_failed_request_writes_no_event(client):
    client.post("/runs/start", json=run_payload("bad-state-run", 1, 1))
    before = _count()
    response = client.post("/runs/bad-state-run/phases/F1.1/update_status", json={"state": "executing"})
    assert response.status_code == 400
    assert _count() == before


def test_runs_phases_and_results_write_events(client):
    client.post("/runs/start", json=run_payload("events-run", 1, 1))
    client.post("/runs/events-run/phases/F1.1/update_status", json={"state": "COMPLETE"})
    types = [e["type"] for e in service.events_after(0, run_id="events-run")]
    assert types[0] == "run.state_changed"  # RUN_CREATED
    assert "phase.state_changed" in types and "tier.state_changed" in types
    finals = [e["payload"]["to"] for e in service.events_after(0, run_id="events-run")
              if e["type"] == "run.state_changed"]
    assert finals[-1] == "DONE_SUCCESS"


def _slow_writer(index: int, pause: float) -> None:
    with session_scope() as session:
        log.record(session, "test.concurrent", payload={"writer": index})
        # Registered after the writer's own hook: sleeps with the event's id drawn, before the commit.
        event.listen(session, "before_commit", lambda _s: time.sleep(pause))


def test_concurrent_writers_never_make_a_resumed_reader_skip_an_event():
    writers = 40
    rng = random.Random(7)
    threads = [threading.Thread(target=_slow_writer, args=(i, rng.uniform(0, 0.05))) for i in range(writers)]
    seen: list[int] = []
    done = threading.Event()

    def read() -> None:
        after = 0
        while True:
            finished = done.is_set()
            for document in service.events_after(after):
                seen.append(document["id"])
                after = document["id"]
            if finished:
                return

    reader = threading.Thread(target=read)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    with session_scope(writer=False) as session:
        stored = list(session.scalars(select(Event.id).order_by(Event.id)))
    assert len(stored) == writers
    assert seen == stored  # each exactly once, in order: a reader resuming after any id misses none


def test_pruning_deletes_only_events_past_retention(monkeypatch):
    monkeypatch.setenv("AUTOPACK_EVENTS_RETENTION_DAYS", "30")
    from autopack.core.settings import get_settings

    get_settings.cache_clear()
    with session_scope() as session:
        for days in (45, 31, 29, 0):
            session.add(Event(type="test.old", created_at=utcnow() - timedelta(days=days), payload={"d": days}))
    assert service.prune_events(batch=1) == 2
    assert sorted(e["payload"]["d"] for e in service.events_after(0)) == [0, 29]
    assert service.prune_events() == 0


def test_a_rolled_back_savepoint_keeps_the_transactions_events():
    from sqlalchemy.exc import IntegrityError

    from autopack.db.models import Tenant

    with session_scope() as session:
        log.record(session, "test.before_savepoint")
        session.add(Tenant(slug="dup", name="one"))
        session.flush()
        try:
            with session.begin_nested():  # as the get-or-create helpers lose an insert race
                session.add(Tenant(slug="dup", name="two"))
        except IntegrityError:
            pass
        log.record(session, "test.after_savepoint")
    assert [e["type"] for e in service.events_after(0)] == ["test.before_savepoint", "test.after_savepoint"]
