"""Builder and auditor submissions, kept as history (the reference kept neither)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, JSONType, utcnow


class BuilderResultRecord(Base):
    """One builder submission for a phase."""

    __tablename__ = "builder_results"
    __table_args__ = (Index("ix_builder_results_run_phase", "run_id", "phase_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)
    phase_id: Mapped[str] = mapped_column(String(128), nullable=False)
    run_type: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(64), nullable=False)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    patch_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    patch_bytes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    files_changed: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    allowed_paths: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    lines_added: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lines_removed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    builder_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    tokens_used: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    duration_minutes: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    probe_results: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    suggested_issues: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class AuditorResultRecord(Base):
    """One auditor review of a phase (DECISIONS §3.1: persisted)."""

    __tablename__ = "auditor_results"
    __table_args__ = (Index("ix_auditor_results_run_phase", "run_id", "phase_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)
    phase_id: Mapped[str] = mapped_column(String(128), nullable=False)
    review_notes: Mapped[str] = mapped_column(Text, nullable=False)
    recommendation: Mapped[str] = mapped_column(String(64), nullable=False)
    confidence: Mapped[str] = mapped_column(String(64), nullable=False, default="medium")
    issues_found: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    suggested_patches: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    auditor_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    tokens_used: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
