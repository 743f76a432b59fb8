"""Approval requests: the reference's table and columns, plus hash, decider, notification."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, JSONType, utcnow

APPROVAL_STATUSES = ("pending", "approved", "rejected", "timeout")
NOTIFY_STATES = ("pending", "sent", "failed", "skipped")


class ApprovalRequest(Base):
    """One request for a human decision; rows are never deleted (they are the approval audit trail)."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'timeout')", name="status"),
        CheckConstraint("notify_state IN ('pending', 'sent', 'failed', 'skipped')", name="notify_state"),
        # The timeout worker's scan and the Telegram `approve:<phase_id>` lookup.
        Index("ix_approval_requests_status_timeout_at", "status", "timeout_at"),
        Index("ix_approval_requests_phase_id_status", "phase_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    phase_id: Mapped[str] = mapped_column(String(128), nullable=False)
    context: Mapped[str] = mapped_column(String(128), nullable=False, default="unknown")
    decision_info: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    deletion_info: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    # What the human is shown; payload_sha256 covers it with both info dicts (see approvals.payload).
    patch_preview: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)
    responded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    timeout_at: Mapped[datetime | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    response_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    approval_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    rejected_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Telegram, as the reference records it, mirrored from the notification outbox.
    telegram_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    telegram_sent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    telegram_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    notify_state: Mapped[str] = mapped_column(String(16), nullable=False, default="skipped")
    notify_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
