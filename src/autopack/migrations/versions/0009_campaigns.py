"""campaigns: sandbox platform state, daily campaign metrics, the platform request ledger

Revision ID: 0009
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import autopack.db.base

revision = "0009"
down_revision = "0002"
branch_labels = ("campaigns",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                   name=op.f(f"fk_{table}_tenant_id_tenants"))


def _sandbox_campaigns() -> None:
    op.create_table(
        "sandbox_campaigns",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("daily_budget", sa.Float(), nullable=True),
        sa.Column("bid", sa.Float(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("status IN ('active', 'paused')", name=op.f("ck_sandbox_campaigns_status_valid")),
        _tenant_fk("sandbox_campaigns"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_campaigns")),
        sa.UniqueConstraint("tenant_id", "platform", "entity_type", "entity_id",
                            name=op.f("uq_sandbox_campaigns_tenant_id_platform_entity_type_entity_id")),
    )


def _campaign_metrics_daily() -> None:
    op.create_table(
        "campaign_metrics_daily",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("spend", sa.Float(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("conversions", sa.Float(), nullable=False),
        sa.Column("roas", sa.Float(), nullable=True),
        sa.Column("cpa", sa.Float(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        _tenant_fk("campaign_metrics_daily"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_metrics_daily")),
        sa.UniqueConstraint("tenant_id", "platform", "entity_id", "day",
                            name=op.f("uq_campaign_metrics_daily_tenant_id_platform_entity_id_day")),
    )


def _platform_requests() -> None:
    op.create_table(
        "platform_requests",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("action_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("adapter", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("request", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("response_summary", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("state IN ('sent', 'confirmed', 'failed')",
                           name=op.f("ck_platform_requests_state_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_requests")),
        sa.UniqueConstraint("action_id", name=op.f("uq_platform_requests_action_id")),
    )
    with op.batch_alter_table("platform_requests", schema=None) as batch_op:
        batch_op.create_index("ix_platform_requests_tenant_id", ["tenant_id"], unique=False)


def upgrade() -> None:
    _sandbox_campaigns()
    _campaign_metrics_daily()
    _platform_requests()


def downgrade() -> None:
    with op.batch_alter_table("platform_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_requests_tenant_id")
    op.drop_table("platform_requests")
    op.drop_table("campaign_metrics_daily")
    op.drop_table("sandbox_campaigns")
