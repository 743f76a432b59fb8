"""Per-route rate limits on the `limits` library (memory:// by default, redis:// when configured)."""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable
from functools import lru_cache

from fastapi import Request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from autopack.core.errors import AutopackError
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings

log = get_logger(__name__)
_lock = threading.Lock()
_limiter: MovingWindowRateLimiter | None = None
_down_until = 0.0  # circuit breaker: after a storage error, skip the store briefly
BREAKER_SECONDS = 5.0


class RateLimited(AutopackError):
    """429 with Retry-After and X-RateLimit-* headers."""

    status_code = 429


def get_limiter() -> MovingWindowRateLimiter:
    """The process limiter on the configured storage."""
    global _limiter
    if _limiter is None:
        with _lock:
            if _limiter is None:
                settings = get_settings()
                uri = settings.rate_limit_storage
                options = {}
                if uri.startswith(("redis://", "rediss://", "redis+")):
                    # short timeouts: a Redis outage must not stall requests (we fail open)
                    options = {"key_prefix": settings.rate_limit_prefix, "socket_timeout": 0.5,
                               "socket_connect_timeout": 0.5}
                storage = storage_from_string(uri, **options)
                _limiter = MovingWindowRateLimiter(storage)
    return _limiter


def reset_limiter() -> None:
    """Forget the limiter and its in-memory counters (tests, settings changes)."""
    global _limiter, _down_until
    _down_until = 0.0
    with _lock:
        if _limiter is not None:
            try:
                _limiter.storage.reset()
            except Exception:  # pragma: no cover - storage without reset support
                pass
        _limiter = None


@lru_cache(maxsize=8)
def _trusted_networks(raw: str) -> tuple[ipaddress._BaseNetwork, ...]:
    nets = []
    for part in raw.split(","):
        part = part.strip()
        if part:
            nets.append(ipaddress.ip_network(part, strict=False))
    return tuple(nets)


def client_ip(request: Request) -> str:
    """The socket peer, or the first untrusted hop of X-Forwarded-For when the peer is a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    nets = _trusted_networks(get_settings().trusted_proxies)
    if not nets:
        return peer

    def trusted(addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in net for net in nets)

    if not trusted(peer):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop
    return hops[0] if hops else peer


@lru_cache(maxsize=64)
def _parse(limit: str):
    return parse(limit)


def rate_limit(limit: str | Callable[[], str], scope: str,
               key: Callable[[Request], str] = client_ip):
    """A dependency enforcing `limit` (e.g. "10/minute", or a callable read per request) per `key`.

    The default key is the client IP; autopilot routes key on (tenant, user) instead.
    """

    def dependency(request: Request) -> None:
        settings = get_settings()
        if not settings.rate_limit_enabled:
            return
        item = _parse(limit() if callable(limit) else limit)
        key_value = key(request)
        global _down_until
        if time.monotonic() < _down_until:
            return
        limiter = get_limiter()
        try:
            allowed = limiter.hit(item, scope, key_value)
            stats = limiter.get_window_stats(item, scope, key_value)
        except Exception as exc:  # storage down: fail open, loudly (and /health says "degraded")
            log.warning("rate_limit_storage_unavailable", error=str(exc)[:200], scope=scope)
            _down_until = time.monotonic() + BREAKER_SECONDS
            return
        reset_in = max(1, math.ceil(stats.reset_time - time.time()))
        headers = {
            "X-RateLimit-Limit": str(item.amount),
            "X-RateLimit-Remaining": str(max(0, stats.remaining)),
            "X-RateLimit-Reset": str(int(stats.reset_time)),
        }
        if not allowed:
            headers["Retry-After"] = str(reset_in)
            per = f"{item.multiples} {item.GRANULARITY.name}" if item.multiples != 1 else f"1 {item.GRANULARITY.name}"
            raise RateLimited(f"Rate limit exceeded: {item.amount} per {per}", headers=headers)

    return dependency


def tenant_user_key(request: Request) -> str:
    """(tenant, caller) for tenant-scoped limits; falls back to the client IP when anonymous."""
    from autopack.auth.deps import optional_principal

    principal = optional_principal(request)
    tenant = request.path_params.get("tenant_id", "-")
    who = principal.actor if principal is not None else f"ip:{client_ip(request)}"
    return f"{tenant}|{who}"


def storage_status() -> str | None:
    """None for in-memory storage; "connected" or "error: ..." for a shared store."""
    uri = get_settings().rate_limit_storage
    if uri.startswith("memory://"):
        return None
    try:
        return "connected" if get_limiter().storage.check() else "error: storage check failed"
    except Exception as exc:
        return f"error: {str(exc)[:50]}"
