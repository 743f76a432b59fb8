"""Refresh handlers, pluggable per provider; the default is the generic OAuth2 refresh-token grant."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from autopack.core.logging import get_logger

log = get_logger(__name__)

RESULTS = ("success", "rate_limited", "invalid_grant", "network_error", "server_error", "unknown_error")
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# GitHub answers 200 with error=bad_refresh_token for a dead refresh token.
_REVOKED_ERRORS = frozenset({"invalid_grant", "bad_refresh_token"})


@dataclass(frozen=True)
class RefreshCredential:
    """What a handler needs to refresh one credential (secrets decrypted in memory, never printed)."""

    provider: str
    token_url: str
    client_id: str
    scopes: tuple[str, ...] = ()
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AttemptResult:
    """The outcome of one refresh attempt; `error` is a short code, never a response body."""

    result: str
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_in: float | None = None
    retry_after: float | None = None
    retryable: bool = True
    http_status: int | None = None
    error: str | None = None

    @property
    def success(self) -> bool:
        """True when new tokens were obtained."""
        return self.result == "success"


RefreshHandler = Callable[[RefreshCredential, float], AttemptResult]
PauseListener = Callable[[str, str], None]

_lock = threading.Lock()
_handlers: dict[str, RefreshHandler] = {}
_pause_listeners: list[PauseListener] = []


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    if not isinstance(code, str):
        return None
    return code if _ERROR_CODE.match(code) else "unrecognised_error"


def _success(response: httpx.Response) -> AttemptResult:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return AttemptResult("unknown_error", http_status=response.status_code,
                             error="invalid_token_response")
    if "error" in body:
        code = _error_code(response)
        if code in _REVOKED_ERRORS:
            return AttemptResult("invalid_grant", retryable=False, http_status=response.status_code,
                                 error=code)
        return AttemptResult("unknown_error", retryable=False, http_status=response.status_code, error=code)
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        return AttemptResult("unknown_error", http_status=response.status_code, error="missing_access_token")
    refresh = body.get("refresh_token")
    try:
        expires_in = float(body["expires_in"]) if body.get("expires_in") is not None else None
    except (TypeError, ValueError):
        expires_in = None
    return AttemptResult("success", access_token=access, http_status=response.status_code,
                         refresh_token=refresh if isinstance(refresh, str) and refresh else None,
                         expires_in=expires_in)


def classify_response(response: httpx.Response) -> AttemptResult:
    """Map a token endpoint's answer onto a RefreshResult."""
    status = response.status_code
    if 200 <= status < 300:
        return _success(response)
    if status == 429:
        return AttemptResult("rate_limited", http_status=status,
                             retry_after=parse_retry_after(response.headers.get("retry-after")))
    if status >= 500:
        return AttemptResult("server_error", http_status=status, error=_error_code(response))
    code = _error_code(response)
    if status in (400, 401) and code in _REVOKED_ERRORS:
        return AttemptResult("invalid_grant", retryable=False, http_status=status, error=code)
    # invalid_client, unauthorized_client, a redirect...: asking again will not help.
    return AttemptResult("unknown_error", retryable=False, http_status=status, error=code)


def generic_oauth2_refresh(cred: RefreshCredential, timeout: float) -> AttemptResult:
    """RFC 6749 §6 refresh: POST the token URL with grant_type=refresh_token (client_secret_post)."""
    form = {"grant_type": "refresh_token", "refresh_token": cred.refresh_token or "",
            "client_id": cred.client_id}
    if cred.client_secret:
        form["client_secret"] = cred.client_secret
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(cred.token_url, data=form, headers={"Accept": "application/json"})
    except httpx.TimeoutException:
        return AttemptResult("network_error", error="timeout")
    except httpx.HTTPError as exc:
        return AttemptResult("network_error", error=type(exc).__name__)
    return classify_response(response)


def register_handler(provider: str, handler: RefreshHandler) -> None:
    """Use `handler` to refresh `provider`'s credential instead of the generic OAuth2 grant."""
    with _lock:
        _handlers[provider] = handler


def unregister_handler(provider: str) -> None:
    """Return `provider` to the generic OAuth2 handler."""
    with _lock:
        _handlers.pop(provider, None)


def get_handler(provider: str) -> RefreshHandler:
    """The handler for `provider` (the generic OAuth2 grant unless one was registered)."""
    with _lock:
        return _handlers.get(provider, generic_oauth2_refresh)


def add_pause_listener(listener: PauseListener) -> None:
    """Call `listener(provider, reason)` whenever a credential's failures trigger a pause."""
    with _lock:
        _pause_listeners.append(listener)


def remove_pause_listener(listener: PauseListener) -> None:
    """Stop calling `listener`."""
    with _lock:
        if listener in _pause_listeners:
            _pause_listeners.remove(listener)


def notify_pause(provider: str, reason: str) -> None:
    """Run every pause listener; one failing does not stop the others."""
    with _lock:
        listeners = list(_pause_listeners)
    for listener in listeners:
        try:
            listener(provider, reason)
        except Exception:
            log.exception("oauth_pause_listener_failed", provider=provider)
