"""Start-up refusals shown to the operator as one clear line, without a traceback."""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]


class StartupRefused(RuntimeError):
    """The server must not start, and the message says why and what to do (no traceback needed)."""


class StartupRefusals:
    """ASGI middleware: a StartupRefused in the lifespan reaches the server as its message alone.

    Starlette reports a failed start-up with the whole traceback, which uvicorn logs; an operator who
    only has to run `autopack migrate` should see that sentence, not forty frames. The exception still
    propagates, so the server exits non-zero and a TestClient raises it.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold_failure(message: Message) -> None:
            # Starlette sends the failure before it re-raises: keep it until we know the exception.
            if message["type"] == "lifespan.startup.failed":
                held.append(message)
            else:
                await send(message)

        try:
            await self.app(scope, receive, hold_failure)
        except StartupRefused as exc:
            if held:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
            raise
        except BaseException:
            if held:
                await send(held[0])
            raise
        if held:
            await send(held[0])
