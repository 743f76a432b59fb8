"""Exception handlers for the Autopack API style (`{"detail": ...}`) and the global 500 handler."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from autopack.core.errors import AutopackError, EnvelopeError
from autopack.core.logging import get_logger
from autopack.core.ratelimit import RateLimited
from autopack.core.responses import json_response
from autopack.core.settings import get_settings

log = get_logger(__name__)

# (exception, request, error id) -> the report document, with the `run_id` it is filed under.
BuildReport = Callable[[BaseException, Request, str], dict]
# Stores a built report; blocking, so it runs in a worker thread with a time limit.
SaveReport = Callable[[dict], None]

ENVELOPE_PREFIX = "/api/v1/"
STATUS_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE",
                422: "VALIDATION_ERROR", 429: "RATE_LIMITED", 500: "INTERNAL_ERROR",
                503: "SERVICE_UNAVAILABLE"}


def uses_envelope(request: Request) -> bool:
    """Autopilot-style paths answer the contract's error envelope for every failure."""
    return request.url.path.startswith(ENVELOPE_PREFIX)


def envelope(status: int, code: str, message: str, details=None, headers=None):
    """`{"success": false, "error": {...}}` with `status`."""
    body = {"success": False, "error": {"code": code, "message": message,
                                        "details": details if details is not None else {}}}
    return json_response(body, status, headers=headers)


async def envelope_error_handler(request: Request, exc: EnvelopeError):
    """Envelope errors raised by tenant-scoped endpoints."""
    return envelope(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def http_exception_handler(request: Request, exc):
    """Framework HTTP errors (404 route, 405, 413): envelope on /api/v1, `{"detail"}` elsewhere."""
    headers = getattr(exc, "headers", None)
    if uses_envelope(request):
        code = STATUS_CODES.get(exc.status_code, "ERROR")
        return envelope(exc.status_code, code, str(exc.detail), headers=headers)
    return json_response({"detail": exc.detail}, exc.status_code, headers=headers)


async def autopack_error_handler(request: Request, exc: AutopackError):
    """Domain errors → their status and `{"detail": ...}` (or the envelope on /api/v1)."""
    if uses_envelope(request):
        code = STATUS_CODES.get(exc.status_code, "ERROR")
        message = exc.detail if isinstance(exc.detail, str) else code
        return envelope(exc.status_code, code, message, headers=exc.headers)
    body = {"detail": exc.detail}
    if isinstance(exc, RateLimited):
        body["error"] = exc.detail  # the reference's slowapi body key
    return json_response(body, exc.status_code, headers=exc.headers)


async def validation_error_handler(request: Request, exc: RequestValidationError):
    """FastAPI's 422 shape, made safe for inputs that are not JSON-serialisable."""
    errors = []
    for err in exc.errors():
        err = dict(err)
        if "ctx" in err:
            err["ctx"] = {k: str(v) for k, v in err["ctx"].items()}
        if isinstance(err.get("input"), (bytes, bytearray)):
            err["input"] = err["input"][:200].decode("utf-8", "replace")
        errors.append(err)
    if uses_envelope(request):
        details = {"errors": jsonable_encoder(errors, custom_encoder={bytes: lambda b: b.decode("utf-8", "replace")})}
        return envelope(422, "VALIDATION_ERROR", "Request validation failed", details)
    return json_response({"detail": jsonable_encoder(errors, custom_encoder={bytes: lambda b: b.decode("utf-8", "replace")})}, 422)


async def database_unavailable_handler(request: Request, exc: OperationalError):
    """An unreachable or locked database is a 503 the client may retry, not a crash."""
    log.warning("database_unavailable", path=request.url.path, error=str(exc.orig)[:200])
    if uses_envelope(request):
        return envelope(503, "SERVICE_UNAVAILABLE", "Database unavailable, please retry",
                        headers={"Retry-After": "1"})
    return json_response({"detail": "Database unavailable, please retry"}, 503, headers={"Retry-After": "1"})


async def unhandled_error_handler(request: Request, exc: Exception):
    """500 with an error id; a redacted report is stored for /runs/{run_id}/errors."""
    build, save = _reporter(request)
    error_id = secrets.token_hex(4)  # eight hex characters, as the reference
    report = build(exc, request, error_id) if build is not None else {"run_id": None}
    log.error("unhandled_error", error_id=error_id, error_type=type(exc).__name__,
              path=request.url.path)
    try:
        if save is not None:
            await asyncio.wait_for(run_in_threadpool(save, report), timeout=10)
    except Exception:  # pragma: no cover - never let reporting mask the original error
        log.warning("error_report_timeout", error_id=error_id)
    if uses_envelope(request):
        return envelope(500, "INTERNAL_ERROR", "An unexpected error occurred", {"error_id": error_id})
    if get_settings().is_production:
        body = {"detail": "Internal server error", "error_id": error_id,
                "message": "An unexpected error occurred. Reference this error_id when reporting issues."}
    else:
        where = (f"Error report saved to .autonomous_runs/{report['run_id']}/errors/"
                 if report["run_id"] else "Error report saved")
        body = {"detail": "Internal server error", "error_id": error_id,
                "error_type": type(exc).__name__,
                "message": f"Check server logs for error_id={error_id}", "error_report": where}
    return json_response(body, 500)


def _reporter(request: Request) -> tuple[BuildReport | None, SaveReport | None]:
    """The reporter handed to install_handlers (the request-id middleware renders 500s through here too)."""
    app = request.scope.get("app")
    state = getattr(app, "state", None)
    return getattr(state, "build_error_report", None), getattr(state, "save_error_report", None)


def install_handlers(app: FastAPI, *, build_report: BuildReport, save_report: SaveReport) -> None:
    """Register every handler on `app`; unexpected errors are reported through the functions handed in."""
    # core imports no area package: the app's assembler hands in how errors are reported.
    app.state.build_error_report = build_report
    app.state.save_error_report = save_report
    app.add_exception_handler(AutopackError, autopack_error_handler)
    app.add_exception_handler(EnvelopeError, envelope_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(OperationalError, database_unavailable_handler)
    app.add_exception_handler(Exception, unhandled_error_handler)
