"""Fixtures for the OAuth credential tests: fast refresh timing, a fake token server, users, helpers."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from autopack.db.models import OAuthCredential, OAuthCredentialEvent
from autopack.oauth import service
from autopack.oauth.refresh import RefreshPolicy
from autopack.oauth.schemas import CredentialCreate
from autopack.oauth.worker import OAuthRefreshWorker
from tests.oauth.fake_token_server import FakeTokenServer

CLIENT_SECRET = "cs-Sup3rS3cretClientValue"
REFRESH_TOKEN = "rt-0riginalRefreshTokenValue"
ACCESS_TOKEN = "at-0riginalAccessTokenValue"
SECRETS = (CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN)


@pytest.fixture(autouse=True)
def oauth_settings(monkeypatch):
    """No background worker (tests drive it), millisecond backoff, short timeouts."""
    for name, value in {
        "AUTOPACK_OAUTH_REFRESH_WORKER": "0",
        "AUTOPACK_OAUTH_REFRESH_BACKOFF_SECONDS": "0.01",
        "AUTOPACK_OAUTH_REFRESH_MAX_WAIT_SECONDS": "0.3",
        "AUTOPACK_OAUTH_REFRESH_TIMEOUT_SECONDS": "2",
        "AUTOPACK_OAUTH_REFRESH_LEASE_SECONDS": "30",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def token_server():
    """A fake token endpoint; script it with `token_server.queue(...)`."""
    server = FakeTokenServer().start()
    yield server
    server.stop()


def register(provider: str = "github", *, token_url: str = "http://127.0.0.1:9/token",
             refresh_token: str | None = REFRESH_TOKEN, **fields) -> None:
    """Register a credential through the service, in its own committed transaction."""
    data = {"provider": provider, "token_url": token_url, "client_id": "client-1",
            "client_secret": CLIENT_SECRET, "access_token": ACCESS_TOKEN, "refresh_token": refresh_token,
            "scopes": ["repo", "read:user"], **fields}
    with session_scope() as session:
        service.register_credential(session, CredentialCreate.model_validate(data), actor="test")


def set_fields(provider: str, **values) -> None:
    """Write columns of a stored credential directly (times, counters, results)."""
    with session_scope() as session:
        cred = session.scalars(select(OAuthCredential).where(OAuthCredential.provider == provider)).one()
        for name, value in values.items():
            setattr(cred, name, value)


def credential(provider: str) -> OAuthCredential:
    """The stored row (detached, loaded fresh)."""
    with session_scope(writer=False) as session:
        return session.scalars(select(OAuthCredential).where(OAuthCredential.provider == provider)).one()


def events(provider: str | None = None) -> list[tuple[str, str | None]]:
    """(event_type, result) of every stored event, in order."""
    with session_scope(writer=False) as session:
        query = select(OAuthCredentialEvent).order_by(OAuthCredentialEvent.id)
        if provider:
            query = query.where(OAuthCredentialEvent.provider == provider)
        return [(e.event_type, e.result) for e in session.scalars(query)]


def request_refresh(provider: str = "github", max_retries: int = 3) -> None:
    """Queue a refresh as POST /refresh does."""
    with session_scope() as session:
        service.request_refresh(session, provider, max_retries=max_retries, actor="test")


def health(provider: str, now: datetime | None = None) -> dict:
    """CredentialHealth of `provider` at `now`."""
    with session_scope(writer=False) as session:
        return service.provider_health(session, provider, now)


@pytest.fixture
def worker():
    """A refresh worker driven by `run_once()` (no thread)."""
    return OAuthRefreshWorker(poll_seconds=0.05, policy=RefreshPolicy.from_settings())
