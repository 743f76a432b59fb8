"""Optional Redis wake-ups: writers publish after commit; the shared reader (hub.py) waits on them.

The database stays the source of truth; a lost or late wake-up only costs the poll interval. When
Redis is down, publishing is skipped for a while so commits never wait on it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from autopack.core.logging import get_logger
from autopack.core.settings import get_settings

log = get_logger(__name__)
CHANNEL = "autopack:events"
RETRY_AFTER_FAILURE_SECONDS = 10.0
DRAIN_LIMIT = 1000  # queued wake-ups skipped at most after one (each is "something was committed")
_lock = threading.Lock()
_client: Any = None
_failed_at = 0.0


def redis_url() -> str | None:
    """AUTOPACK_EVENTS_REDIS, else the rate-limit storage when that is Redis, else None."""
    settings = get_settings()
    if settings.events_redis:
        return settings.events_redis
    storage = settings.rate_limit_storage
    return storage if storage.startswith(("redis://", "rediss://")) else None


def _publisher() -> Any:
    global _client
    with _lock:
        if _client is None:
            import redis

            _client = redis.Redis.from_url(redis_url(), socket_timeout=0.5, socket_connect_timeout=0.5)
        return _client


def publish() -> None:
    """Tell waiting streams that events were committed (best effort)."""
    global _failed_at
    if redis_url() is None or time.monotonic() - _failed_at < RETRY_AFTER_FAILURE_SECONDS:
        return
    try:
        _publisher().publish(CHANNEL, b"1")
    except Exception as exc:  # noqa: BLE001 - streams still poll
        _failed_at = time.monotonic()
        log.warning("events_wakeup_publish_failed", error_type=type(exc).__name__)


class Waiter:
    """The shared reader's wait between polls (events/hub.py): a Redis subscription when configured,
    else a plain sleep."""

    def __init__(self) -> None:
        self._pubsub: Any = None
        url = redis_url()
        if url is not None:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=0.5)
            self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)

    async def wait(self, seconds: float) -> None:
        """Return after `seconds`, or earlier when a wake-up arrives."""
        import asyncio

        if self._pubsub is not None:
            try:
                if not self._pubsub.subscribed:
                    await self._pubsub.subscribe(CHANNEL)
                deadline = time.monotonic() + seconds
                while (left := deadline - time.monotonic()) > 0:
                    if await self._pubsub.get_message(timeout=left) is not None:
                        # Wake-ups that piled up meanwhile are covered by the one read that follows.
                        for _ in range(DRAIN_LIMIT):
                            if await self._pubsub.get_message(timeout=0) is None:
                                break
                        return
                return
            except Exception as exc:  # noqa: BLE001 - fall back to polling for this stream
                log.warning("events_wakeup_subscribe_failed", error_type=type(exc).__name__)
                await self.close()
        await asyncio.sleep(seconds)

    async def close(self) -> None:
        """Drop the subscription (the stream ended)."""
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()
                await self._client.aclose()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
