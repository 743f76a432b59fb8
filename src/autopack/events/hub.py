"""One shared poller per event loop (so one per worker process): new events are read once for all streams.

While at least one live stream is open, the hub reads every event with an id above its cursor, a page
at a time, once per AUTOPACK_EVENTS_POLL_SECONDS or at once on a Redis wake-up, and hands each event
(its SSE message encoded once, the text shared) to the streams whose filter matches. An idle stream
costs nothing; the hub's own idle cost is one short indexed read per interval, whatever the number of
streams. Reads run in a worker thread, one at a time, each in its own short session: the event loop
never waits on the database and no pooled connection is held between reads.

Hand-over (events/stream.py): a stream subscribes first and only then reads its backlog from the
database. Everything the hub dispatches from the moment of subscribing is queued for it, and the
backlog read sees every event committed before that moment (ids follow commit order, see log.py),
so together they miss nothing; the stream drops queued ids it already sent. A stream whose client
reads slower than events arrive has its queue dropped at QUEUE_LIMIT messages and re-reads from the
database after the last id it sent, the same hand-over again: memory stays bounded and nothing is lost.

The hub starts with its first stream and stops with its last, so no task outlives the streams.
"""

from __future__ import annotations

import asyncio
import weakref

from autopack.core.logging import get_logger
from autopack.core.settings import get_settings
from autopack.events import service
from autopack.events.service import EventFilter, Message
from autopack.events.wakeup import Waiter

log = get_logger(__name__)
QUEUE_LIMIT = 2 * service.PAGE  # messages queued for one stream before it falls back to the database


class Subscription:
    """One live stream at the hub: its filter, a bounded queue of messages, and its wake-up."""

    __slots__ = ("selection", "lagging", "overflows", "_queue", "_wake")

    def __init__(self, selection: EventFilter) -> None:
        self.selection = selection
        self.lagging = True  # must read from the database before taking from the queue (the backlog)
        self.overflows = 0
        self._queue: list[Message] = []
        self._wake = asyncio.Event()

    def push(self, messages: list[Message]) -> None:
        """Queue messages (hub side); past QUEUE_LIMIT drop the queue and send the stream to the database."""
        if len(self._queue) + len(messages) > QUEUE_LIMIT:
            # These messages and the dropped ones are committed and at or below the hub's cursor, so
            # the stream's next database read (which starts after this) returns them.
            self._queue.clear()
            self.lagging = True
            self.overflows += 1
        else:
            self._queue.extend(messages)
        self._wake.set()

    def take(self) -> list[Message]:
        """Everything queued, in id order; the queue is left empty."""
        queued, self._queue = self._queue, []
        return queued

    async def wait(self, timeout: float) -> None:
        """Return when messages are queued or the stream must read the database, or after `timeout`."""
        if self._queue or self.lagging:
            return
        timer = asyncio.get_running_loop().call_later(timeout, self._wake.set)
        try:
            await self._wake.wait()
        finally:
            timer.cancel()
            self._wake.clear()


class Hub:
    """The shared poller of one event loop (see the module docstring)."""

    def __init__(self) -> None:
        self._groups: dict[EventFilter, set[Subscription]] = {}
        self._count = 0
        self._task: asyncio.Task | None = None
        self._ready: asyncio.Future | None = None
        self._sleeping = False
        self.cursor = 0  # the highest event id dispatched (or stored when the hub started)
        self.queries = 0  # database reads made by the hub: one per interval while idle

    @property
    def subscribers(self) -> int:
        """Live streams subscribed now."""
        return self._count

    @property
    def running(self) -> bool:
        """True while the poller task is alive."""
        return self._task is not None

    async def subscribe(self, subscription: Subscription) -> None:
        """Add a stream; from now on every new event it matches is queued for it. Starts the hub if needed."""
        self._groups.setdefault(subscription.selection, set()).add(subscription)
        self._count += 1
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._ready = loop.create_future()
            self._task = loop.create_task(self._run(self._ready), name="autopack-events-hub")
        try:
            # The cursor must be known before the stream reads its backlog (see the module docstring).
            await asyncio.shield(self._ready)
        except BaseException:
            self.unsubscribe(subscription)
            raise

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove a stream (idempotent); the last one out stops the hub."""
        group = self._groups.get(subscription.selection)
        if group is None or subscription not in group:
            return
        group.discard(subscription)
        if not group:
            del self._groups[subscription.selection]
        self._count -= 1
        if self._count == 0 and self._sleeping and self._task is not None:
            # Waiting between reads: stop now. A read in flight is left to finish (at most one at a
            # time); the loop then sees no stream and ends.
            self._task.cancel()
            self._task = None

    async def _run(self, ready: asyncio.Future) -> None:
        waiter = Waiter()
        try:
            try:
                self.queries += 1
                self.cursor = await asyncio.to_thread(service.newest_event_id)
            except Exception as exc:
                log.warning("events_hub_start_failed", error_type=type(exc).__name__)
                ready.set_exception(exc)
                ready.exception()  # retrieved: the waiting streams get it, nobody else must log it
                return
            ready.set_result(None)
            while self._count:
                await self._read_new()
                if not self._count:
                    break
                self._sleeping = True
                try:
                    await waiter.wait(get_settings().events_poll_seconds)
                finally:
                    self._sleeping = False
        finally:
            if self._task is asyncio.current_task():
                self._task = None
            await waiter.close()

    async def _read_new(self) -> None:
        """Read and dispatch every event above the cursor, a page at a time."""
        while True:
            try:
                self.queries += 1
                page = await asyncio.to_thread(service.messages_after, self.cursor)
            except Exception as exc:  # noqa: BLE001 - the streams stay open; the next interval retries
                log.warning("events_hub_read_failed", error_type=type(exc).__name__)
                return
            if page:
                self.cursor = page[-1].id
                self._dispatch(page)
            if len(page) < service.PAGE or not self._count:
                return

    def _dispatch(self, page: list[Message]) -> None:
        for selection, group in self._groups.items():
            matching = page if selection == service.ALL_EVENTS else [m for m in page if selection.matches(m)]
            if matching:
                for subscription in group:
                    subscription.push(matching)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
