"""The control plane's event log: one row per thing that happened, read by the event streams."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, JSONType, utcnow

# BIGINT on PostgreSQL; SQLite only autoincrements an INTEGER PRIMARY KEY (a 64-bit rowid anyway).
EventId = BigInteger().with_variant(Integer(), "sqlite")


class Event(Base):
    """One event; `id` grows in commit order (events.log takes care of that on PostgreSQL)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_run_id_id", "run_id", "id"),
                      Index("ix_events_tenant_id_id", "tenant_id", "id"),
                      # SQLite would otherwise reuse the ids of deleted newest rows: a resuming reader
                      # must never see an id twice.
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)
    run_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tenant_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
