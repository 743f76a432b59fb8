"""The server-sent event stream: backlog, then new events as they commit, with heartbeats.

A live stream reads its own backlog from the database, then takes new events from the process's
shared poller (events/hub.py) instead of polling itself: idle, it costs no query and no thread hop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from autopack.core.settings import get_settings
from autopack.events import service
from autopack.events.hub import Subscription, get_hub
from autopack.events.service import EventFilter
from autopack.metrics.service import subscriber_closed, subscriber_opened

# Proxies must pass each message on at once, not buffer the stream.
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def _messages(selection: EventFilter, after: int, once: bool) -> AsyncIterator[str]:
    settings = get_settings()
    subscriber_opened()
    hub, subscription = None, None
    try:
        yield "retry: 1000\n\n"
        if not once:
            # Subscribe before reading the backlog: what the read cannot see yet, the hub queues.
            hub, subscription = get_hub(), Subscription(selection)
            await hub.subscribe(subscription)
        last_sent = time.monotonic()
        ends = last_sent + settings.events_max_stream_seconds if settings.events_max_stream_seconds else None
        while True:
            if subscription is None or subscription.lagging:
                # The backlog, or a catch-up after the queue overflowed: from the database, after
                # the last id sent, in a worker thread (the event loop never waits on the database).
                if subscription is not None:
                    subscription.lagging = False
                while True:
                    page = await asyncio.to_thread(service.messages_after, after, selection)
                    if page:
                        after = page[-1].id
                        yield "".join(m.text for m in page)
                        last_sent = time.monotonic()
                    if len(page) < service.PAGE:
                        break
                if subscription is None:
                    return  # once=1: the backlog only
                continue  # the queue may have overflowed again meanwhile
            fresh = [m for m in subscription.take() if m.id > after]  # the backlog may have sent some
            if fresh:
                after = fresh[-1].id
                yield "".join(m.text for m in fresh)
                last_sent = time.monotonic()
                continue
            # A client hanging up cancels this generator (Starlette listens for the disconnect).
            now = time.monotonic()
            if ends is not None and now >= ends:
                return
            if now - last_sent >= settings.events_heartbeat_seconds:
                yield ": heartbeat\n\n"
                last_sent = now
            wait = settings.events_heartbeat_seconds - (now - last_sent)
            if ends is not None:
                wait = min(wait, ends - now)
            await subscription.wait(max(wait, 0.01))
    finally:
        if hub is not None:
            hub.unsubscribe(subscription)
        subscriber_closed()


class EventStreamResponse(StreamingResponse):
    """A server-sent event stream (its routes' documented media type: SSE, not JSON)."""

    media_type = "text/event-stream"


def event_stream(selection: EventFilter, after: int, once: bool) -> EventStreamResponse:
    """`text/event-stream` of the events `selection` matches, starting after `after`."""
    return EventStreamResponse(_messages(selection, after, once), headers=HEADERS)
