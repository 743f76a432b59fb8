"""Storage optimizer: scans, cleanup candidates, decisions, executions and learned rules.

Table and column names follow the reference (DECISIONS §3.18); the columns after the reference's
ones carry what the background scans, the trash and the restore need.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, utcnow


class StorageScan(Base):
    """One pass over a directory tree; `status` follows a background scan from queued to its end."""

    __tablename__ = "storage_scans"
    __table_args__ = (Index("ix_storage_scans_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)
    scan_type: Mapped[str] = mapped_column(String(20), nullable=False)
    scan_target: Mapped[str] = mapped_column(Text, nullable=False)
    max_depth: Mapped[int] = mapped_column(Integer, nullable=False)
    max_items: Mapped[int] = mapped_column(Integer, nullable=False)
    policy_version: Mapped[str] = mapped_column(String(32), nullable=False)
    total_items_scanned: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total_size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    cleanup_candidates_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    potential_savings_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    scan_duration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    # queued -> running -> completed | failed | cancelled (inline scans are born completed)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="completed")
    root: Mapped[str] = mapped_column(Text, nullable=False)  # the allowed root holding the target
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    skipped_entries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class CleanupCandidate(Base):
    """A file or folder a scan proposes to clean, with the operator's decision and its execution."""

    __tablename__ = "cleanup_candidates"
    __table_args__ = (Index("ix_cleanup_candidates_scan_id_size_bytes", "scan_id", "size_bytes"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("storage_scans.id", ondelete="CASCADE"), nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    age_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_modified: Mapped[datetime | None] = mapped_column(nullable=True)
    category: Mapped[str] = mapped_column(String(50), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    requires_approval: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    approval_status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    approved_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    execution_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    executed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    execution_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    compressed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    compressed_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    compression_ratio: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), nullable=True)
    compression_duration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Exact fingerprint at scan time: execute refuses a path whose size or newest mtime moved since.
    mtime_ns: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    is_folder: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    trash_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    restored_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ApprovalDecision(Base):
    """One approve / reject / defer call on a scan's candidates."""

    __tablename__ = "approval_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("storage_scans.id", ondelete="CASCADE"), nullable=False,
                                         index=True)
    approved_by: Mapped[str] = mapped_column(String(255), nullable=False)
    approved_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    approval_method: Mapped[str] = mapped_column(String(50), nullable=False, default="api")
    total_candidates: Mapped[int] = mapped_column(Integer, nullable=False)
    total_size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    decision: Mapped[str] = mapped_column(String(20), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    principal: Mapped[str | None] = mapped_column(String(255), nullable=True)


class ExecutionCheckpoint(Base):
    """One move to the trash (or back) of a candidate, as it happened."""

    __tablename__ = "execution_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("storage_scans.id", ondelete="CASCADE"), nullable=False,
                                         index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("cleanup_candidates.id", ondelete="CASCADE"),
                                              nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(20), nullable=False)  # move | restore
    path: Mapped[str] = mapped_column(Text, nullable=False)
    trash_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # completed | failed | skipped
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    timestamp: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class LearnedRule(Base):
    """A pattern in the operator's decisions; an approved rule classifies later scans."""

    __tablename__ = "learned_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    pattern_type: Mapped[str] = mapped_column(String(50), nullable=False)
    pattern_value: Mapped[str] = mapped_column(Text, nullable=False)
    suggested_category: Mapped[str] = mapped_column(String(50), nullable=False)
    confidence_score: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    based_on_approvals: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    based_on_rejections: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sample_paths: Mapped[str | None] = mapped_column(Text, nullable=True)  # a JSON text array, as the reference
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    reviewed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    applied_to_policy_version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
