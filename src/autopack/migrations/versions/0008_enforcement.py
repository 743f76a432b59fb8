"""enforcement: tenant settings, custom rules, the intervention audit log, confirmation tokens

Revision ID: 0008
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import autopack.db.base

revision = "0008"
down_revision = "0002"
branch_labels = ("enforcement",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
MODE_CHECK = "IN ('advisory', 'soft_block', 'hard_block')"


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                   name=op.f(f"fk_{table}_tenant_id_tenants"))


def _settings() -> None:
    op.create_table(
        "tenant_enforcement_settings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("enforcement_enabled", sa.Boolean(), nullable=False),
        sa.Column("default_mode", sa.String(length=16), nullable=False),
        sa.Column("max_daily_budget", sa.Float(), nullable=True),
        sa.Column("max_campaign_budget", sa.Float(), nullable=True),
        sa.Column("budget_increase_limit_pct", sa.Float(), nullable=False),
        sa.Column("min_roas_threshold", sa.Float(), nullable=False),
        sa.Column("roas_lookback_days", sa.Integer(), nullable=False),
        sa.Column("max_budget_changes_per_day", sa.Integer(), nullable=False),
        sa.Column("min_hours_between_changes", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(f"default_mode {MODE_CHECK}",
                           name=op.f("ck_tenant_enforcement_settings_default_mode_valid")),
        _tenant_fk("tenant_enforcement_settings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_enforcement_settings")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_tenant_enforcement_settings_tenant_id")),
    )


def _rules() -> None:
    op.create_table(
        "tenant_enforcement_rules",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("rule_type", sa.String(length=40), nullable=False),
        sa.Column("threshold_value", sa.Float(), nullable=False),
        sa.Column("enforcement_mode", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(f"enforcement_mode {MODE_CHECK}",
                           name=op.f("ck_tenant_enforcement_rules_enforcement_mode_valid")),
        _tenant_fk("tenant_enforcement_rules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_enforcement_rules")),
        sa.UniqueConstraint("tenant_id", "rule_id", name=op.f("uq_tenant_enforcement_rules_tenant_id_rule_id")),
    )


def _audit_logs() -> None:
    op.create_table(
        "enforcement_audit_logs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", TS, nullable=False),
        sa.Column("action_type", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.String(length=255), nullable=False),
        sa.Column("violation_type", sa.String(length=40), nullable=True),
        sa.Column("intervention_action", sa.String(length=32), nullable=False),
        sa.Column("enforcement_mode", sa.String(length=16), nullable=True),
        sa.Column("details", JSON, nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        _tenant_fk("enforcement_audit_logs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enforcement_audit_logs")),
    )
    with op.batch_alter_table("enforcement_audit_logs", schema=None) as batch_op:
        batch_op.create_index("ix_enforcement_audit_logs_tenant_id_timestamp", ["tenant_id", "timestamp", "id"],
                              unique=False)


def _tokens() -> None:
    op.create_table(
        "pending_confirmation_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("action_type", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.String(length=255), nullable=False),
        sa.Column("values_hash", sa.String(length=64), nullable=False),
        sa.Column("violations", JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("confirmed_at", TS, nullable=True),
        sa.Column("used_at", TS, nullable=True),
        _tenant_fk("pending_confirmation_tokens"),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_pending_confirmation_tokens")),
    )
    with op.batch_alter_table("pending_confirmation_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_pending_confirmation_tokens_expires_at", ["expires_at"], unique=False)


def upgrade() -> None:
    _settings()
    _rules()
    _audit_logs()
    _tokens()


def downgrade() -> None:
    op.drop_table("pending_confirmation_tokens")
    op.drop_table("enforcement_audit_logs")
    op.drop_table("tenant_enforcement_rules")
    op.drop_table("tenant_enforcement_settings")
