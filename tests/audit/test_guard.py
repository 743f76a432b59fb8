"""The PostgreSQL ledger triggers: events append-only, heads advance-only, one documented prune path."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from autopack.audit import service
from autopack.core.database import session_scope
from autopack.db.models import AuditChainHead, AuditEvent
from tests.audit.helpers import events, head, seed, verify
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="the ledger triggers are PostgreSQL's")


def _refused(statement, match: str) -> None:
    with pytest.raises(DBAPIError, match=match), session_scope() as session:
        session.execute(statement)


def test_events_cannot_be_updated_deleted_or_truncated():
    ids = seed([None, "3"])
    _refused(update(AuditEvent).where(AuditEvent.id == ids[0]).values(actor="user:mallory"),
             "audit_events is append-only: UPDATE refused")
    _refused(delete(AuditEvent).where(AuditEvent.id == ids[1]), "audit_events is append-only: DELETE refused")
    _refused(delete(AuditEvent), "append-only: DELETE refused")
    _refused(text("TRUNCATE audit_events"), "audit_events is part of the audit ledger: TRUNCATE refused")
    assert [(e.id, e.actor) for e in events()] == [(ids[0], "user:u0"), (ids[1], "user:u1")]
    assert verify()["ok"] is True


def test_heads_cannot_be_deleted_truncated_or_moved_back():
    seed([None, None, None, "4"])
    before = head("global")
    _refused(delete(AuditChainHead).where(AuditChainHead.chain_key == "global"),
             "audit_chain_heads only advance: DELETE of global refused")
    _refused(text("TRUNCATE audit_chain_heads CASCADE"), "TRUNCATE refused")
    _refused(update(AuditChainHead).where(AuditChainHead.chain_key == "global").values(last_seq=2),
             "UPDATE of global refused")
    _refused(update(AuditChainHead).where(AuditChainHead.chain_key == "global").values(last_hash="f" * 64),
             "UPDATE of global refused")  # same seq, another hash: a rewritten head
    _refused(update(AuditChainHead).where(AuditChainHead.chain_key == "tenant:4").values(chain_key="tenant:5"),
             "UPDATE of tenant:4 refused")
    after = head("global")
    assert (after.last_seq, after.last_hash, after.seal) == (before.last_seq, before.last_hash, before.seal)


def test_appends_and_reseals_still_pass_the_triggers():
    seed([None, "4"])
    with session_scope() as session:  # a re-seal keeps seq and hash and only rewrites the seal
        report = service.reseal_heads(session, actor="test:reseal")
    assert report.ok is True
    seed(["4", None])
    assert head("global").last_seq == 5 and head("tenant:4").last_seq == 2
    assert verify()["ok"] is True


def test_the_prune_setting_lets_one_transaction_through_and_ends_with_it():
    seed([None, "2"])
    with session_scope() as session:
        service.allow_ledger_prune(session)
        session.execute(delete(AuditEvent))
        session.execute(delete(AuditChainHead))
    with session_scope(writer=False) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    seed([None])
    _refused(delete(AuditEvent), "append-only")  # SET LOCAL ended with the pruning transaction
    with pytest.raises(DBAPIError, match="append-only"), session_scope() as session:
        session.execute(text("SET LOCAL autopack.ledger_prune = 'yes'"))  # only 'on' opens it
        session.execute(delete(AuditEvent))
    assert len(events()) == 1
