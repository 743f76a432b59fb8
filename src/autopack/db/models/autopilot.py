"""Autopilot: queued actions and their events, per-tenant settings, signal health, dry-run audit."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, JSONType, utcnow

ACTION_STATUSES = ("queued", "approved", "applying", "applied", "failed", "dismissed")
BIGINT_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


def new_uuid() -> str:
    """A new random UUID as its canonical 36-character string."""
    return str(uuid.uuid4())


class AutopilotAction(Base):
    """One proposed ad-campaign change and where it is in its life (queued → applied)."""

    __tablename__ = "autopilot_actions"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'approved', 'applying', 'applied', 'failed', 'dismissed')",
                        name="status_valid"),
        Index("ix_autopilot_actions_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_autopilot_actions_tenant_status", "tenant_id", "status"),
        Index("ix_autopilot_actions_status_claimed", "status", "claimed_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    date: Mapped[date] = mapped_column(Date, nullable=False)
    action_type: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(255), nullable=False)
    entity_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    platform: Mapped[str] = mapped_column(String(32), nullable=False)
    action_json: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    before_value: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    after_value: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    requires_approval: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    auto_approved: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    warnings: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    dismissed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    dismissed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    applied_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    proposed_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    confirmation_jti: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class AutopilotActionEvent(Base):
    """One state transition of an action (the event stream and dashboard read these)."""

    __tablename__ = "autopilot_action_events"
    __table_args__ = (
        Index("ix_autopilot_action_events_tenant_id_id", "tenant_id", "id"),
        Index("ix_autopilot_action_events_action_id", "action_id"),
    )

    id: Mapped[int] = mapped_column(BIGINT_ID, primary_key=True, autoincrement=True)
    action_id: Mapped[str] = mapped_column(ForeignKey("autopilot_actions.id", ondelete="CASCADE"),
                                           nullable=False)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class AutopilotSettings(Base):
    """A tenant's autopilot level, caps, freeze, feature flags and trust thresholds."""

    __tablename__ = "autopilot_settings"
    __table_args__ = (
        CheckConstraint("level IN (0, 1, 2)", name="level_valid"),
        CheckConstraint("degraded_threshold <= healthy_threshold", name="thresholds_ordered"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True,
                                           autoincrement=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False, default=2)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    daily_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    campaign_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    cpa_ceiling: Mapped[float | None] = mapped_column(Float, nullable=True)
    roas_floor: Mapped[float | None] = mapped_column(Float, nullable=True)
    frozen: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    frozen_at: Mapped[datetime | None] = mapped_column(nullable=True)
    frozen_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    frozen_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    action_dry_run: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    custom_autopilot_rules: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    healthy_threshold: Mapped[float] = mapped_column(Float, nullable=False, default=70.0)
    degraded_threshold: Mapped[float] = mapped_column(Float, nullable=False, default=40.0)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(255), nullable=True)


class SignalHealthReading(Base):
    """One signal-health reading for a tenant's platform (each component 0–100)."""

    __tablename__ = "signal_health_readings"
    __table_args__ = (
        Index("ix_signal_health_readings_tenant_platform_at", "tenant_id", "platform", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BIGINT_ID, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    platform: Mapped[str] = mapped_column(String(32), nullable=False)
    emq: Mapped[float] = mapped_column(Float, nullable=False)
    freshness: Mapped[float] = mapped_column(Float, nullable=False)
    variance: Mapped[float] = mapped_column(Float, nullable=False)
    anomaly: Mapped[float] = mapped_column(Float, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    recorded_by: Mapped[str | None] = mapped_column(String(255), nullable=True)


class TrustGateAuditLog(Base):
    """A trust-gate decision (dry-runs write one each)."""

    __tablename__ = "trust_gate_audit_log"
    __table_args__ = (Index("ix_trust_gate_audit_log_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    decision_type: Mapped[str] = mapped_column(String(16), nullable=False)
    action_type: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(255), nullable=False)
    entity_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    platform: Mapped[str] = mapped_column(String(32), nullable=False)
    signal_health_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    signal_health_status: Mapped[str] = mapped_column(String(16), nullable=False)
    gate_passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    gate_reasons: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    healthy_threshold: Mapped[float] = mapped_column(Float, nullable=False)
    degraded_threshold: Mapped[float] = mapped_column(Float, nullable=False)
    is_dry_run: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    action_payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    triggered_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


__all__ = ["ACTION_STATUSES", "AutopilotAction", "AutopilotActionEvent", "AutopilotSettings",
           "SignalHealthReading", "TrustGateAuditLog", "new_uuid"]
