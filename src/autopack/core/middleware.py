"""Pure ASGI middleware: request ids, the client address, access logs, 500s with ids, the request guard.

The guard buffers the body (bounded: 413 above the limit, 408 when the client stalls) and refuses text
that no database can store the same way — NUL characters and lone UTF-16 surrogates — with a 422 before
any endpoint runs, so SQLite and PostgreSQL never disagree and nothing reaches a driver that would crash.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
import uuid
from urllib.parse import unquote_to_bytes

import structlog

from autopack.core.client_address import settle_client, trusted_networks
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings

log = get_logger("autopack.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# A JSON escape preceded by an even number of backslashes is a real escape, not escaped text.
_ESC = rb"(?<!\\)(?:\\\\)*\\u"
_UNSTORABLE_JSON = re.compile(
    _ESC + rb"0000"
    + rb"|" + _ESC + rb"[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    + rb"|(?<![\\]u[dD][89abAB][0-9a-fA-F]{2})" + _ESC + rb"[dD][c-fC-F][0-9a-fA-F]{2}"
)

# Python's JSON parser (the one FastAPI uses) takes NaN, Infinity and overflowing numbers such as 1e400,
# none of which is JSON: stored, they would make documents no client (nor SQLite's json()) can read.
# (a float needs an exponent or over 300 digits to leave the float range)
_NON_FINITE_HINT = re.compile(rb"NaN|Infinity|[0-9][eE]|[0-9]{300}")


class _NonFinite(ValueError):
    pass


def _reject_constant(_name: str) -> float:
    raise _NonFinite


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite
    return value


def has_non_finite_number(body: bytes) -> bool:
    """True when `body` is JSON holding NaN, +-Infinity or a number too large for a float."""
    if not _NON_FINITE_HINT.search(body):
        return False
    try:
        json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except _NonFinite:
        return True
    except (ValueError, RecursionError):  # not JSON (or not parseable): the endpoint's own error
        return False
    return False


def _json_response(status: int, detail: str, envelope_code: str, path: str,
                   close: bool = False) -> tuple[dict, bytes]:
    import orjson

    if path.startswith("/api/v1/"):
        body = {"success": False, "error": {"code": envelope_code, "message": detail, "details": {}}}
    else:
        body = {"detail": detail}
    payload = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    start = {"type": "http.response.start", "status": status, "headers": headers}
    return start, payload


_ID_PREFIX = uuid.uuid4().hex[:12]
_ID_COUNTER = itertools.count(1)


def _new_request_id() -> str:
    """Unique per process start and request, without a system call per request."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


class RequestContextMiddleware:
    """Request ids (X-Request-ID in and out), the settled client address, one log line, 500s with ids."""

    def __init__(self, app, access_log: bool = True, trusted_proxies: str | None = None):
        self.app = app
        self.access_log = access_log
        raw = get_settings().trusted_proxies if trusted_proxies is None else trusted_proxies
        self.trusted = trusted_networks(raw)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        # Outermost of ours: rate limits, the access log and anything reading request.client see one address.
        settle_client(scope, self.trusted)
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _REQUEST_ID.match(incoming) else _new_request_id()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        state = {"code": 500, "started": False}
        started = time.perf_counter()

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                state["code"] = message["status"]
                state["started"] = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if state["started"]:
                raise
            # Render the 500 here (not in the outer ServerErrorMiddleware) so it carries the request id.
            from starlette.requests import Request

            from autopack.core.handlers import unhandled_error_handler

            response = await unhandled_error_handler(Request(scope), exc)
            await response(scope, receive, send_wrapper)
        finally:
            if self.access_log:
                client = scope.get("client")
                log.info("request", method=scope["method"], path=scope["path"], status=state["code"],
                         ms=round((time.perf_counter() - started) * 1000, 2),
                         client=client[0] if client else None)
            structlog.contextvars.unbind_contextvars("request_id")


# Where the guard leaves the whole request body it has read (and checked) for the layers inside it.
BODY_KEY = "autopack.body"


class RequestGuardMiddleware:
    """413 for bodies over `max_bytes`; 408 when the body stalls for `body_timeout` seconds; 422 for NUL
    or lone surrogates in path, query or JSON body, and for non-finite numbers in a JSON body."""

    def __init__(self, app, max_bytes: int, body_timeout: float | None = None, streamed_paths: tuple[str, ...] = ()):
        self.app = app
        self.max_bytes = max_bytes
        # Endpoints that read their body as a stream and bound it themselves (file uploads).
        self.streamed_paths = frozenset(streamed_paths)
        self.body_timeout = get_settings().body_timeout_seconds if body_timeout is None else body_timeout

    async def _reply(self, send, scope, status: int, detail: str, code: str, close: bool = False) -> None:
        start, payload = _json_response(status, detail, code, scope["path"], close)
        await send(start)
        await send({"type": "http.response.body", "body": payload})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            return await self._reply(send, scope, 422, "NUL characters are not allowed", "VALIDATION_ERROR")
        if scope["path"] in self.streamed_paths:
            return await self.app(scope, receive, send)
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
                break
        if length is not None:
            try:
                if int(length) > self.max_bytes:
                    return await self._too_large(send, scope)
            except ValueError:
                return await self._reply(send, scope, 400, "Invalid Content-Length", "BAD_REQUEST")
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and length in (None, b"0"):
            return await self.app(scope, receive, send)
        chunks, total = [], 0
        loop = asyncio.get_running_loop()
        try:
            # One timer for the whole read, pushed back by every piece: a stalled client (a promised
            # Content-Length never delivered) is answered 408 and loses the connection.
            async with asyncio.timeout(self.body_timeout) as deadline:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    deadline.reschedule(loop.time() + self.body_timeout)
                    body = message.get("body", b"")
                    total += len(body)
                    if total > self.max_bytes:
                        break
                    chunks.append(body)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            return await self._reply(send, scope, 408, f"Request body not received within "
                                     f"{self.body_timeout:g} s", "REQUEST_TIMEOUT", close=True)
        if total > self.max_bytes:
            return await self._too_large(send, scope)
        body = b"".join(chunks)
        # Every refused form is a \u escape: a body without one (a memchr scan) skips the regex, which
        # costs a few milliseconds per 100 KB (a run of 500 phases).
        if b"\\u" in body and _UNSTORABLE_JSON.search(body):
            return await self._reply(send, scope, 422, "Text may not contain NUL characters or unpaired "
                                     "surrogates", "VALIDATION_ERROR")
        if has_non_finite_number(body):
            return await self._reply(send, scope, 422, "Numbers must be finite: NaN, Infinity and numbers "
                                     "beyond the float range are not JSON", "VALIDATION_ERROR")
        replayed = False
        scope[BODY_KEY] = body  # read once: the route fast path takes it from here

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send, scope) -> None:
        # close: the rest of an unread body would otherwise keep streaming in on a kept-alive connection
        await self._reply(send, scope, 413, f"Request body too large (limit {self.max_bytes} bytes)",
                          "PAYLOAD_TOO_LARGE", close=True)
