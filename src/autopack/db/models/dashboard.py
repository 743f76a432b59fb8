"""Dashboard state: A/B test results (reference table), human notes and model overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
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


class AbTestResult(Base):
    """One control/treatment comparison (reference `ab_test_results`; deltas are treatment − control)."""

    __tablename__ = "ab_test_results"
    __table_args__ = (Index("ix_ab_test_results_is_valid_created_at", "is_valid", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    test_id: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    control_run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True)
    treatment_run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True)
    control_commit_sha: Mapped[str] = mapped_column(String(64), nullable=False)
    treatment_commit_sha: Mapped[str] = mapped_column(String(64), nullable=False)
    control_model_hash: Mapped[str] = mapped_column(String(128), nullable=False)
    treatment_model_hash: Mapped[str] = mapped_column(String(128), nullable=False)
    is_valid: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    validity_errors: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    validity_warnings: Mapped[list[Any] | None] = mapped_column(JSONType, nullable=True)
    token_delta: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    time_delta_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    success_rate_delta: Mapped[float | None] = mapped_column(Float, nullable=True)
    control_total_tokens: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    control_phases_complete: Mapped[int | None] = mapped_column(Integer, nullable=True)
    control_phases_failed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    control_total_phases: Mapped[int | None] = mapped_column(Integer, nullable=True)
    treatment_total_tokens: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    treatment_phases_complete: Mapped[int | None] = mapped_column(Integer, nullable=True)
    treatment_phases_failed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    treatment_total_phases: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)
    created_by: Mapped[str | None] = mapped_column(String(255), nullable=True)


class HumanNote(Base):
    """A note a person left for the executor (mirrored to `.autopack/human_notes.md`)."""

    __tablename__ = "human_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    # A note outlives its run: the record of what a person said is kept.
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(255), nullable=False)


class ModelOverride(Base):
    """A model chosen for (role, category, complexity), globally or for one run."""

    __tablename__ = "model_overrides"
    __table_args__ = (
        # `scope_key` is "global" or "run:<run_id>": one key column keeps the uniqueness portable
        # (a NULL run_id would never collide in a unique constraint).
        UniqueConstraint("scope_key", "role", "category", "complexity"),
        CheckConstraint(
            "(scope = 'global' AND run_id IS NULL) OR (scope = 'run' AND run_id IS NOT NULL)",
            name="scope_matches_run",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16), nullable=False)
    scope_key: Mapped[str] = mapped_column(String(160), nullable=False)
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), nullable=True, index=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    category: Mapped[str] = mapped_column(String(128), nullable=False)
    complexity: Mapped[str] = mapped_column(String(32), nullable=False)
    model: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255), nullable=False)
