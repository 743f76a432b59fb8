"""Verification finds every edited, deleted, reordered or forged row, at the right place."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert

from autopack.audit.chain import link_hash
from autopack.core.database import session_scope
from autopack.db.models import AuditChainHead, AuditEvent
from tests.audit.helpers import CHAIN, CONTENT, attacker, events, remove, seed, swap, tamper, verify


def _break(chain: str, seq: int, event_id: int | None, reason: str) -> dict:
    return {"chain": chain, "seq": seq, "event_id": event_id, "reason": reason}


def test_edited_details_break_the_chain_at_that_event():
    ids = seed([None] * 5)
    assert verify()["ok"] is True
    tamper(ids[2], details={"n": 999})
    report = verify()
    assert report["ok"] is False
    assert report["first_break"] == _break("global", 3, ids[2], "hash_mismatch")
    assert report["events_checked"] == 2  # the links before the break


def test_edited_actor_breaks_the_chain_at_that_event():
    ids = seed([None] * 4)
    tamper(ids[1], actor="user:mallory")
    assert verify()["first_break"] == _break("global", 2, ids[1], "hash_mismatch")


def test_edited_timestamp_breaks_the_chain():
    ids = seed([None] * 3)
    tamper(ids[0], occurred_at=events()[0].occurred_at - timedelta(microseconds=1))
    assert verify()["first_break"] == _break("global", 1, ids[0], "hash_mismatch")


def test_deleted_middle_event_is_a_sequence_gap():
    ids = seed([None] * 5)
    remove(ids[2])
    assert verify()["first_break"] == _break("global", 4, ids[3], "sequence_gap")


def test_deleted_last_event_no_longer_reaches_the_head():
    ids = seed([None] * 5)
    remove(ids[4])
    report = verify()
    assert report["first_break"] == _break("global", 5, None, "head_mismatch")
    assert report["events_checked"] == 4


def test_deleting_every_event_is_detected_by_the_head():
    ids = seed([None, None])
    for event_id in ids:
        remove(event_id)
    assert verify()["first_break"] == _break("global", 2, None, "head_mismatch")


def test_swapped_event_contents_are_detected():
    ids = seed([None] * 4)
    swap(ids[1], ids[2], CONTENT)
    assert verify()["first_break"] == _break("global", 2, ids[1], "hash_mismatch")


def test_swapped_events_with_their_links_are_detected():
    ids = seed([None] * 4)
    swap(ids[1], ids[2], CONTENT + CHAIN)  # a reorder: seq 2 now holds the event that was at seq 3
    assert verify()["first_break"] == _break("global", 2, ids[1], "prev_hash_mismatch")


def test_rewritten_last_event_with_a_consistent_hash_is_caught_by_the_head():
    ids = seed([None] * 3)
    last = events()[-1]
    forged = link_hash(chain="global", seq=3, prev_hash=last.global_prev_hash, occurred_at=last.occurred_at,
                       actor="user:mallory", action=last.action, tenant_id=None, target_type=last.target_type,
                       target_id=last.target_id, details=last.details)
    tamper(ids[2], actor="user:mallory", global_hash=forged)
    assert verify()["first_break"] == _break("global", 3, ids[2], "head_mismatch")


def test_a_row_forged_past_the_head_is_detected():
    seed([None] * 2)
    last = events()[-1]
    fields = {"occurred_at": last.occurred_at, "actor": "user:mallory", "action": "test.forged",
              "tenant_id": None, "target_type": None, "target_id": None, "details": {}}
    digest = link_hash(chain="global", seq=3, prev_hash=last.global_hash, **fields)
    with session_scope() as session:
        forged_id = session.execute(insert(AuditEvent).values(
            global_seq=3, global_prev_hash=last.global_hash, global_hash=digest, **fields
        ).returning(AuditEvent.id)).scalar_one()
    assert verify()["first_break"] == _break("global", 3, forged_id, "head_mismatch")


def test_deleted_head_row_is_detected():
    ids = seed([None])
    with attacker() as session:
        session.execute(delete(AuditChainHead))
    assert verify()["first_break"] == _break("global", 1, ids[0], "head_mismatch")


def test_tenant_link_tamper_breaks_only_that_tenant_chain():
    ids = seed(["7", "8", "7", "8"])
    tamper(ids[2], tenant_hash="f" * 64)
    assert verify()["first_break"] == _break("tenant:7", 2, ids[2], "hash_mismatch")
    assert verify("7")["first_break"] == _break("tenant:7", 2, ids[2], "hash_mismatch")
    assert verify("8") == {"ok": True, "chains_checked": 1, "events_checked": 2, "first_break": None}


def test_edited_tenant_event_breaks_global_first_and_its_tenant_chain():
    ids = seed(["7", None, "7"])
    tamper(ids[2], details={"n": "edited"})
    assert verify()["first_break"] == _break("global", 3, ids[2], "hash_mismatch")
    assert verify("7")["first_break"] == _break("tenant:7", 2, ids[2], "hash_mismatch")


def test_deleted_last_tenant_event_is_seen_by_the_tenant_head():
    ids = seed(["7", "7", None])
    remove(ids[1])
    report = verify("7")
    assert report["first_break"] == _break("tenant:7", 2, None, "head_mismatch")
    assert verify()["first_break"] == _break("global", 3, ids[2], "sequence_gap")


def test_tenant_whose_events_are_all_gone_is_detected():
    ids = seed(["9"])
    with attacker() as session:  # rewrite the global chain around it so only the tenant head knows
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[0]))
        session.execute(delete(AuditChainHead).where(AuditChainHead.chain_key == "global"))
    report = verify()
    assert report["first_break"] == _break("tenant:9", 1, None, "head_mismatch")
    assert report["chains_checked"] == 2


def test_deleted_tenant_head_row_is_detected():
    ids = seed(["6", "6", "7"])
    with attacker() as session:
        session.execute(delete(AuditChainHead).where(AuditChainHead.chain_key == "tenant:6"))
    assert verify()["first_break"] == _break("tenant:6", 1, ids[0], "head_mismatch")
    assert verify("7")["ok"] is True
