"""audit ledger: PostgreSQL triggers refuse to rewrite or erase it (events append-only, heads advance-only)

Revision ID: 0014
Revises: 0010

`audit_events`: UPDATE, DELETE and TRUNCATE are refused. `audit_chain_heads`: DELETE and TRUNCATE
are refused, and an UPDATE may only move a head forward (a higher seq) or leave seq and hash as they
are (re-sealing). The one way past them is `SET LOCAL autopack.ledger_prune = 'on'` in the pruning
transaction (`autopack.audit.service.allow_ledger_prune`), for retention migrations and the test
suite's reset. SQLite has no such guard: there the anchor alone shows what was removed.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None

# Frozen SQL (migrations must not change when the code does).
_PRUNE_ALLOWED = "coalesce(current_setting('autopack.ledger_prune', true), '') = 'on'"

_FUNCTIONS = f"""
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {_PRUNE_ALLOWED} THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Only a prune with SET LOCAL autopack.ledger_prune = ''on'' may change the ledger.';
END $$;

CREATE FUNCTION audit_chain_heads_advance_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {_PRUNE_ALLOWED} THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.chain_key = OLD.chain_key
       AND (NEW.last_seq > OLD.last_seq
            OR (NEW.last_seq = OLD.last_seq AND NEW.last_hash = OLD.last_hash)) THEN
        RETURN NEW;  -- an append moves the head forward; a re-seal keeps seq and hash
    END IF;
    RAISE EXCEPTION 'audit_chain_heads only advance: % of % refused', TG_OP, OLD.chain_key
        USING ERRCODE = 'restrict_violation',
              HINT = 'Only a prune with SET LOCAL autopack.ledger_prune = ''on'' may move a head back.';
END $$;

CREATE FUNCTION audit_ledger_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {_PRUNE_ALLOWED} THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is part of the audit ledger: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              HINT = 'Only a prune with SET LOCAL autopack.ledger_prune = ''on'' may empty the ledger.';
END $$;
"""

_TRIGGERS = """
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_ledger_no_truncate();
CREATE TRIGGER audit_chain_heads_advance_only BEFORE UPDATE OR DELETE ON audit_chain_heads
    FOR EACH ROW EXECUTE FUNCTION audit_chain_heads_advance_only();
CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON audit_chain_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit_ledger_no_truncate();
"""

_DROP = """
DROP TRIGGER IF EXISTS audit_chain_heads_no_truncate ON audit_chain_heads;
DROP TRIGGER IF EXISTS audit_chain_heads_advance_only ON audit_chain_heads;
DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events;
DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events;
DROP FUNCTION IF EXISTS audit_ledger_no_truncate();
DROP FUNCTION IF EXISTS audit_chain_heads_advance_only();
DROP FUNCTION IF EXISTS audit_events_append_only();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTIONS)
    op.execute(_TRIGGERS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_DROP)
