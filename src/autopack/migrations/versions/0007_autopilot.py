"""autopilot: actions and their events, per-tenant settings, signal-health readings, trust-gate audit

Revision ID: 0007
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import autopack.db.base

revision = "0007"
down_revision = "0002"
branch_labels = ("autopilot",)
depends_on = None

TS = autopack.db.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                   name=op.f(f"fk_{table}_tenant_id_tenants"))


def _actions() -> None:
    op.create_table(
        "autopilot_actions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("action_type", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=255), nullable=False),
        sa.Column("entity_name", sa.String(length=255), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("action_json", JSON, nullable=False),
        sa.Column("before_value", JSON, nullable=True),
        sa.Column("after_value", JSON, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("auto_approved", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("warnings", JSON, nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("approved_by", sa.String(length=255), nullable=True),
        sa.Column("dismissed_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("dismissed_at", TS, nullable=True),
        sa.Column("applied_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("proposed_hash", sa.String(length=64), nullable=False),
        sa.Column("confirmation_jti", sa.String(length=64), nullable=True),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'approved', 'applying', 'applied', 'failed', 'dismissed')",
                           name=op.f("ck_autopilot_actions_status_valid")),
        _tenant_fk("autopilot_actions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autopilot_actions")),
    )
    op.create_index("ix_autopilot_actions_tenant_created", "autopilot_actions", ["tenant_id", "created_at", "id"])
    op.create_index("ix_autopilot_actions_tenant_status", "autopilot_actions", ["tenant_id", "status"])
    op.create_index("ix_autopilot_actions_status_claimed", "autopilot_actions", ["status", "claimed_at"])

    op.create_table(
        "autopilot_action_events",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("action_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("details", JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["action_id"], ["autopilot_actions.id"], ondelete="CASCADE",
                                name=op.f("fk_autopilot_action_events_action_id_autopilot_actions")),
        _tenant_fk("autopilot_action_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autopilot_action_events")),
    )
    op.create_index("ix_autopilot_action_events_tenant_id_id", "autopilot_action_events", ["tenant_id", "id"])
    op.create_index("ix_autopilot_action_events_action_id", "autopilot_action_events", ["action_id"])


def _settings() -> None:
    op.create_table(
        "autopilot_settings",
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("daily_max", sa.Float(), nullable=True),
        sa.Column("campaign_max", sa.Float(), nullable=True),
        sa.Column("cpa_ceiling", sa.Float(), nullable=True),
        sa.Column("roas_floor", sa.Float(), nullable=True),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("frozen_at", TS, nullable=True),
        sa.Column("frozen_by", sa.String(length=255), nullable=True),
        sa.Column("frozen_reason", sa.Text(), nullable=True),
        sa.Column("action_dry_run", sa.Boolean(), nullable=False),
        sa.Column("custom_autopilot_rules", sa.Boolean(), nullable=False),
        sa.Column("healthy_threshold", sa.Float(), nullable=False),
        sa.Column("degraded_threshold", sa.Float(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.CheckConstraint("level IN (0, 1, 2)", name=op.f("ck_autopilot_settings_level_valid")),
        sa.CheckConstraint("degraded_threshold <= healthy_threshold",
                           name=op.f("ck_autopilot_settings_thresholds_ordered")),
        _tenant_fk("autopilot_settings"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_autopilot_settings")),
    )


def _signal_health() -> None:
    op.create_table(
        "signal_health_readings",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("emq", sa.Float(), nullable=False),
        sa.Column("freshness", sa.Float(), nullable=False),
        sa.Column("variance", sa.Float(), nullable=False),
        sa.Column("anomaly", sa.Float(), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(length=255), nullable=True),
        _tenant_fk("signal_health_readings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_health_readings")),
    )
    op.create_index("ix_signal_health_readings_tenant_platform_at", "signal_health_readings",
                    ["tenant_id", "platform", "recorded_at"])
    op.create_table(
        "trust_gate_audit_log",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("decision_type", sa.String(length=16), nullable=False),
        sa.Column("action_type", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=255), nullable=False),
        sa.Column("entity_name", sa.String(length=255), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("signal_health_score", sa.Float(), nullable=True),
        sa.Column("signal_health_status", sa.String(length=16), nullable=False),
        sa.Column("gate_passed", sa.Boolean(), nullable=False),
        sa.Column("gate_reasons", JSON, nullable=False),
        sa.Column("healthy_threshold", sa.Float(), nullable=False),
        sa.Column("degraded_threshold", sa.Float(), nullable=False),
        sa.Column("is_dry_run", sa.Boolean(), nullable=False),
        sa.Column("action_payload", JSON, nullable=False),
        sa.Column("triggered_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        _tenant_fk("trust_gate_audit_log"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_gate_audit_log")),
    )
    op.create_index("ix_trust_gate_audit_log_tenant_created", "trust_gate_audit_log", ["tenant_id", "created_at"])


def upgrade() -> None:
    _actions()
    _settings()
    _signal_health()


def downgrade() -> None:
    op.drop_index("ix_trust_gate_audit_log_tenant_created", table_name="trust_gate_audit_log")
    op.drop_table("trust_gate_audit_log")
    op.drop_index("ix_signal_health_readings_tenant_platform_at", table_name="signal_health_readings")
    op.drop_table("signal_health_readings")
    op.drop_table("autopilot_settings")
    op.drop_index("ix_autopilot_action_events_action_id", table_name="autopilot_action_events")
    op.drop_index("ix_autopilot_action_events_tenant_id_id", table_name="autopilot_action_events")
    op.drop_table("autopilot_action_events")
    for name in ("status_claimed", "tenant_status", "tenant_created"):
        op.drop_index(f"ix_autopilot_actions_{name}", table_name="autopilot_actions")
    op.drop_table("autopilot_actions")
