"""Shared HTTP plumbing of the real platform adapters: one httpx call, transport errors mapped.

A connection that could not be made never carried the request (safe to retry); a timeout after the
request went out leaves the outcome unknown (not safe: the worker reconciles by reading state).
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from autopack.autopilot.execution.adapters.base import PlatformError
from autopack.db.base import utcnow


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (delta or HTTP date), None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or {} when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def send(client: httpx.Client, method: str, url: str, platform: str, **kwargs: Any) -> httpx.Response:
    """Send one request; transport failures become PlatformError (secrets never in the message)."""
    try:
        return client.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise PlatformError("timeout", f"{platform} API unreachable ({type(exc).__name__})",
                            safe_to_retry=True) from None
    except httpx.TimeoutException as exc:
        raise PlatformError("timeout", f"{platform} API timed out ({type(exc).__name__}); outcome unknown",
                            safe_to_retry=False) from None
    except httpx.HTTPError as exc:
        raise PlatformError("server", f"{platform} API transport error ({type(exc).__name__})",
                            safe_to_retry=False) from None


def status_kind(status: int) -> str:
    """The error kind an HTTP status suggests when the body says nothing more specific."""
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "auth"
    if status >= 500:
        return "server"
    return "client"


def make_client(timeout: float) -> httpx.Client:
    """An httpx client with the platform timeout and no redirects (a redirect is an error here)."""
    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)
