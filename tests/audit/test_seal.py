"""Keyed head seals: a chain rewritten consistently (links and head) still fails without the secret."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, select, text, update
from typer.testing import CliRunner

from autopack.audit.anchor_file import anchor_path, read_anchor
from autopack.audit.chain import GENESIS_HASH, head_seal, link_hash, seal_matches
from autopack.cli import app as cli_app
from autopack.core.settings import get_settings
from autopack.db.models import AuditChainHead, AuditEvent
from tests.audit.helpers import attacker, events, head, restore, seed, snapshot, verify, verify_report


def _rewrite_everything(actor: str = "user:mallory") -> None:
    """What a database-only attacker can do: rewrite every event, recompute every link and the head."""
    with attacker() as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.global_seq)))
        prev = GENESIS_HASH
        for row in rows:
            row.actor = actor
            row.global_prev_hash = prev
            row.global_hash = link_hash(chain="global", seq=row.global_seq, prev_hash=prev,
                                        occurred_at=row.occurred_at, actor=row.actor, action=row.action,
                                        tenant_id=row.tenant_id, target_type=row.target_type,
                                        target_id=row.target_id, details=row.details)
            prev = row.global_hash
        session.execute(update(AuditChainHead).where(AuditChainHead.chain_key == "global")
                        .values(last_seq=rows[-1].global_seq, last_hash=prev))


def test_every_append_seals_the_head():
    seed([None, "7"])
    for chain in ("global", "tenant:7"):
        row = head(chain)
        assert row.seal == head_seal(chain, row.last_seq, row.last_hash)
        assert seal_matches(chain, row.last_seq, row.last_hash, row.seal)


def test_a_consistent_rewrite_of_the_whole_chain_is_caught_by_the_seal():
    ids = seed([None] * 4)
    _rewrite_everything()
    report = verify()
    assert report["ok"] is False
    assert report["first_break"] == {"chain": "global", "seq": 4, "event_id": ids[3], "reason": "head_seal_mismatch"}
    assert report["events_checked"] == 4  # every link was consistent


def test_truncation_to_an_earlier_head_and_a_missing_seal_are_caught():
    ids = seed([None] * 3)
    kept = events()[1]
    with attacker() as session:
        session.execute(AuditEvent.__table__.delete().where(AuditEvent.id == ids[2]))
        session.execute(update(AuditChainHead).where(AuditChainHead.chain_key == "global")
                        .values(last_seq=2, last_hash=kept.global_hash))
    assert verify()["first_break"]["reason"] == "head_seal_mismatch"
    with attacker() as session:
        session.execute(update(AuditChainHead).values(seal=None))
    assert verify()["first_break"]["reason"] == "head_seal_mismatch"


def test_another_server_secret_fails_until_the_heads_are_resealed(monkeypatch):
    seed([None, "3"])
    assert verify()["ok"] is True
    monkeypatch.setenv("AUTOPACK_SECRET_KEY", "rotated-secret")
    get_settings.cache_clear()
    assert verify()["first_break"]["reason"] == "head_seal_mismatch"
    assert verify_report()["anchor"]["status"] == "invalid"  # sealed under the old secret too
    runner = CliRunner()
    assert runner.invoke(cli_app, ["audit", "verify"]).exit_code == 1
    resealed = runner.invoke(cli_app, ["audit", "reseal"])
    assert resealed.exit_code == 0, resealed.output
    assert "chain heads re-sealed" in resealed.output
    report = verify_report()
    assert report["ok"] is True and report["events_checked"] == 3  # the re-seal is itself an event
    assert report["anchor"]["status"] == "ok"
    assert read_anchor(anchor_path()).chains["global"][0] == 3  # re-sealed, then moved on by the append
    assert events()[-1].action == "audit.heads_resealed"


def test_reseal_refuses_a_ledger_that_no_longer_holds_its_anchored_heads(monkeypatch):
    seed([None, None])
    saved = snapshot()
    seed([None])
    restore(saved)  # consistent and sealed, but behind the anchor
    monkeypatch.setenv("AUTOPACK_SECRET_KEY", "rotated-secret")
    get_settings.cache_clear()
    before = head("global").seal
    result = CliRunner().invoke(cli_app, ["audit", "reseal"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["first_break"] == {"chain": "global", "seq": 3, "event_id": None, "reason": "anchor_mismatch"}
    assert head("global").seal == before and len(events()) == 2


def test_reseal_refuses_a_broken_chain_and_changes_nothing(monkeypatch):
    ids = seed([None] * 3)
    with attacker() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(actor="user:mallory"))
    before = head("global").seal
    result = CliRunner().invoke(cli_app, ["audit", "reseal"])
    assert result.exit_code == 1
    assert json.loads(result.output)["first_break"]["reason"] == "hash_mismatch"
    assert head("global").seal == before
    assert len(events()) == 3


def test_the_migration_seals_heads_that_existed_before_it(tmp_path):
    from autopack.core.migrate import upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0003")  # the ledger before seals
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_chain_heads (chain_key, last_seq, last_hash, updated_at) "
                              "VALUES ('global', 5, :digest, '2026-01-01 00:00:00.000000')"),
                         {"digest": "ab" * 32})
        upgrade(engine)
        with engine.connect() as conn:
            seal = conn.execute(text("SELECT seal FROM audit_chain_heads")).scalar_one()
        assert seal == head_seal("global", 5, "ab" * 32)
    finally:
        engine.dispose()
