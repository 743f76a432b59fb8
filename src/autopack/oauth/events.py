"""The credential event log: persisted rows, read back as the reference's event dicts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from autopack.core.logging import get_logger
from autopack.db.base import utcnow
from autopack.db.models import OAuthCredentialEvent

log = get_logger(__name__)

EVENT_TYPES = frozenset({
    "registered", "removed", "refresh_requested", "refresh_attempt", "refresh_success", "refresh_failed",
    "rate_limited", "refresh_retry", "refresh_exhausted", "pause_triggered", "failure_count_reset",
})


def record_event(session: Session, provider: str, event_type: str, result: str | None = None,
                 details: dict | None = None) -> OAuthCredentialEvent:
    """Append an event in the caller's transaction; `details` must never hold a secret."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown credential event type: {event_type}")
    event = OAuthCredentialEvent(provider=provider, event_type=event_type, result=result,
                                 details=dict(details or {}), timestamp=utcnow())
    session.add(event)
    session.flush()
    log.info("oauth_credential_event", provider=provider, event_type=event_type, result=result)
    return event


def event_dict(event: OAuthCredentialEvent) -> dict:
    """The reference's event shape, plus `id` (the cursor for `before_id`)."""
    return {
        "id": event.id,
        "timestamp": event.timestamp.isoformat(),
        "provider": event.provider,
        "event_type": event.event_type,
        "result": event.result,
        "details": event.details or {},
    }


def recent_events(session: Session, *, provider: str | None = None, limit: int = 100,
                  before_id: int | None = None) -> list[dict]:
    """The last `limit` events (optionally of one provider, older than `before_id`), oldest first."""
    query = select(OAuthCredentialEvent)
    if provider is not None:
        query = query.where(OAuthCredentialEvent.provider == provider)
    if before_id is not None:
        query = query.where(OAuthCredentialEvent.id < before_id)
    rows = session.scalars(query.order_by(OAuthCredentialEvent.id.desc()).limit(limit)).all()
    return [event_dict(row) for row in reversed(rows)]
