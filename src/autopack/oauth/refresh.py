"""One claimed refresh: bounded retries with backoff, then the bookkeeping the health table reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from autopack.audit import service as audit
from autopack.core.database import on_commit, session_scope
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import OAuthCredential
from autopack.oauth import crypto
from autopack.oauth.events import record_event
from autopack.oauth.handlers import AttemptResult, RefreshCredential, get_handler, notify_pause
from autopack.oauth.health import MAX_CONSECUTIVE_FAILURES

log = get_logger(__name__)
WORKER_ACTOR = "system:oauth-refresh-worker"


class LeaseLost(Exception):
    """The claim is gone (lease expired and reclaimed, credential removed or re-registered)."""


class Stopping(Exception):
    """The worker is shutting down in the middle of a refresh."""


@dataclass(frozen=True)
class RefreshPolicy:
    """Timing of one refresh: backoff base, cap on any wait, HTTP timeout, claim lease."""

    backoff_seconds: float
    max_wait_seconds: float
    timeout_seconds: float
    lease_seconds: float

    @classmethod
    def from_settings(cls) -> RefreshPolicy:
        """The policy configured through AUTOPACK_OAUTH_REFRESH_* settings."""
        s = get_settings()
        return cls(s.oauth_refresh_backoff_seconds, s.oauth_refresh_max_wait_seconds,
                   s.oauth_refresh_timeout_seconds, s.oauth_refresh_lease_seconds)

    def delay(self, attempt: int, outcome: AttemptResult) -> float:
        """Wait before the next attempt: Retry-After (or twice the backoff) when rate limited, capped."""
        backoff = self.backoff_seconds * (2 ** attempt)
        if outcome.result == "rate_limited":
            wait = outcome.retry_after if outcome.retry_after is not None else backoff * 2
        else:
            wait = backoff
        return min(wait, self.max_wait_seconds)


@dataclass(frozen=True)
class Claim:
    """A refresh request this process holds the lease on."""

    credential_id: int
    provider: str
    token: str
    claimed_at: datetime
    max_retries: int
    reclaimed: bool
    credential: RefreshCredential | None  # None when the stored secrets cannot be decrypted


def _held(session: Session, claim: Claim) -> OAuthCredential | None:
    query = select(OAuthCredential).where(OAuthCredential.id == claim.credential_id,
                                          OAuthCredential.claim_token == claim.token)
    return session.scalars(query.with_for_update()).one_or_none()


def extend_lease(claim: Claim, seconds: float) -> None:
    """Keep the claim for `seconds` more; LeaseLost when it is no longer ours."""
    with session_scope() as session:
        cred = _held(session, claim)
        if cred is None:
            raise LeaseLost(claim.provider)
        cred.claim_expires_at = utcnow() + timedelta(seconds=seconds)


def _release(cred: OAuthCredential, claim: Claim) -> None:
    # A refresh requested while this one ran is served by another run, as the reference would.
    requested_again = cred.refresh_requested_at is not None and cred.refresh_requested_at > claim.claimed_at
    cred.refresh_state = "requested" if requested_again else "idle"
    cred.claim_token = cred.claim_expires_at = None
    cred.updated_at = utcnow()


def release_claim(claim: Claim) -> None:
    """Give an unfinished claim back so another worker picks the request up."""
    with session_scope() as session:
        cred = _held(session, claim)
        if cred is not None:
            cred.refresh_state, cred.claim_token, cred.claim_expires_at = "requested", None, None


def _event(provider: str, event_type: str, result: str | None = None, **details) -> None:
    with session_scope() as session:
        record_event(session, provider, event_type, result, details)


def finish_refresh(claim: Claim, outcome: AttemptResult, attempts: int, *, exhausted: bool) -> str:
    """Record the outcome on the credential (if the claim is still ours), its events, and release."""
    with session_scope() as session:
        cred = _held(session, claim)
        if cred is None:
            log.warning("oauth_refresh_result_discarded", provider=claim.provider, result=outcome.result)
            return outcome.result
        now = utcnow()
        cred.last_refresh, cred.last_refresh_result, cred.last_error = now, outcome.result, outcome.error
        if outcome.success:
            cred.access_token_encrypted = crypto.encrypt(outcome.access_token)
            if outcome.refresh_token:
                cred.refresh_token_encrypted = crypto.encrypt(outcome.refresh_token)
            has_expiry = outcome.expires_in is not None
            cred.expires_at = now + timedelta(seconds=outcome.expires_in) if has_expiry else None
            cred.consecutive_failures = 0
            cred.total_refreshes += 1
            record_event(session, claim.provider, "refresh_success", details={
                "attempts": attempts, "expires_at": cred.expires_at.isoformat() if cred.expires_at else None,
                "refresh_token_rotated": bool(outcome.refresh_token)})
        else:
            cred.consecutive_failures += 1
            cred.total_failures += 1
            details = {"attempts": attempts, "consecutive_failures": cred.consecutive_failures,
                       "http_status": outcome.http_status, "error": outcome.error}
            record_event(session, claim.provider, "refresh_exhausted" if exhausted else "refresh_failed",
                         outcome.result, details)
            if cred.consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                reason = "max_consecutive_failures_reached"
                pause = {"reason": reason, "consecutive_failures": cred.consecutive_failures}
                record_event(session, claim.provider, "pause_triggered", details=pause)
                audit.append_event(session, action="oauth.pause_triggered", actor=WORKER_ACTOR,
                                   target_type="oauth_credential", target_id=claim.provider, details=pause)
                on_commit(session, lambda: notify_pause(claim.provider, reason))
        _release(cred, claim)
    return outcome.result


def run_refresh(claim: Claim, policy: RefreshPolicy, wait: Callable[[float], bool]) -> str:
    """Refresh a claimed credential: up to max_retries+1 attempts; `wait(s)` is True when stopping."""
    handler = get_handler(claim.provider)
    outcome = AttemptResult("unknown_error", error="no_attempt")
    attempts = 0
    for attempt in range(claim.max_retries + 1):
        extend_lease(claim, policy.timeout_seconds + policy.lease_seconds)
        attempts = attempt + 1
        extra = {"reclaimed": True} if claim.reclaimed and attempt == 0 else {}
        _event(claim.provider, "refresh_attempt", attempt=attempts, max_retries=claim.max_retries, **extra)
        try:
            outcome = handler(claim.credential, policy.timeout_seconds)
        except Exception as exc:  # noqa: BLE001 - a custom handler's bug is an unknown_error
            log.warning("oauth_refresh_handler_error", provider=claim.provider, error_type=type(exc).__name__)
            outcome = AttemptResult("unknown_error", error=type(exc).__name__)
        if outcome.success or not outcome.retryable:
            return finish_refresh(claim, outcome, attempts, exhausted=False)
        if attempt == claim.max_retries:
            break
        delay = policy.delay(attempt, outcome)
        _event(claim.provider, "rate_limited" if outcome.result == "rate_limited" else "refresh_retry",
               outcome.result, attempt=attempts, wait_seconds=delay, http_status=outcome.http_status,
               error=outcome.error)
        extend_lease(claim, delay + policy.timeout_seconds + policy.lease_seconds)
        if wait(delay):
            raise Stopping(claim.provider)
    return finish_refresh(claim, outcome, attempts, exhausted=True)
