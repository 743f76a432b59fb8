"""GET /runs/{run_id} served straight from ASGI: the executor polls it more than anything else.

The route stays declared in the router (OpenAPI, docs); this middleware answers it before the
routing and dependency machinery, with the same body, the same 404 and the same 503. It sits inside
the request-id and request-guard middleware, so ids, logs and the NUL guard still apply, and an
unexpected error still becomes the usual 500 with an error report.
"""

from __future__ import annotations

import orjson
from sqlalchemy.exc import OperationalError

from autopack.core.database import run_in_read_thread
from autopack.core.errors import NotFound
from autopack.runs.document import read_run_document

_PREFIX = "/runs/"
_JSON = [(b"content-type", b"application/json")]


async def _reply(send, status: int, body: bytes, extra: list | None = None) -> None:  # noqa: ANN001
    headers = [*_JSON, (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RunReadFastPath:
    """Answers `GET /runs/{run_id}` (exactly one path segment after /runs/) without routing."""

    def __init__(self, app):  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        path = scope.get("path", "")
        if (scope["type"] != "http" or scope["method"] != "GET" or not path.startswith(_PREFIX)
                or "/" in path[len(_PREFIX):] or len(path) == len(_PREFIX)):
            return await self.app(scope, receive, send)
        run_id = path[len(_PREFIX):]
        try:
            body = await run_in_read_thread(read_run_document, run_id)
        except NotFound as exc:
            return await _reply(send, 404, orjson.dumps({"detail": exc.detail}))
        except OperationalError:
            return await _reply(send, 503, orjson.dumps({"detail": "Database unavailable, please retry"}),
                                [(b"retry-after", b"1")])
        await _reply(send, 200, body)
