"""The client's one error hierarchy: every refusal, local or remote, is an `AutopackError`."""

from __future__ import annotations

import json
from typing import Any

import httpx


class AutopackError(Exception):
    """A request Autopack refused (or that never reached it): status, code, message, request id."""

    def __init__(self, message: str, *, status_code: int | None = None, code: str | None = None,
                 details: Any = None, request_id: str | None = None, method: str | None = None,
                 url: str | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code  # the contract's error code on /api/v1 endpoints, None on Autopack's
        self.details = details  # the envelope's `details`, or a non-text `detail` (422 error lists)
        self.request_id = request_id  # the server's X-Request-ID: quote it when reporting a problem
        self.method = method
        self.url = url
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [str(self.status_code)] if self.status_code is not None else []
        if self.code:
            parts.append(self.code)
        text = f"{' '.join(parts)}: {self.message}" if parts else self.message
        return f"{text} (request id {self.request_id})" if self.request_id else text


class ValidationFailed(AutopackError):
    """400 or 422: the request was refused as given (or failed the schema before it was sent)."""


class Unauthorized(AutopackError):
    """401: no credentials, or they are wrong or expired."""


class Forbidden(AutopackError):
    """403: authenticated, but not allowed (or an enforcement or feature refusal)."""


class NotFound(AutopackError):
    """404: the addressed thing does not exist (or is another tenant's)."""


class Conflict(AutopackError):
    """409: the request conflicts with the current state (already decided, frozen, exists)."""


class RateLimited(AutopackError):
    """429 after the retries: `retry_after` says how long the server wants us to wait."""


class ServerError(AutopackError):
    """5xx: the server failed or is unavailable."""


class ConnectionFailed(AutopackError):
    """The server could not be reached (or the connection broke) after the retries."""


BY_STATUS: dict[int, type[AutopackError]] = {
    400: ValidationFailed, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
    422: ValidationFailed, 429: RateLimited,
}


def error_class(status: int) -> type[AutopackError]:
    """The exception class for an HTTP status."""
    if status >= 500:
        return ServerError
    return BY_STATUS.get(status, AutopackError)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (the delta form Autopack sends); None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # the HTTP-date form: Autopack never sends it, so fall back to our own backoff


def _json_object(text: str) -> dict | None:
    """A `detail` that is itself a JSON object (a governed patch's 422 names its governance request)."""
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def error_from_response(response: httpx.Response) -> AutopackError:
    """The error an answer of status >= 400 stands for, its code or detail read from the body."""
    code, details = None, None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # the /api/v1 envelope
        error = body["error"]
        code = error.get("code")
        message = str(error.get("message") or code or response.reason_phrase)
        details = error.get("details")
    elif isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, str):
            message, details = detail, _json_object(detail)
        else:
            message, details = json.dumps(detail, ensure_ascii=False), detail
    else:
        message = (response.text or response.reason_phrase or "").strip()[:500] or f"HTTP {response.status_code}"
    request = response.request
    return error_class(response.status_code)(
        message, status_code=response.status_code, code=code, details=details,
        request_id=response.headers.get("X-Request-ID"), method=request.method, url=str(request.url),
        retry_after=retry_after_seconds(response))
