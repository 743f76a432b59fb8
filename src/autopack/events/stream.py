"""The server-sent event stream: backlog, then new events as they commit, with heartbeats."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse

from autopack.core.settings import get_settings
from autopack.events import service
from autopack.events.wakeup import Waiter
from autopack.metrics.service import subscriber_closed, subscriber_opened

# Proxies must pass each message on at once, not buffer the stream.
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def message(event: dict[str, Any]) -> str:
    """One SSE message: `id:`, `event:` and `data:` (JSON on one line)."""
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


async def _messages(fetch: Callable[[int], list[dict[str, Any]]], after: int,
                    once: bool) -> AsyncIterator[str]:
    settings = get_settings()
    waiter = Waiter()
    subscriber_opened()
    last_sent = time.monotonic()
    ends = last_sent + settings.events_max_stream_seconds if settings.events_max_stream_seconds else None
    try:
        yield "retry: 1000\n\n"
        while True:
            # The read runs in a worker thread: the event loop never waits on the database.
            events = await asyncio.to_thread(fetch, after)
            for event in events:
                yield message(event)
                after = event["id"]
            if events:
                last_sent = time.monotonic()
            if len(events) == service.PAGE:
                continue  # more backlog
            # A client hanging up cancels this generator (Starlette listens for the disconnect).
            if once or (ends is not None and time.monotonic() >= ends):
                return
            if time.monotonic() - last_sent >= settings.events_heartbeat_seconds:
                yield ": heartbeat\n\n"
                last_sent = time.monotonic()
            wait = min(settings.events_poll_seconds,
                       max(0.0, settings.events_heartbeat_seconds - (time.monotonic() - last_sent)))
            if ends is not None:
                wait = min(wait, ends - time.monotonic())
            await waiter.wait(max(wait, 0.01))
    finally:
        subscriber_closed()
        await waiter.close()


def event_stream(fetch: Callable[[int], list[dict[str, Any]]], after: int,
                 once: bool) -> StreamingResponse:
    """`text/event-stream` of the events `fetch(after_id)` returns, starting after `after`."""
    return StreamingResponse(_messages(fetch, after, once), media_type="text/event-stream",
                             headers=HEADERS)
