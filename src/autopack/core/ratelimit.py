"""Per-route rate limits on the `limits` library (memory:// by default, redis:// when configured)."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from fastapi import Request
from limits import parse
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from autopack.core.errors import AutopackError
from autopack.core.instruments import RATE_LIMIT_REJECTIONS
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
    _memory_counters.clear()
    with _lock:
        if _limiter is not None:
            try:
                _limiter.storage.reset()
            except Exception:  # pragma: no cover - storage without reset support
                pass
        _limiter = None


def client_ip(request: Request) -> str:
    """The client address, already settled from AUTOPACK_TRUSTED_PROXIES by the request middleware."""
    return request.client.host if request.client else "unknown"


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
        if time.monotonic() < _down_until:
            return
        limiter = get_limiter()
        try:
            allowed = limiter.hit(item, scope, key_value)
            stats = limiter.get_window_stats(item, scope, key_value)
        except Exception as exc:  # storage down: fail open, loudly (and /health says "degraded")
            _storage_down(exc, scope)
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
            RATE_LIMIT_REJECTIONS.labels(scope).inc()
            raise RateLimited(f"Rate limit exceeded: {item.amount} per {per}", headers=headers)

    return dependency


def limits_in_process() -> bool:
    """True when checking a limit touches no network (limits off, or counted in this process's memory)."""
    settings = get_settings()
    return not settings.rate_limit_enabled or settings.rate_limit_storage.startswith("memory://")


def storage_status() -> str | None:
    """None for in-memory storage; "connected" or "error: ..." for a shared store."""
    uri = get_settings().rate_limit_storage
    if uri.startswith("memory://"):
        return None
    try:
        return "connected" if get_limiter().storage.check() else "error: storage check failed"
    except Exception as exc:
        return f"error: {str(exc)[:50]}"


class _MemoryCounters:
    """Counters with a time to live, in this process (memory:// storage)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[int, float]] = {}
        self._writes = 0

    def _live(self, key: str, now: float) -> int | None:
        value = self._values.get(key)
        return value[0] if value is not None and value[1] > now else None

    def _prune(self, now: float) -> None:
        # every key is attacker-chosen (usernames): drop expired ones so the map stays bounded
        self._writes += 1
        if self._writes % 1024 == 0:
            for key in [k for k, (_, expires) in self._values.items() if expires <= now]:
                del self._values[key]

    def incr(self, key: str, ttl: float, amount: int = 1) -> int:
        with self._lock:
            now = time.monotonic()
            value = (self._live(key, now) or 0) + amount
            if value <= 0:
                self._values.pop(key, None)
                return 0
            self._values[key] = (value, now + ttl)
            self._prune(now)
            return value

    def claim(self, key: str, ttl: float) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._live(key, now) is not None:
                return False
            self._values[key] = (1, now + ttl)
            self._prune(now)
            return True

    def ttl(self, key: str) -> float:
        with self._lock:
            value = self._values.get(key)
            return max(0.0, value[1] - time.monotonic()) if value is not None else 0.0

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._values.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


# Add to a counter and (re)set its time to live in one step; a counter taken back to zero is deleted.
_REDIS_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value <= 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return value
"""


class _RedisCounters:
    """The same counters in the limiter's Redis (shared by every worker and instance)."""

    def __init__(self, storage) -> None:
        self._storage = storage

    def _key(self, key: str) -> str:
        return self._storage.prefixed_key(key)

    def incr(self, key: str, ttl: float, amount: int = 1) -> int:
        connection = self._storage.get_connection()
        return int(connection.eval(_REDIS_INCR, 1, self._key(key), amount, max(1, int(ttl * 1000))))

    def claim(self, key: str, ttl: float) -> bool:
        return bool(self._storage.get_connection().set(self._key(key), 1, nx=True,
                                                       px=max(1, int(ttl * 1000))))

    def ttl(self, key: str) -> float:
        left = self._storage.get_connection().pttl(self._key(key))
        return left / 1000 if left > 0 else 0.0

    def delete(self, *keys: str) -> None:
        self._storage.get_connection().delete(*(self._key(k) for k in keys))


_memory_counters = _MemoryCounters()


def _counters() -> _MemoryCounters | _RedisCounters:
    storage = get_limiter().storage
    return _RedisCounters(storage) if isinstance(storage, RedisStorage) else _memory_counters


@dataclass
class Attempt:
    """One admitted attempt: the keys it was counted under and the lockouts it claimed."""

    keys: dict[str, str]  # label ("username", "client") -> storage key suffix
    counted: list[str] = field(default_factory=list)
    claimed: dict[str, tuple[int, int]] = field(default_factory=dict)  # label -> (failures, seconds)


class FailureGate:
    """Exponential lockouts after repeated failures per key (a username, a client address).

    The `limit`-th failure within `window` seconds locks a key for `first_lock` seconds, each later
    failure doubles the lock, up to `max_lock`; the count is forgotten a window after the last lockout
    ends. An attempt is counted before the secret is checked, and one past the limit must claim the
    lock itself, so parallel guesses cannot slip in between two failures. Counters live where the
    rate limits live (Redis when configured); a storage outage fails open.
    """

    def __init__(self, scope: str, *, limit: int, window: int, max_lock: int, message: str,
                 first_lock: int = 60):
        self.scope, self.limit, self.window, self.message = scope, limit, window, message
        self.max_lock, self.first_lock = max_lock, first_lock

    def backoff(self, failures: int) -> int:
        """Seconds a key stays locked once it has `failures` failures (0 below the limit)."""
        if failures < self.limit:
            return 0
        return min(self.max_lock, self.first_lock * 2 ** min(failures - self.limit, 30))

    def _names(self, label: str, key: str) -> tuple[str, str]:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{self.scope}:fail:{label}:{digest}", f"{self.scope}:lock:{label}:{digest}"

    def _refuse(self, wait: float) -> RateLimited:
        seconds = max(1, math.ceil(wait))
        RATE_LIMIT_REJECTIONS.labels(self.scope).inc()
        return RateLimited(f"{self.message}; try again in {seconds} seconds",
                           headers={"Retry-After": str(seconds)})

    def enter(self, keys: Mapping[str, str]) -> Attempt:
        """Admit one attempt under every key, or raise RateLimited (429, Retry-After) while one is locked."""
        attempt = Attempt(keys=dict(keys))
        if time.monotonic() < _down_until:
            return attempt
        try:
            counters = _counters()
            for label, key in attempt.keys.items():
                wait = counters.ttl(self._names(label, key)[1])
                if wait > 0:
                    raise self._refuse(wait)
            for label, key in attempt.keys.items():
                count_name, lock_name = self._names(label, key)
                failures = counters.incr(count_name, self.window)
                attempt.counted.append(label)
                seconds = self.backoff(failures)
                if not seconds:
                    continue
                # past the limit: remember the failures until the lockout is over, then a window more
                counters.incr(count_name, self.window + seconds, amount=0)
                if not counters.claim(lock_name, seconds):  # another attempt holds the turn
                    wait = counters.ttl(lock_name)
                    self._undo(counters, attempt)
                    raise self._refuse(wait)
                attempt.claimed[label] = (failures, seconds)
        except RateLimited:
            raise
        except Exception as exc:
            _storage_down(exc, self.scope)
            return Attempt(keys=attempt.keys)
        return attempt

    def failed(self, attempt: Attempt) -> dict[str, tuple[int, int]]:
        """The lockouts this failed attempt started: label -> (failures, seconds locked)."""
        return dict(attempt.claimed)

    def succeeded(self, attempt: Attempt, reset: Collection[str]) -> None:
        """Forget every failure of the `reset` labels; uncount this attempt under the other labels."""
        if time.monotonic() < _down_until:
            return
        try:
            counters = _counters()
            for label in reset:
                if label in attempt.keys:
                    counters.delete(*self._names(label, attempt.keys[label]))
            self._undo(counters, Attempt(attempt.keys, [lb for lb in attempt.counted if lb not in reset],
                                         {lb: v for lb, v in attempt.claimed.items() if lb not in reset}))
        except Exception as exc:
            _storage_down(exc, self.scope)

    def abandon(self, attempt: Attempt) -> None:
        """Uncount an attempt that ended without a verdict (the database failed, not the caller)."""
        if time.monotonic() < _down_until:
            return
        try:
            self._undo(_counters(), attempt)
        except Exception as exc:
            _storage_down(exc, self.scope)

    def _undo(self, counters, attempt: Attempt) -> None:
        for label in attempt.counted:
            count_name, lock_name = self._names(label, attempt.keys[label])
            counters.incr(count_name, self.window, amount=-1)
            if label in attempt.claimed:
                counters.delete(lock_name)


def _storage_down(exc: Exception, scope: str) -> None:
    """Log the outage and skip the store for a few seconds (limits fail open)."""
    global _down_until
    log.warning("rate_limit_storage_unavailable", error=str(exc)[:200], scope=scope)
    _down_until = time.monotonic() + BREAKER_SECONDS
