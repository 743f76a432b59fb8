"""When to send a request again: 429 and 503 (honouring Retry-After, bounded), and broken connections."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from autopack.client.calls import Call
from autopack.client.errors import ConnectionFailed, retry_after_seconds

RETRY_STATUSES = (429, 503)
# Raised before a byte of the request went out: safe to retry whatever the method.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """At most `max_retries` more attempts; waits double from `backoff`; never a wait past `max_wait`."""

    max_retries: int = 3
    backoff: float = 0.5
    max_wait: float = 30.0

    def after_response(self, call: Call, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before trying again, or None to answer with this response."""
        status = response.status_code
        if status not in RETRY_STATUSES or status in call.accept or attempt >= self.max_retries:
            return None
        wait = retry_after_seconds(response)
        if wait is None:
            wait = self.backoff * 2 ** attempt
        return wait if wait <= self.max_wait else None  # a longer wait is the caller's decision

    def after_error(self, call: Call, exc: httpx.TransportError, attempt: int) -> float | None:
        """Seconds to wait before trying again after a transport error, or None to give up.

        A request that may have reached the server (a read timeout, a dropped connection) is sent
        again only when it is idempotent: a second POST could do the thing twice.
        """
        if attempt >= self.max_retries:
            return None
        if isinstance(exc, NOT_SENT) or call.idempotent:
            return self.backoff * 2 ** attempt
        return None


def connection_failed(base_url: str, call: Call, exc: httpx.TransportError) -> ConnectionFailed:
    """The error for a request that never got an answer."""
    kind = type(exc).__name__
    return ConnectionFailed(f"cannot reach Autopack at {base_url} ({kind}: {exc})".replace(" ()", ""),
                            method=call.method, url=f"{base_url}{call.path}")
