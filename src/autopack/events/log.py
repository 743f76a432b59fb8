"""The event writer every area calls: `record(session, type, ...)` in the transaction of the change.

Events are held on the session and inserted just before it commits. On PostgreSQL that insert first
takes a transaction-scoped advisory lock, so event ids are drawn in commit order: sequence values
would otherwise become visible out of order (a transaction holding id 10 may commit after one holding
id 11, and a reader resuming "after 11" would never see 10). Taking the lock at the very end, when the
transaction wants no other lock, keeps it short and free of deadlocks. SQLite serialises writers anyway.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session, SessionTransaction

from autopack.core import statements
from autopack.core.database import on_commit
from autopack.db.base import utcnow
from autopack.db.models import Event
from autopack.events import wakeup

PENDING_KEY = "autopack_pending_events"
# pg_advisory_xact_lock key of the event writers ("autopack events", any constant works).
ADVISORY_LOCK_KEY = 0x6175_746F_6576_7473
_INSERT = insert(Event)


def _plain(payload: dict[str, Any] | None) -> dict[str, Any]:
    # Payloads are small JSON: datetimes, decimals and enums become their text.
    return json.loads(json.dumps(payload or {}, default=str))


def record(session: Session, type: str, *, run_id: str | None = None, tenant_id: int | None = None,
           payload: dict[str, Any] | None = None) -> None:
    """Log an event; it is written when (and only if) the session's transaction commits."""
    session.info.setdefault(PENDING_KEY, []).append(
        {"type": type, "created_at": utcnow(), "run_id": run_id, "tenant_id": tenant_id, "payload": _plain(payload)})


def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint ending (it fires this hook too): the events wait for the real commit
    pending = session.info.pop(PENDING_KEY, [])
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    statements.execute_many(session.connection(), _INSERT, pending)  # one executemany, no unit of work
    on_commit(session, wakeup.publish)


def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    # Only the outer transaction's end (a rollback; a commit already took them): a savepoint rolled
    # back inside it (a lost insert race) must not take the events of the whole transaction along.
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


# Once for every session (a listener added per session cost more than the insert it triggers).
event.listen(Session, "before_commit", _write_pending)
event.listen(Session, "after_transaction_end", _drop_pending)
