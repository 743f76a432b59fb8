"""audit ledger: hash-chained audit events and chain heads

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import autopack.db.base

revision = "0003"
down_revision = "0001"
branch_labels = ("audit",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# Frozen copy of the model's check (migrations must not change when the model does).
TENANT_CHAIN_FIELDS_CHECK = (
    "(tenant_id IS NULL AND tenant_seq IS NULL AND tenant_prev_hash IS NULL AND tenant_hash IS NULL)"
    " OR (tenant_id IS NOT NULL AND tenant_seq IS NOT NULL AND tenant_prev_hash IS NOT NULL"
    " AND tenant_hash IS NOT NULL)"
)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("target_type", sa.String(length=64), nullable=True),
        sa.Column("target_id", sa.String(length=255), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column("global_seq", sa.BigInteger(), nullable=False),
        sa.Column("global_prev_hash", sa.String(length=64), nullable=False),
        sa.Column("global_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_seq", sa.BigInteger(), nullable=True),
        sa.Column("tenant_prev_hash", sa.String(length=64), nullable=True),
        sa.Column("tenant_hash", sa.String(length=64), nullable=True),
        sa.CheckConstraint(TENANT_CHAIN_FIELDS_CHECK, name=op.f("ck_audit_events_tenant_chain_fields")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("global_seq", name=op.f("uq_audit_events_global_seq")),
        sa.UniqueConstraint("tenant_id", "tenant_seq", name=op.f("uq_audit_events_tenant_id_tenant_seq")),
    )
    op.create_index(op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_action_global_seq", "audit_events", ["action", "global_seq"])
    op.create_table(
        "audit_chain_heads",
        sa.Column("chain_key", sa.String(length=80), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("chain_key", name=op.f("pk_audit_chain_heads")),
    )


def downgrade() -> None:
    op.drop_table("audit_chain_heads")
    op.drop_index("ix_audit_events_action_global_seq", table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_occurred_at"), table_name="audit_events")
    op.drop_table("audit_events")
