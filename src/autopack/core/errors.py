"""One error hierarchy for the Autopack API; routers raise these, handlers render them."""

from __future__ import annotations

from typing import Any


class AutopackError(Exception):
    """A domain error with an HTTP status and the `detail` the reference returns."""

    status_code = 400

    def __init__(self, detail: Any, *, status_code: int | None = None, headers: dict | None = None):
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail
        self.headers = headers
        if status_code is not None:
            self.status_code = status_code


class BadRequest(AutopackError):
    """400: the request is well-formed but not acceptable."""

    status_code = 400


class Forbidden(AutopackError):
    """403: the caller may not do this."""

    status_code = 403


class NotFound(AutopackError):
    """404: the addressed thing does not exist."""

    status_code = 404


class Conflict(AutopackError):
    """409: the request conflicts with the current state."""

    status_code = 409


class Unprocessable(AutopackError):
    """422: the request cannot be processed as given."""

    status_code = 422


class ServiceUnavailable(AutopackError):
    """503: a dependency (the database) is unavailable."""

    status_code = 503


class EnvelopeError(Exception):
    """An Autopilot-style error: `{"success": false, "error": {"code", "message", "details"}}`."""

    def __init__(self, status_code: int, code: str, message: str, details: Any = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details if details is not None else {}
        self.headers = headers
