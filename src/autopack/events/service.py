"""Reading the event log for the streams, and pruning it past its retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import Event, Run
from autopack.db.scope import scoped

PAGE = 500
PRUNE_BATCH = 1000


def run_exists(run_id: str) -> bool:
    """True when the run is known."""
    with session_scope(writer=False) as session:
        return session.scalar(select(Run.id).where(Run.id == run_id)) is not None


def event_document(event: Event) -> dict[str, Any]:
    """The `data:` of a message."""
    return {"id": event.id, "type": event.type, "created_at": event.created_at.isoformat(),
            "run_id": event.run_id, "tenant_id": event.tenant_id, "payload": event.payload}


def events_after(after_id: int, *, run_id: str | None = None, tenant_id: int | None = None,
                 limit: int = PAGE) -> list[dict[str, Any]]:
    """The next events after `after_id` in id order, for one run, one tenant, or all.

    Each call opens and closes its own read session: an idle stream holds no pooled connection.
    """
    stmt = select(Event) if tenant_id is None else scoped(select(Event), tenant_id)
    if run_id is not None:
        stmt = stmt.where(Event.run_id == run_id)
    stmt = stmt.where(Event.id > after_id).order_by(Event.id).limit(limit)
    with session_scope(writer=False) as session:
        return [event_document(e) for e in session.scalars(stmt)]


def prune_events(now=None, *, batch: int = PRUNE_BATCH) -> int:
    """Delete events older than AUTOPACK_EVENTS_RETENTION_DAYS; how many this call deleted.

    Batches are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so instances pruning at the same
    time share the work instead of waiting on each other; idle ticks only read.
    """
    cutoff = (now or utcnow()) - timedelta(days=get_settings().events_retention_days)
    old = select(Event.id).where(Event.created_at < cutoff)
    deleted = 0
    while True:
        with session_scope(writer=False) as session:
            if session.scalar(old.limit(1)) is None:
                return deleted
        with session_scope() as session:
            ids = session.scalars(old.order_by(Event.id).limit(batch).with_for_update(skip_locked=True)).all()
            if ids:
                session.execute(delete(Event).where(Event.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted
