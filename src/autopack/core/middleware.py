"""Pure ASGI middleware: request ids and access logs (the body limit is FastAPI's max_body_size)."""

from __future__ import annotations

import re
import time
import uuid

import structlog

from autopack.core.logging import get_logger

log = get_logger("autopack.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Tags each request with an id (X-Request-ID in and out) and logs one line per request."""

    def __init__(self, app, access_log: bool = True):  # noqa: ANN001
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = {"code": 500}
        started = time.perf_counter()

        async def send_wrapper(message):  # noqa: ANN001
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if self.access_log:
                log.info("request", method=scope["method"], path=scope["path"], status=status["code"],
                         ms=round((time.perf_counter() - started) * 1000, 2))
            structlog.contextvars.unbind_contextvars("request_id")
