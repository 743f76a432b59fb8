"""Reading the event log for the streams, and pruning it past its retention."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import Select, delete, func, select

from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import Event, Run
from autopack.db.scope import belongs_to, scoped

PAGE = 500
PRUNE_BATCH = 1000
_COLUMNS = (Event.id, Event.type, Event.created_at, Event.run_id, Event.tenant_id, Event.payload)


class Message(NamedTuple):
    """One event, encoded once as its SSE message, with what the stream filters look at."""

    id: int
    run_id: str | None
    tenant_id: int | None
    text: str


@dataclass(frozen=True)
class EventFilter:
    """Which events a stream gets: one run's, one tenant's, or (neither given) all of them.

    The same rule twice: as SQL for a stream's own backlog read, and as a predicate for the events
    the shared poller (events/hub.py) has read once for every stream.
    """

    run_id: str | None = None
    tenant_id: int | None = None

    def statement(self) -> Select:
        """`SELECT` of the matching events' columns (add the id bound, order and limit)."""
        stmt = select(*_COLUMNS)
        if self.tenant_id is not None:
            stmt = scoped(stmt, self.tenant_id)
        if self.run_id is not None:
            stmt = stmt.where(Event.run_id == self.run_id)
        return stmt

    def matches(self, message: Message) -> bool:
        """The statement's WHERE, evaluated in memory."""
        if self.tenant_id is not None and not belongs_to(message.tenant_id, self.tenant_id):
            return False
        return self.run_id is None or message.run_id == self.run_id


ALL_EVENTS = EventFilter()


def run_exists(run_id: str) -> bool:
    """True when the run is known."""
    with session_scope(writer=False) as session:
        return session.scalar(select(Run.id).where(Run.id == run_id)) is not None


def event_document(event: Event) -> dict[str, Any]:
    """The `data:` of a message."""
    return {"id": event.id, "type": event.type, "created_at": event.created_at.isoformat(),
            "run_id": event.run_id, "tenant_id": event.tenant_id, "payload": event.payload}


def message(document: dict[str, Any]) -> str:
    """One SSE message: `id:`, `event:` and `data:` (JSON on one line)."""
    data = json.dumps(document, separators=(",", ":"))
    return f"id: {document['id']}\nevent: {document['type']}\ndata: {data}\n\n"


def messages_after(after_id: int, selection: EventFilter = ALL_EVENTS, *, limit: int = PAGE) -> list[Message]:
    """The next matching events after `after_id` in id order, each encoded as its SSE message.

    One short read session per call: nothing holds a pooled connection between calls.
    """
    stmt = selection.statement().where(Event.id > after_id).order_by(Event.id).limit(limit)
    with session_scope(writer=False) as session:
        rows = session.execute(stmt).all()
    return [Message(row.id, row.run_id, row.tenant_id, message(event_document(row))) for row in rows]


def newest_event_id() -> int:
    """The highest event id stored (0 when there is none): where the shared poller starts."""
    with session_scope(writer=False) as session:
        return session.scalar(select(func.max(Event.id))) or 0


def events_after(after_id: int, *, run_id: str | None = None, tenant_id: int | None = None,
                 limit: int = PAGE) -> list[dict[str, Any]]:
    """The next events after `after_id` in id order, for one run, one tenant, or all.

    Each call opens and closes its own read session: an idle stream holds no pooled connection.
    """
    selection = EventFilter(run_id=run_id, tenant_id=tenant_id)
    stmt = selection.statement().where(Event.id > after_id).order_by(Event.id).limit(limit)
    with session_scope(writer=False) as session:
        return [event_document(row) for row in session.execute(stmt)]


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
