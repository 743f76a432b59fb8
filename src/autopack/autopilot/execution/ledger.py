"""The platform request ledger (`platform_requests`): what was sent for an action, and what came back."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from autopack.autopilot.execution.adapters.base import PlannedChange
from autopack.autopilot.execution.service import entity_of
from autopack.db.base import utcnow
from autopack.db.models import AutopilotAction
from autopack.db.models.campaigns import PlatformRequest


def fingerprint(change: PlannedChange) -> str:
    """SHA-256 of the exact request (entity, field, target)."""
    return hashlib.sha256(orjson.dumps(change.as_dict(), option=orjson.OPT_SORT_KEYS)).hexdigest()


def get(session: Session, action_id: str) -> PlatformRequest | None:
    """The ledger row of an action, if a request was ever prepared for it."""
    return session.scalar(select(PlatformRequest).where(PlatformRequest.action_id == action_id)
                          .execution_options(populate_existing=True))


def mark_sent(session: Session, action: AutopilotAction, adapter: str, change: PlannedChange,
              claim_token: str) -> PlatformRequest:
    """Record, before sending, that a request is about to leave (state `sent`); flushes."""
    row = get(session, action.id)
    if row is None:
        row = PlatformRequest(action_id=action.id, tenant_id=action.tenant_id, platform=action.platform,
                              adapter=adapter, idempotency_key=action.id, attempts=0)
        session.add(row)
    row.fingerprint, row.request, row.state = fingerprint(change), change.as_dict(), "sent"
    row.attempts, row.claim_token, row.error, row.updated_at = (row.attempts or 0) + 1, claim_token, None, utcnow()
    session.flush()
    return row


def finish(session: Session, action_id: str, state: str, *, response: dict[str, Any] | None = None,
           error: str | None = None) -> None:
    """Move the row to `confirmed` or `failed` with the response summary or error (no secrets)."""
    session.execute(update(PlatformRequest).where(PlatformRequest.action_id == action_id)
                    .values(state=state, response_summary=response, error=error, updated_at=utcnow())
                    .execution_options(synchronize_session=False))


def change_of(row: PlatformRequest, action: AutopilotAction) -> PlannedChange:
    """The change a ledger row recorded (to reconcile an interrupted request)."""
    request = row.request or {}
    return PlannedChange(entity_of(action), request.get("action_type", action.action_type),
                         request.get("field", "daily_budget"), request.get("value"))
