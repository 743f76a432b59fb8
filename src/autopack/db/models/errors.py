"""Error reports written by the global exception handler."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, JSONType, utcnow


class ErrorReport(Base):
    """A redacted report of one unhandled error (no foreign key: the run may not exist)."""

    __tablename__ = "error_reports"
    __table_args__ = (Index("ix_error_reports_run_id_created_at", "run_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    error_id: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    run_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    phase_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    component: Mapped[str] = mapped_column(String(64), nullable=False, default="api")
    operation: Mapped[str] = mapped_column(Text, nullable=False)
    error_type: Mapped[str] = mapped_column(String(255), nullable=False)
    error_message: Mapped[str] = mapped_column(Text, nullable=False)
    report: Mapped[dict] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
