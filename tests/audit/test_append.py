"""Appending to the ledger: links, chains, transactions and input checks."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from autopack.audit import service
from autopack.audit.chain import GENESIS_HASH, link_hash
from autopack.core.database import session_scope
from autopack.db.models import AuditEvent
from tests.audit.helpers import events, head, seed, verify
from tests.conftest import BACKEND


def _recomputed(event: AuditEvent, chain: str, seq: int, prev_hash: str) -> str:
    return link_hash(chain=chain, seq=seq, prev_hash=prev_hash, occurred_at=event.occurred_at,
                     actor=event.actor, action=event.action, tenant_id=event.tenant_id,
                     target_type=event.target_type, target_id=event.target_id, details=event.details)


def test_events_are_linked_in_the_global_chain_from_genesis():
    seed([None, None, None])
    rows = events()
    assert [e.global_seq for e in rows] == [1, 2, 3]
    assert rows[0].global_prev_hash == GENESIS_HASH
    assert [e.global_prev_hash for e in rows[1:]] == [e.global_hash for e in rows[:-1]]
    for e in rows:
        assert e.global_hash == _recomputed(e, "global", e.global_seq, e.global_prev_hash)
        assert len(e.global_hash) == 64 and e.tenant_seq is None and e.tenant_hash is None
    assert (head("global").last_seq, head("global").last_hash) == (3, rows[-1].global_hash)
    assert verify() == {"ok": True, "chains_checked": 1, "events_checked": 3, "first_break": None}


def test_tenant_chains_are_independent_of_each_other_and_of_global():
    seed(["7", None, "8", "7", 7, "8", "7"])
    rows = events()
    assert [e.tenant_id for e in rows] == ["7", None, "8", "7", "7", "8", "7"]  # int ids stored as text
    assert [e.tenant_seq for e in rows] == [1, None, 1, 2, 3, 2, 4]
    seven = [e for e in rows if e.tenant_id == "7"]
    assert seven[0].tenant_prev_hash == GENESIS_HASH
    assert [e.tenant_prev_hash for e in seven[1:]] == [e.tenant_hash for e in seven[:-1]]
    for e in seven:
        assert e.tenant_hash == _recomputed(e, "tenant:7", e.tenant_seq, e.tenant_prev_hash)
        assert e.tenant_hash != e.global_hash  # the chain key and seq are part of what is hashed
    assert head("tenant:7").last_seq == 4 and head("tenant:8").last_seq == 2
    assert verify() == {"ok": True, "chains_checked": 3, "events_checked": 7, "first_break": None}
    assert verify("8") == {"ok": True, "chains_checked": 1, "events_checked": 2, "first_break": None}


def test_event_rolls_back_with_the_change_it_records():
    seed([None])
    with pytest.raises(RuntimeError, match="change failed"), session_scope() as session:
        service.append_event(session, action="test.rolled_back", actor="system", tenant_id="3")
        raise RuntimeError("change failed")
    seed([None])
    assert [e.global_seq for e in events()] == [1, 2]  # no gap: the head rolled back too
    assert head("tenant:3") is None
    assert verify()["ok"] is True


def test_several_events_in_one_transaction_chain_in_order():
    with session_scope() as session:
        ids = [service.append_event(session, action="test.batch", actor="system", tenant_id="1").id
               for _ in range(3)]
    assert [(e.id, e.global_seq, e.tenant_seq) for e in events()] == list(zip(ids, [1, 2, 3], [1, 2, 3]))
    assert verify()["ok"] is True


def test_details_survive_the_database_round_trip_on_both_backends():
    details = {"big": 1e16, "tiny": 1.5e-7, "half": 0.5, "two": 2.0, "huge_int": 2**70, "text": "ü — 世界",
               "nested": {"z": [1, {"b": None, "a": True}], "a": "x"}, "empty": {}}
    with session_scope() as session:
        service.append_event(session, action="test.details", actor="user:ö", details=details)
    stored = events()[0]
    assert stored.details["text"] == "ü — 世界" and stored.details["huge_int"] == 2**70
    assert verify() == {"ok": True, "chains_checked": 1, "events_checked": 1, "first_break": None}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"actor": ""}, "actor may not be empty"),
    ({"action": " "}, "action may not be empty"),
    ({"actor": "u" * 256}, "actor is longer than 255"),
    ({"tenant_id": "t" * 65}, "tenant_id is longer than 64"),
    ({"target_id": "a\x00b"}, "contains NUL"),
    ({"details": {"x": math.nan}}, "not storable JSON"),
    ({"details": {"x": "a\x00b"}}, "NUL"),
    ({"details": {"x": object()}}, "not storable JSON"),
])
def test_bad_input_is_refused_and_appends_nothing(kwargs, message):
    arguments = {"action": "test.bad", "actor": "system", **kwargs}
    with pytest.raises(ValueError, match=message), session_scope() as session:
        service.append_event(session, **arguments)
    with session_scope(writer=False) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.skipif(BACKEND != "sqlite", reason="the write lock is taken up front only on SQLite")
def test_sqlite_reader_session_may_not_append():
    with pytest.raises(service.NotAWriterSession), session_scope(writer=False) as session:
        service.append_event(session, action="test.reader", actor="system")
    assert events() == []
