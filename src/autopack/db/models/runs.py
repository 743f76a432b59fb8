"""Runs, tiers, phases and the event feed of their transitions (reference table names)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from autopack.db.base import Base, JSONType, utcnow


class Run(Base):
    """An autonomous build run."""

    __tablename__ = "runs"
    # The runs list's order (newest first, ties by id), whole and per state: migration 0023.
    __table_args__ = (Index("ix_runs_created_at_id", "created_at", "id"),
                      Index("ix_runs_state_created_at_id", "state", "created_at", "id"))

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    safety_profile: Mapped[str] = mapped_column(String(64), nullable=False, default="normal")
    run_scope: Mapped[str] = mapped_column(String(64), nullable=False, default="multi_tier")
    token_cap: Mapped[int] = mapped_column(BigInteger, nullable=False, default=5_000_000)
    max_phases: Mapped[int] = mapped_column(Integer, nullable=False, default=25)
    max_duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=120)
    max_minor_issues_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tokens_used: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    ci_runs_used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    minor_issues_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    major_issues_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    promotion_eligible_to_main: Mapped[str] = mapped_column(String(8), nullable=False, default="false")
    debt_status: Mapped[str | None] = mapped_column(String(64), nullable=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    goal_anchor: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Budget: tokens reported through POST /runs/{id}/usage (counted beside the phases' own sum), the
    # time budget's end, and the hold that stops new phases until a human extends the budget or stops.
    usage_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    budget_deadline_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    budget_hold: Mapped[str | None] = mapped_column(String(32), nullable=True)
    budget_held_at: Mapped[datetime | None] = mapped_column(nullable=True)
    budget_approval_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Phases per state bucket (runs.states.BUCKETS), kept in step with every phase change.
    phases_pending: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    phases_in_progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    phases_completed: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    phases_failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    phases_skipped: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    tiers: Mapped[list[Tier]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="Tier.tier_index"
    )
    phases: Mapped[list[Phase]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="Phase.phase_index"
    )

    @property
    def run_id(self) -> str:
        """The reference's synonym for `id`."""
        return self.id


class Tier(Base):
    """A tier groups phases of a run."""

    __tablename__ = "tiers"
    __table_args__ = (UniqueConstraint("run_id", "tier_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tier_id: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tier_index: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(32), nullable=False, default="PENDING")
    token_cap: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ci_run_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_minor_issues_tolerated: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_major_issues_tolerated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_used: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    ci_runs_used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    minor_issues_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    major_issues_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cleanliness: Mapped[str] = mapped_column(String(32), nullable=False, default="clean")
    # Phases per state bucket (runs.states.BUCKETS), kept in step with every phase change.
    phases_pending: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    phases_in_progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    phases_completed: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    phases_failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    phases_skipped: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)

    run: Mapped[Run] = relationship(back_populates="tiers")
    phases: Mapped[list[Phase]] = relationship(
        back_populates="tier", order_by="Phase.phase_index", viewonly=True
    )


class Phase(Base):
    """One unit of work inside a tier."""

    __tablename__ = "phases"
    __table_args__ = (
        UniqueConstraint("run_id", "phase_id"),
        Index("ix_phases_run_id_phase_index", "run_id", "phase_index"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phase_id: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)
    tier_id: Mapped[int] = mapped_column(
        ForeignKey("tiers.id", ondelete="CASCADE"), nullable=False, index=True
    )
    phase_index: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(32), nullable=False, default="QUEUED")
    task_category: Mapped[str | None] = mapped_column(String(128), nullable=True)
    complexity: Mapped[str | None] = mapped_column(String(64), nullable=True)
    builder_mode: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scope: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    intention_refs: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    max_builder_attempts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_auditor_attempts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    incident_token_cap: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    builder_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    auditor_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_used: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    minor_issues_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    major_issues_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    issue_state: Mapped[str] = mapped_column(String(32), nullable=False, default="no_issues")
    quality_level: Mapped[str | None] = mapped_column(String(32), nullable=True)
    quality_blocked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    retry_attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    revision_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    escalation_level: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_attempt_timestamp: Mapped[datetime | None] = mapped_column(nullable=True)
    last_failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # What the executor last reported (the latest builder result's counts, the latest auditor verdict),
    # written by the transaction that stores each result, so GET /runs/{run_id} shows it without
    # reading the result tables (migration 0029). A null status and verdict: nothing reported yet.
    last_builder_status: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_builder_files_changed: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                                            server_default="0")
    last_builder_lines_added: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    last_builder_lines_removed: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                                            server_default="0")
    last_builder_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    last_auditor_verdict: Mapped[str | None] = mapped_column(String(64), nullable=True)

    run: Mapped[Run] = relationship(back_populates="phases")
    tier: Mapped[Tier] = relationship(back_populates="phases")


class RunEvent(Base):
    """One state transition of a run, tier or phase: the feed for streams and the dashboard."""

    __tablename__ = "run_events"
    __table_args__ = (Index("ix_run_events_run_id_id", "run_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)
    phase_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tier_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    entity: Mapped[str] = mapped_column(String(16), nullable=False)  # run | tier | phase
    from_state: Mapped[str | None] = mapped_column(String(64), nullable=True)
    to_state: Mapped[str] = mapped_column(String(64), nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False, default="api")
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)


class RunTotals(Base):
    """How many runs exist (one row, id 1), kept by database triggers on `runs`: a count without a scan."""

    __tablename__ = "run_totals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    runs: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
