"""Autopilot enforcement: per-tenant settings, custom rules, the intervention log, confirmation tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, JSONType, utcnow

MODES = ("advisory", "soft_block", "hard_block")
_MODE_CHECK = "IN ('advisory', 'soft_block', 'hard_block')"


def new_uuid() -> str:
    """A random UUID as text (the same column type on SQLite and PostgreSQL)."""
    return str(uuid.uuid4())


class TenantEnforcementSettings(Base):
    """One row per tenant (reference §4.2); no row means the defaults."""

    __tablename__ = "tenant_enforcement_settings"
    __table_args__ = (CheckConstraint(f"default_mode {_MODE_CHECK}", name="default_mode_valid"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False,
                                           unique=True)
    enforcement_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    default_mode: Mapped[str] = mapped_column(String(16), nullable=False, default="advisory")
    max_daily_budget: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_campaign_budget: Mapped[float | None] = mapped_column(Float, nullable=True)
    budget_increase_limit_pct: Mapped[float] = mapped_column(Float, nullable=False, default=30.0)
    min_roas_threshold: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    roas_lookback_days: Mapped[int] = mapped_column(Integer, nullable=False, default=7)
    max_budget_changes_per_day: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    min_hours_between_changes: Mapped[int] = mapped_column(Integer, nullable=False, default=4)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


class TenantEnforcementRule(Base):
    """A tenant's custom rule (reference §4.3), unique by (tenant_id, rule_id)."""

    __tablename__ = "tenant_enforcement_rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "rule_id"),
        CheckConstraint(f"enforcement_mode {_MODE_CHECK}", name="enforcement_mode_valid"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    rule_id: Mapped[str] = mapped_column(String(100), nullable=False)
    rule_type: Mapped[str] = mapped_column(String(40), nullable=False)
    threshold_value: Mapped[float] = mapped_column(Float, nullable=False)
    enforcement_mode: Mapped[str] = mapped_column(String(16), nullable=False, default="advisory")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


class EnforcementAuditLog(Base):
    """One enforcement decision or intervention (reference §4.4; violation_type nullable, §4.21)."""

    __tablename__ = "enforcement_audit_logs"
    __table_args__ = (
        Index("ix_enforcement_audit_logs_tenant_id_timestamp", "tenant_id", "timestamp", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    timestamp: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    action_type: Mapped[str] = mapped_column(String(100), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(50), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(255), nullable=False)
    violation_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    intervention_action: Mapped[str] = mapped_column(String(32), nullable=False)
    enforcement_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    actor: Mapped[str] = mapped_column(String(255), nullable=False)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class PendingConfirmationToken(Base):
    """The single-use store of confirmation tokens (reference §4.5), keyed by the JWT's jti."""

    __tablename__ = "pending_confirmation_tokens"
    __table_args__ = (Index("ix_pending_confirmation_tokens_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    action_type: Mapped[str] = mapped_column(String(100), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(50), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(255), nullable=False)
    values_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    violations: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(nullable=True)  # POST /confirm
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)  # redeemed by an action
