"""Issue tracking: per-phase issues, the run index and the project backlog."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, JSONType, utcnow


class PhaseIssue(Base):
    """A distinct issue key recorded against a phase."""

    __tablename__ = "phase_issues"
    __table_args__ = (UniqueConstraint("run_id", "phase_id", "issue_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)
    phase_id: Mapped[str] = mapped_column(String(128), nullable=False)
    issue_key: Mapped[str] = mapped_column(String(255), nullable=False)
    severity: Mapped[str] = mapped_column(String(64), nullable=False)
    effective_severity: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(String(128), nullable=False)
    category: Mapped[str] = mapped_column(String(128), nullable=False)
    task_category: Mapped[str | None] = mapped_column(String(128), nullable=True)
    complexity: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expected_fail: Mapped[bool] = mapped_column(default=False, nullable=False)
    occurrence_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    first_seen_run: Mapped[str] = mapped_column(String(128), nullable=False)
    last_seen_run: Mapped[str] = mapped_column(String(128), nullable=False)
    evidence_refs: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


class RunIssueIndex(Base):
    """One entry of a run's issue index, keyed by issue key."""

    __tablename__ = "run_issue_index"
    __table_args__ = (UniqueConstraint("run_id", "issue_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)
    issue_key: Mapped[str] = mapped_column(String(255), nullable=False)
    category: Mapped[str] = mapped_column(String(128), nullable=False)
    severity: Mapped[str] = mapped_column(String(64), nullable=False)
    effective_severity: Mapped[str] = mapped_column(String(64), nullable=False)
    first_phase_index: Mapped[int] = mapped_column(Integer, nullable=False)
    last_phase_index: Mapped[int] = mapped_column(Integer, nullable=False)
    occurrence_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    seen_in_tiers: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    seen_in_phases: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, onupdate=utcnow)


class ProjectIssueBacklog(Base):
    """One entry of the project backlog: an issue key across runs."""

    __tablename__ = "project_issue_backlog"
    __table_args__ = (UniqueConstraint("project_id", "issue_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(128), nullable=False)
    issue_key: Mapped[str] = mapped_column(String(255), nullable=False)
    category: Mapped[str] = mapped_column(String(128), nullable=False)
    base_severity: Mapped[str] = mapped_column(String(64), nullable=False)
    age_in_runs: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    age_in_tiers: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    occurrence_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    first_seen_run_id: Mapped[str] = mapped_column(String(128), nullable=False)
    last_seen_run_id: Mapped[str] = mapped_column(String(128), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)
    seen_in_runs: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    seen_in_tiers: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="open")
