"""Ad-platform state: sandbox campaigns, daily performance metrics, and the platform request ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
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

BIGINT_ID = BigInteger().with_variant(Integer(), "sqlite")
CAMPAIGN_STATUSES = ("active", "paused")
REQUEST_STATES = ("sent", "confirmed", "failed")


class SandboxCampaign(Base):
    """One entity (campaign, ad set, creative) of the sandbox platform: budgets and statuses really change."""

    __tablename__ = "sandbox_campaigns"
    __table_args__ = (
        UniqueConstraint("tenant_id", "platform", "entity_type", "entity_id"),
        CheckConstraint("status IN ('active', 'paused')", name="status_valid"),
    )

    id: Mapped[int] = mapped_column(BIGINT_ID, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    platform: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(255), nullable=False)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    daily_budget: Mapped[float | None] = mapped_column(Float, nullable=True)
    bid: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


class CampaignMetricsDaily(Base):
    """One day of an entity's performance (enforcement averages ROAS/CPA over a lookback)."""

    __tablename__ = "campaign_metrics_daily"
    __table_args__ = (UniqueConstraint("tenant_id", "platform", "entity_id", "day"),)

    id: Mapped[int] = mapped_column(BIGINT_ID, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    platform: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(255), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    spend: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    revenue: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    conversions: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    roas: Mapped[float | None] = mapped_column(Float, nullable=True)
    cpa: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


class PlatformRequest(Base):
    """The idempotency ledger: one row per action that reached a platform adapter.

    `sent` is written and committed *before* a request leaves the process, so a crashed worker's
    action is re-sent only when no row exists (provably never sent); otherwise it is reconciled.
    """

    __tablename__ = "platform_requests"
    __table_args__ = (
        CheckConstraint("state IN ('sent', 'confirmed', 'failed')", name="state_valid"),
        Index("ix_platform_requests_tenant_id", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(BIGINT_ID, primary_key=True, autoincrement=True)
    # No foreign key: autopilot_actions lives on another migration branch.
    action_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    tenant_id: Mapped[int] = mapped_column(Integer, nullable=False)
    platform: Mapped[str] = mapped_column(String(32), nullable=False)
    adapter: Mapped[str] = mapped_column(String(32), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(64), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    request: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="sent")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    claim_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    response_summary: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


__all__ = ["CAMPAIGN_STATUSES", "REQUEST_STATES", "CampaignMetricsDaily", "PlatformRequest",
           "SandboxCampaign"]
