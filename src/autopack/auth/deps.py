"""Who is calling: the principal behind a Bearer JWT or an X-API-Key, and the policies on it."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer
from sqlalchemy import bindparam, select
from starlette.concurrency import run_in_threadpool

from autopack.auth import apikeys
from autopack.auth.tokens import InvalidToken, decode_access_token
from autopack.core.database import is_sqlite, session_scope
from autopack.core.errors import AutopackError, Forbidden
from autopack.core.logging import get_logger
from autopack.core.rowread import read_row
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import ApiKey, User

log = get_logger(__name__)
INVALID_KEY = "Invalid or missing API key. Set X-API-Key header."
KEY_REQUIRED_IN_PRODUCTION = (
    "AUTOPACK_API_KEY must be configured in production mode. Set AUTOPACK_API_KEY environment variable."
)
_STATE_KEY = "autopack_principal"

# The two credentials, as OpenAPI security schemes (the /docs Authorize button). They only document:
# auto_error=False never answers a request, and resolve_principal reads the headers itself.
api_key_header = APIKeyHeader(name="X-API-Key", scheme_name="APIKey", auto_error=False,
                              description="An API key (AUTOPACK_API_KEY or one made with `autopack apikeys create`).")
bearer_jwt = HTTPBearer(scheme_name="BearerJWT", bearerFormat="JWT", auto_error=False,
                        description="An access token from POST /api/auth/login.")


async def _either_credential(_key: str | None = Security(api_key_header), _token=Security(bearer_jwt)) -> None:
    """Declares that an operation accepts an X-API-Key or a Bearer JWT (async: no worker thread)."""


async def _bearer_credential(_token=Security(bearer_jwt)) -> None:
    """Declares that an operation accepts a Bearer JWT only."""


# Sub-dependencies of the credential checks below, and of any other check that resolves the principal.
Credentials = Depends(_either_credential)
BearerCredential = Depends(_bearer_credential)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    kind: str  # "user" | "api_key" | "env_key"
    actor: str
    is_superuser: bool
    user_id: int | None = None
    username: str | None = None
    api_key_id: int | None = None
    tenant_id: int | None = None  # tenant-scoped API keys only
    role: str | None = None  # the key's role in that tenant


class AuthFailure(Exception):
    """Credentials were presented but are not acceptable."""

    def __init__(self, reason: str, scheme: str):
        super().__init__(reason)
        self.reason = reason
        self.scheme = scheme  # "bearer" | "api_key"


class NotAuthenticated(AutopackError):
    """401 with the Bearer challenge."""

    status_code = 401

    def __init__(self, detail: str = "Not authenticated"):
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthFailure("Could not validate credentials", "bearer")
    return token.strip()


def _from_api_key(raw: str) -> Principal:
    configured = get_settings().api_key
    if configured is not None and hmac.compare_digest(raw.encode(), configured.get_secret_value().encode()):
        return Principal(kind="env_key", actor="api_key:env", is_superuser=True)
    with session_scope(writer=False) as session:
        record = apikeys.lookup(session, raw)
        if record is None:
            raise AuthFailure(INVALID_KEY, "api_key")
        principal = Principal(kind="api_key", actor=f"api_key:{record.prefix}", is_superuser=record.is_superuser,
                              api_key_id=record.id, tenant_id=record.tenant_id, role=record.role)
        stale = record.last_used_at is None or utcnow() - record.last_used_at > timedelta(minutes=5)
    if stale:
        _touch_key(principal.api_key_id)
    return principal


def _touch_key(key_id: int) -> None:
    """Best effort, throttled: a failed bookkeeping write must not fail the request."""
    try:
        with session_scope(writer=True) as session:
            record = session.get(ApiKey, key_id)
            if record is not None:
                record.last_used_at = utcnow()
    except Exception as exc:  # noqa: BLE001
        log.warning("api_key_touch_failed", error=str(exc)[:100])


# Read on every request with a Bearer token: one row, no ORM session.
_TOKEN_USER = select(User.id, User.username, User.token_key, User.is_active, User.is_superuser).where(
    User.id == bindparam("user_id"))


def _from_bearer(token: str) -> Principal:
    try:
        claims = decode_access_token(token)
    except InvalidToken as exc:
        raise AuthFailure("Could not validate credentials", "bearer") from exc
    row = read_row(_TOKEN_USER, {"user_id": int(claims["sub"])})  # decode_access_token checked it is a users.id
    # the token must also carry the user's key: an id that came back names a different user
    if row is None or not hmac.compare_digest(row[2], claims["uk"]):
        raise AuthFailure("Could not validate credentials", "bearer")
    user_id, username, _, active, superuser = row
    if not active:
        raise AuthFailure("Inactive user", "bearer")
    return Principal(kind="user", actor=f"user:{username}", is_superuser=bool(superuser),
                     user_id=user_id, username=username)


def resolve_principal(request: Request) -> Principal | None:
    """The caller, None without credentials; AuthFailure when credentials are bad. Cached per request."""
    cached = request.scope.get(_STATE_KEY)
    if cached is not None:
        if isinstance(cached, AuthFailure):
            raise cached
        return cached or None
    try:
        raw_key = request.headers.get("x-api-key")
        if raw_key:
            principal = _from_api_key(raw_key)
        else:
            token = _bearer_token(request)
            principal = _from_bearer(token) if token else None
    except AuthFailure as failure:
        request.scope[_STATE_KEY] = failure
        raise
    request.scope[_STATE_KEY] = principal or False
    return principal


def optional_principal(request: Request, _: None = Credentials) -> Principal | None:
    """The caller if the credentials are good; None otherwise (open endpoints)."""
    try:
        return resolve_principal(request)
    except AuthFailure:
        return None


def require_user(request: Request, _: None = BearerCredential) -> Principal:
    """A Bearer-JWT user (reference /api/auth semantics: 401, or 400 for an inactive user)."""
    if not request.headers.get("authorization"):
        raise NotAuthenticated("Not authenticated")
    try:
        return _from_bearer(_bearer_token(request) or "")
    except AuthFailure as failure:
        if failure.reason == "Inactive user":
            raise AutopackError("Inactive user", status_code=400) from None
        raise NotAuthenticated("Could not validate credentials") from None


def require_principal(request: Request, _: None = Credentials) -> Principal:
    """Any authenticated caller (JWT or API key): 401 otherwise."""
    try:
        principal = resolve_principal(request)
    except AuthFailure as failure:
        raise NotAuthenticated(failure.reason if failure.scheme == "bearer" else INVALID_KEY) from None
    if principal is None:
        raise NotAuthenticated("Not authenticated")
    return principal


def require_superuser(request: Request, _: None = Credentials) -> Principal:
    """A superuser (user flag, superuser API key, or the AUTOPACK_API_KEY): 401 / 403 otherwise."""
    principal = require_principal(request)
    if not principal.is_superuser:
        raise Forbidden("Admin privileges required")
    return principal


def _key_configured() -> bool:
    settings = get_settings()
    if settings.is_production and settings.api_key is None:
        raise AutopackError(KEY_REQUIRED_IN_PRODUCTION, status_code=500)
    return settings.api_key is not None or settings.is_production


def verify_api_key(request: Request, _: None = Credentials) -> Principal | None:
    """Contract "Requires X-API-Key": open in development without a key, else a valid key or JWT."""
    if not _key_configured():
        return optional_principal(request)
    try:
        principal = resolve_principal(request)
    except AuthFailure:
        principal = None
    if principal is None:
        raise Forbidden(INVALID_KEY)
    return principal


def verify_write_access(request: Request, _: None = Credentials) -> Principal | None:
    """Executor writes: open in development, a key or JWT in production (DECISIONS §3.15)."""
    if get_settings().is_production:
        return verify_api_key(request)
    return optional_principal(request)


def verify_read_access(request: Request, _: None = Credentials) -> Principal | None:
    """Operator reads: open with AUTOPACK_PUBLIC_READ=1 outside production, else like verify_api_key."""
    settings = get_settings()
    if settings.public_read and not settings.is_production:
        return optional_principal(request)
    return verify_api_key(request)


def actor_of(principal: Principal | None) -> str:
    """The audit/event actor string for a possibly anonymous caller."""
    return principal.actor if principal is not None else "anonymous"


def verify_production_read(request: Request, _: None = Credentials) -> Principal | None:
    """Reads the contract leaves open: open in development, a key or JWT in production."""
    return verify_write_access(request)


def resolved_off_loop(request: Request) -> bool:
    """True when resolving the caller must leave the event loop: a stored API key (an ORM session,
    at times a write), or a user's token on PostgreSQL (a round trip to the server).

    On SQLite a token's user is one row read by primary key on the loop thread's own connection
    (tens of microseconds, never waiting on a writer in WAL mode): less than the hop to a worker thread.
    """
    if _STATE_KEY in request.scope:
        return False
    raw_key = request.headers.get("x-api-key")
    if raw_key:
        configured = get_settings().api_key
        return configured is None or not hmac.compare_digest(
            raw_key.encode(), configured.get_secret_value().encode())
    return bool(request.headers.get("authorization")) and not is_sqlite()


def on_loop(check: Callable[[Request], Principal | None]) -> Callable:
    """`check` as an async dependency: answered on the event loop unless resolving the caller must leave it.

    A sync dependency costs a worker-thread hop on every request; the hop is kept for the callers whose
    check waits on a database (`resolved_off_loop`).
    """

    async def dependency(request: Request, _: None = Credentials) -> Principal | None:
        if resolved_off_loop(request):
            return await run_in_threadpool(check, request)
        return check(request)

    dependency.__name__ = dependency.__qualname__ = f"{check.__name__}_on_loop"  # not functools.wraps:
    dependency.__doc__ = check.__doc__  # FastAPI would read the wrapped function's signature through it
    dependency.check = check  # what it runs (the route policy test looks for the privilege checks)
    return dependency


def principal_from_token(token: str) -> Principal:
    """The user behind an access token, checked as a Bearer token is; AuthFailure when not acceptable."""
    return _from_bearer(token)


def adopt_principal(request: Request, principal: Principal) -> None:
    """Make `principal` the request's caller (a session cookie's user): every check here then sees it."""
    request.scope[_STATE_KEY] = principal
