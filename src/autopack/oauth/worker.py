"""The credential refresh worker: claims requested refreshes through the database and runs them.

Claims are leases: a conditional UPDATE moves a row from `requested` (or `running` with an
expired lease) to `running` with a fresh claim token, so any number of app instances process
each request once. A worker that dies leaves a lease that expires and is reclaimed.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from autopack.core.database import session_scope
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings
from autopack.core.workers import PollingWorker
from autopack.db.base import utcnow
from autopack.db.models import OAuthCredential
from autopack.oauth import crypto
from autopack.oauth.handlers import AttemptResult, RefreshCredential
from autopack.oauth.refresh import (
    Claim,
    LeaseLost,
    RefreshPolicy,
    Stopping,
    finish_refresh,
    release_claim,
    run_refresh,
)

log = get_logger(__name__)
CANDIDATES_PER_POLL = 10


def _claimable(now: datetime):
    expired = or_(OAuthCredential.claim_expires_at.is_(None), OAuthCredential.claim_expires_at < now)
    return or_(OAuthCredential.refresh_state == "requested",
               and_(OAuthCredential.refresh_state == "running", expired))


def _refresh_credential(cred: OAuthCredential) -> RefreshCredential | None:
    try:
        return RefreshCredential(
            provider=cred.provider, token_url=cred.token_url, client_id=cred.client_id,
            scopes=tuple(cred.scopes or ()), client_secret=crypto.decrypt(cred.client_secret_encrypted),
            refresh_token=crypto.decrypt(cred.refresh_token_encrypted))
    except crypto.CredentialDecryptError:
        log.error("oauth_secret_not_decryptable", provider=cred.provider)
        return None


def claim_next(lease_seconds: float) -> Claim | None:
    """Atomically claim the oldest pending (or abandoned) refresh request; None when there is none."""
    with session_scope(writer=False) as session:  # cheap check first: no write lock while idle
        ids = session.scalars(
            select(OAuthCredential.id).where(_claimable(utcnow()))
            .order_by(OAuthCredential.refresh_requested_at, OAuthCredential.id).limit(CANDIDATES_PER_POLL)
        ).all()
    if not ids:
        return None
    with session_scope() as session:
        for credential_id in ids:
            now = utcnow()
            previous = session.scalar(
                select(OAuthCredential.refresh_state).where(OAuthCredential.id == credential_id))
            token = secrets.token_hex(16)
            claimed = session.execute(
                update(OAuthCredential)
                .where(OAuthCredential.id == credential_id, _claimable(now))
                .values(refresh_state="running", claim_token=token, updated_at=now,
                        claim_expires_at=now + timedelta(seconds=lease_seconds))
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed != 1:
                continue  # another worker got there first
            cred = session.get(OAuthCredential, credential_id, populate_existing=True)
            return Claim(credential_id=credential_id, provider=cred.provider, token=token, claimed_at=now,
                         max_retries=cred.refresh_max_retries, reclaimed=previous == "running",
                         credential=_refresh_credential(cred))
    return None


class OAuthRefreshWorker:
    """Polls for requested refreshes and runs them (a PollingWorker supplies the thread)."""

    def __init__(self, *, poll_seconds: float | None = None, policy: RefreshPolicy | None = None):
        if poll_seconds is None:
            poll_seconds = get_settings().oauth_refresh_poll_seconds
        self.policy = policy or RefreshPolicy.from_settings()
        self._poller = PollingWorker("oauth-refresh-worker", self.run_once, poll_seconds)
        self._stop = self._poller.stopping

    def process(self, claim: Claim) -> str | None:
        """Run one claimed refresh; None when it was handed back or lost."""
        try:
            if claim.credential is None:
                outcome = AttemptResult("unknown_error", retryable=False, error="secret_not_decryptable")
                return finish_refresh(claim, outcome, 0, exhausted=False)
            return run_refresh(claim, self.policy, self._stop.wait)
        except Stopping:
            release_claim(claim)
        except LeaseLost:
            log.warning("oauth_refresh_lease_lost", provider=claim.provider)
        return None

    def run_once(self) -> int:
        """Claim and run pending refreshes until none is left (or stopping); the number run."""
        done = 0
        while not self._stop.is_set():
            claim = claim_next(self.policy.lease_seconds)
            if claim is None:
                break
            self.process(claim)
            done += 1
        return done

    def start(self) -> OAuthRefreshWorker:
        """Start polling in a daemon thread."""
        self._poller.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling; a refresh waiting on backoff hands its claim back."""
        self._poller.stop(timeout)


def start_refresh_worker() -> OAuthRefreshWorker | None:
    """Start the worker unless AUTOPACK_OAUTH_REFRESH_WORKER=0 (the app lifespan calls this)."""
    if not get_settings().oauth_refresh_worker_enabled:
        return None
    return OAuthRefreshWorker().start()
