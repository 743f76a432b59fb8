"""Credential status derivation (reference §2.9): ordered rules, the first that matches decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from autopack.db.models import OAuthCredential

# The reference manager's defaults.
MAX_CONSECUTIVE_FAILURES = 3
EXPIRY_BUFFER = timedelta(seconds=60)
EXPIRING_SOON = timedelta(seconds=300)


@dataclass(frozen=True)
class StatusRule:
    """One row of the derivation table."""

    status: str
    applies: Callable[[OAuthCredential, datetime], bool]
    is_healthy: bool
    requires_attention: bool
    message: Callable[[OAuthCredential], str]


def _expired_by(cred: OAuthCredential, now: datetime, buffer: timedelta) -> bool:
    return cred.expires_at is not None and now >= cred.expires_at - buffer


STATUS_RULES: tuple[StatusRule, ...] = (
    StatusRule("revoked", lambda c, now: c.last_refresh_result == "invalid_grant", False, True,
               lambda c: "Credential has been revoked"),
    StatusRule("refresh_failed", lambda c, now: c.consecutive_failures >= MAX_CONSECUTIVE_FAILURES,
               False, True, lambda c: f"Refresh failed {c.consecutive_failures} consecutive times"),
    StatusRule("expired", lambda c, now: _expired_by(c, now, EXPIRY_BUFFER), False, True,
               lambda c: "Access token has expired"),
    StatusRule("refresh_pending", lambda c, now: _expired_by(c, now, EXPIRING_SOON), True, False,
               lambda c: "Access token expiring soon"),
    StatusRule("valid", lambda c, now: True, True, False, lambda c: "Credential is valid"),
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def unknown_health(provider: str) -> dict:
    """The CredentialHealth of a provider with no stored credential (200, not 404, as the reference)."""
    return {
        "provider": provider, "status": "unknown", "last_refresh": None, "last_refresh_result": None,
        "expires_at": None, "consecutive_failures": 0, "total_refreshes": 0, "total_failures": 0,
        "is_healthy": False, "requires_attention": True,
        "message": f"No credential found for provider: {provider}",
    }


def credential_health(cred: OAuthCredential, now: datetime) -> dict:
    """The CredentialHealth dict of a stored credential at time `now`."""
    rule = next(r for r in STATUS_RULES if r.applies(cred, now))
    return {
        "provider": cred.provider,
        "status": rule.status,
        "last_refresh": _iso(cred.last_refresh),
        "last_refresh_result": cred.last_refresh_result,
        "expires_at": _iso(cred.expires_at),
        "consecutive_failures": cred.consecutive_failures,
        "total_refreshes": cred.total_refreshes,
        "total_failures": cred.total_failures,
        "is_healthy": rule.is_healthy,
        "requires_attention": rule.requires_attention,
        "message": rule.message(cred),
    }
