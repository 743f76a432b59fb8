"""Governance requests: a human's say over patches that touch protected paths."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, utcnow


class GovernanceRequest(Base):
    """A request to change protected paths; `approved` NULL means pending (reference columns first)."""

    __tablename__ = "governance_requests"
    __table_args__ = (Index("ix_governance_requests_approved_created_at", "approved", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    phase_id: Mapped[str] = mapped_column(String(128), nullable=False)
    # A JSON text array, as the reference stores it, so tools reading its database keep working.
    requested_paths: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    justification: Mapped[str | None] = mapped_column(Text, nullable=True)
    risk_level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    auto_approved: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    approved: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    patch_content: Mapped[str | None] = mapped_column(Text, nullable=True)
    patch_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    applied: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    apply_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # SHA-256 of the touched files when the request was made; NULL when the executor applies locally.
    workspace_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The builder's allowed_paths (JSON text array): an approved apply runs under the same scope.
    allowed_paths: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The principal that raised the request: it may never decide it (four-eyes).
    requested_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
