"""OAuth credential health: registration, health, events, refresh requests and resets.

Services only flush; the request session (or the worker's session_scope) commits. Every write to a
credential row locks it first (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite), so requests
and refresh workers never overwrite each other's changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.audit import service as audit
from autopack.core.errors import BadRequest, Conflict, NotFound, Unprocessable
from autopack.db.base import utcnow
from autopack.db.models import OAuthCredential
from autopack.oauth import crypto
from autopack.oauth.events import recent_events, record_event
from autopack.oauth.health import credential_health, unknown_health
from autopack.oauth.schemas import CredentialCreate

RECENT_EVENTS_IN_REPORT = 20


def audit_change(session: Session, action: str, actor: str, provider: str,
                 details: dict | None = None) -> None:
    """Record a credential change in the audit ledger, last in the transaction that makes it."""
    audit.append_event(session, action=f"oauth.{action}", actor=actor, target_type="oauth_credential",
                       target_id=provider, details=details or {})


def not_found(provider: str) -> NotFound:
    """The reference's 404 for an unknown provider."""
    return NotFound(f"No credential found for provider: {provider}")


def get_credential(session: Session, provider: str, *, lock: bool = False) -> OAuthCredential | None:
    """The stored credential of `provider` (row-locked when `lock`)."""
    query = select(OAuthCredential).where(OAuthCredential.provider == provider)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def register_credential(session: Session, data: CredentialCreate, *, actor: str) -> OAuthCredential:
    """Store (or replace) a provider's credential, secrets encrypted; event `registered`."""
    now = utcnow()
    expires_at = _aware(data.expires_at)
    if data.expires_in_seconds is not None:
        if expires_at is not None:
            raise Unprocessable("Give expires_at or expires_in_seconds, not both")
        expires_at = now + timedelta(seconds=data.expires_in_seconds)
    cred = get_credential(session, data.provider, lock=True)
    replaced = cred is not None
    if cred is None:
        cred = OAuthCredential(provider=data.provider, created_at=now)
    # A replacement starts a new credential history: counters, results and any claim are reset.
    cred.token_url, cred.client_id, cred.scopes = data.token_url, data.client_id, list(data.scopes)
    cred.client_secret_encrypted = crypto.encrypt(data.client_secret)
    cred.access_token_encrypted = crypto.encrypt(data.access_token)
    cred.refresh_token_encrypted = crypto.encrypt(data.refresh_token)
    cred.expires_at = expires_at
    cred.last_refresh = cred.last_refresh_result = cred.last_error = None
    cred.consecutive_failures = cred.total_refreshes = cred.total_failures = 0
    cred.refresh_state, cred.refresh_max_retries = "idle", 3
    cred.refresh_requested_at = cred.refresh_requested_by = None
    cred.claim_token = cred.claim_expires_at = None
    cred.updated_at = now
    try:
        with session.begin_nested():
            session.add(cred)
    except IntegrityError:  # a concurrent registration of the same new provider won
        raise Conflict(f"Credential for provider {data.provider} was registered concurrently; "
                       "retry") from None
    record_event(session, data.provider, "registered", details={"replaced": replaced, "by": actor})
    audit_change(session, "credential_registered", actor, data.provider, {"replaced": replaced})
    return cred


def remove_credential(session: Session, provider: str, *, actor: str) -> dict:
    """Delete a provider's credential (its events stay); event `removed`."""
    cred = get_credential(session, provider, lock=True)
    if cred is None:
        raise not_found(provider)
    session.delete(cred)
    session.flush()
    record_event(session, provider, "removed", details={"by": actor})
    audit_change(session, "credential_removed", actor, provider)
    return {"status": "success", "provider": provider, "message": f"Credential removed for {provider}"}


def credential_out(cred: OAuthCredential, now: datetime | None = None) -> dict:
    """A credential's public fields: never a secret, only whether one is stored."""
    return {
        "provider": cred.provider, "token_url": cred.token_url, "client_id": cred.client_id,
        "scopes": list(cred.scopes or []),
        "expires_at": cred.expires_at.isoformat() if cred.expires_at else None,
        "has_client_secret": cred.client_secret_encrypted is not None,
        "has_access_token": cred.access_token_encrypted is not None,
        "has_refresh_token": cred.refresh_token_encrypted is not None,
        "refresh_state": cred.refresh_state,
        "created_at": cred.created_at.isoformat(), "updated_at": cred.updated_at.isoformat(),
        "health": credential_health(cred, now or utcnow()),
    }


def provider_health(session: Session, provider: str, now: datetime | None = None) -> dict:
    """CredentialHealth of one provider; `unknown` (not 404) when none is stored."""
    cred = get_credential(session, provider)
    return credential_health(cred, now or utcnow()) if cred else unknown_health(provider)


def _all_health(session: Session, now: datetime) -> dict[str, dict]:
    creds = session.scalars(select(OAuthCredential).order_by(OAuthCredential.provider)).all()
    return {cred.provider: credential_health(cred, now) for cred in creds}


def health_report(session: Session, now: datetime | None = None) -> dict:
    """GET /health: summary, every credential's health and the last 20 events."""
    now = now or utcnow()
    health = _all_health(session, now)
    attention = sum(1 for h in health.values() if h["requires_attention"])
    return {
        "generated_at": now.isoformat(),
        "summary": {
            "total_credentials": len(health),
            "healthy_count": sum(1 for h in health.values() if h["is_healthy"]),
            "attention_required_count": attention,
            "overall_healthy": attention == 0,
        },
        "credentials": health,
        "recent_events": recent_events(session, limit=RECENT_EVENTS_IN_REPORT),
    }


def list_providers(session: Session, now: datetime | None = None) -> dict:
    """GET /providers: each provider's status in brief."""
    rows = [
        {"provider": p, "status": h["status"], "is_healthy": h["is_healthy"],
         "requires_attention": h["requires_attention"]}
        for p, h in _all_health(session, now or utcnow()).items()
    ]
    return {"providers": rows, "count": len(rows)}


def list_events(session: Session, *, provider: str | None, limit: int, before_id: int | None = None) -> dict:
    """GET /events: the last `limit` events, oldest first within the slice."""
    events = recent_events(session, provider=provider, limit=limit, before_id=before_id)
    return {"events": events, "count": len(events), "provider_filter": provider}


def request_refresh(session: Session, provider: str, *, max_retries: int, actor: str) -> dict:
    """Mark a refresh as requested; a refresh worker claims it through the database."""
    cred = get_credential(session, provider, lock=True)
    if cred is None:
        raise not_found(provider)
    if cred.refresh_token_encrypted is None:
        raise BadRequest("Credential does not have a refresh token")
    now = utcnow()
    cred.refresh_requested_at, cred.refresh_requested_by = now, actor
    cred.refresh_max_retries = max_retries
    if cred.refresh_state != "running":  # a running refresh re-queues itself when it sees this request
        cred.refresh_state = "requested"
    cred.updated_at = now
    record_event(session, provider, "refresh_requested", details={"max_retries": max_retries, "by": actor})
    audit_change(session, "refresh_requested", actor, provider, {"max_retries": max_retries})
    return {"status": "queued", "provider": provider, "max_retries": max_retries,
            "message": f"Refresh queued for {provider}"}


def reset_failure_count(session: Session, provider: str, *, actor: str) -> dict:
    """Set consecutive_failures to 0; event `failure_count_reset`."""
    cred = get_credential(session, provider, lock=True)
    if cred is None:
        raise not_found(provider)
    previous = cred.consecutive_failures
    cred.consecutive_failures = 0
    cred.updated_at = utcnow()
    record_event(session, provider, "failure_count_reset", details={"previous": previous, "by": actor})
    audit_change(session, "failure_count_reset", actor, provider, {"previous": previous})
    return {"status": "success", "provider": provider, "message": f"Failure count reset for {provider}"}
