"""The shared poller (events/hub.py): one read per interval for every stream, hand-over, overflow, filters.

These run the app in a thread of the test process (conftest.inprocess_server), so a listener on the
engine sees every read of the `events` table the server makes.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from contextlib import contextmanager

import httpx
from sqlalchemy import event, select

from autopack.core.database import get_engine, session_scope
from autopack.db.models import Event
from autopack.events import hub, log
from autopack.events.service import EventFilter, Message
from tests.auth.helpers import bearer, make_user
from tests.autopilot.core.conftest import create_tenant
from tests.conftest import run_payload
from tests.events.conftest import inprocess_server
from tests.events.sse import messages

EVENT_READ = re.compile(r"\bFROM events\b")


@contextmanager
def event_reads(only: str | None = None):
    """Count the SELECTs on `events` the process makes in the block (those containing `only`, if given)."""
    counter = {"reads": 0}

    def seen(_conn, _cursor, statement, _params, _context, _many):
        if EVENT_READ.search(statement) and (only is None or only in statement):
            counter["reads"] += 1

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", seen)


class RawStream:
    """One SSE stream on a plain socket (50 of them need no threads): read until a marker arrives."""

    def __init__(self, base: str, path: str):
        host, port = base.split("://", 1)[1].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.received = b""

    def read_until(self, marker: bytes, timeout: float = 15) -> None:
        """Block until `marker` is in what the stream sent (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while marker not in self.received:
            assert time.monotonic() < deadline, f"{marker!r} did not arrive"
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            assert chunk, "the server closed the stream"
            self.received += chunk

    def close(self) -> None:
        """Hang up."""
        self.sock.close()


def _subscribers(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith("autopack_event_stream_subscribers"))


def _wait_for_subscribers(base: str, count: float, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while _subscribers(base) != count:
        assert time.monotonic() < deadline, f"subscribers: {_subscribers(base)}, wanted {count}"
        time.sleep(0.05)


def _stored_ids(**where) -> list[int]:
    stmt = select(Event.id).order_by(Event.id)
    for column, value in where.items():
        stmt = stmt.where(getattr(Event, column) == value)
    with session_scope(writer=False) as session:
        return list(session.scalars(stmt))


def _write(run_id: str | None, count: int, *, per_transaction: int = 1, tenant_id: int | None = None,
           type: str = "test.hub") -> None:
    for first in range(0, count, per_transaction):
        with session_scope() as session:
            for index in range(first, min(count, first + per_transaction)):
                log.record(session, type, run_id=run_id, tenant_id=tenant_id, payload={"n": index})


def _listen(url: str, results: dict, key, *, after: int | None = None, headers: dict | None = None,
            until: dict | None = None, want: int | None = None, pause: float = 0.0, timeout: float = 60) -> None:
    """Read a stream into results[key] (ids) until `want` events, or until the id in until["id"] arrived."""
    headers = dict(headers or {})
    if after is not None:
        headers["Last-Event-ID"] = str(after)
    got: list[int] = []
    results[key] = got
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", url, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        for item in messages(response.iter_lines()):  # heartbeats (1 s) let the loop look at `until`
            if "data" in item:
                got.append(int(item["id"]))
                time.sleep(pause)  # a slow client
            if want is not None and len(got) >= want:
                return
            if until is not None and "id" in until and (not got or got[-1] >= until["id"]) and (
                    got or until["id"] <= (after or 0)):
                return
            if time.monotonic() > deadline:
                return


def test_fifty_streams_share_one_read_per_poll_and_the_hub_stops_with_the_last(monkeypatch):
    with inprocess_server(monkeypatch) as url:
        assert httpx.post(f"{url}/runs/start", json=run_payload("shared-run", 1, 1), timeout=10).status_code == 201
        base = _subscribers(url)
        streams = [RawStream(url, "/runs/shared-run/events") for _ in range(50)]
        try:
            for stream in streams:
                stream.read_until(b"event: run.state_changed")  # the backlog: the stream is live
            _wait_for_subscribers(url, base + 50)
            with event_reads() as idle:
                time.sleep(2.0)
            # Polls every 0.2 s: about 10 reads in 2 s for all 50 streams (50 streams polling: 500).
            assert 5 <= idle["reads"] <= 15, idle
            with event_reads() as live:
                started = time.monotonic()
                response = httpx.post(f"{url}/runs/shared-run/phases/F1.1/update_status",
                                      json={"state": "EXECUTING"}, timeout=10)
                assert response.status_code == 200
                for stream in streams:
                    stream.read_until(b'"to":"EXECUTING"')
                elapsed = time.monotonic() - started
            assert live["reads"] <= elapsed / 0.2 + 3, (live, elapsed)  # the new event was read once for all
        finally:
            for stream in streams:
                stream.close()
        _wait_for_subscribers(url, base)
        time.sleep(0.3)  # a read in flight when the last stream left may still finish
        with event_reads() as after_close:
            time.sleep(1.0)
        assert after_close["reads"] == 0  # no stream, no hub, no reads


def test_streams_opened_during_a_burst_get_every_event_exactly_once(monkeypatch):
    with inprocess_server(monkeypatch, AUTOPACK_EVENTS_POLL_SECONDS="0.05") as url:
        assert httpx.post(f"{url}/runs/start", json=run_payload("handover-run", 1, 1), timeout=10).status_code == 201
        stream_url = f"{url}/runs/handover-run/events"
        writer = threading.Thread(target=_write, args=("handover-run", 800))
        results: dict = {}
        until: dict = {}
        listeners = []
        writer.start()
        try:
            for index in range(12):  # opened while the burst is being written, resuming at varied points
                stored = _stored_ids(run_id="handover-run")
                after = [0, stored[-1], stored[len(stored) // 2]][index % 3]
                listener = threading.Thread(target=_listen, args=(stream_url, results, (index, after)),
                                            kwargs={"after": after, "until": until})
                listener.start()
                listeners.append(listener)
                time.sleep(0.08)
        finally:
            writer.join()
        stored = _stored_ids(run_id="handover-run")
        until["id"] = stored[-1]
        for listener in listeners:
            listener.join(60)
    assert len(stored) == 801 and len(results) == 12
    for (index, after), got in results.items():
        assert got == [i for i in stored if i > after], f"stream {index} resuming after {after}"


def test_a_stream_whose_queue_overflows_rereads_the_database_and_loses_nothing(monkeypatch):
    monkeypatch.setattr(hub, "QUEUE_LIMIT", 5)  # every batch below overflows a stream's queue
    with inprocess_server(monkeypatch) as url:
        assert httpx.post(f"{url}/runs/start", json=run_payload("slow-run", 1, 1), timeout=10).status_code == 201
        after = _stored_ids()[-1]
        results: dict = {}
        base = _subscribers(url)
        with event_reads(only="events.run_id") as own_reads:  # the stream's own reads (the hub reads all)
            listener = threading.Thread(target=_listen, args=(f"{url}/runs/slow-run/events", results, "slow"),
                                        kwargs={"after": after, "want": 300, "pause": 0.002})
            listener.start()
            _wait_for_subscribers(url, base + 1)
            _write("slow-run", 300, per_transaction=100)
            listener.join(60)
    assert results["slow"] == _stored_ids(run_id="slow-run")[1:]  # all 300 after RUN_CREATED, once, in order
    assert own_reads["reads"] >= 2  # the backlog read, then at least one catch-up after an overflow


def test_a_subscription_queue_stays_bounded():
    async def scenario() -> hub.Subscription:
        subscription = hub.Subscription(EventFilter(run_id="r"))
        subscription.lagging = False
        batch = [Message(i, "r", None, f"id: {i}\n\n") for i in range(400)]
        for _ in range(10):
            subscription.push(batch)
            assert len(subscription._queue) <= hub.QUEUE_LIMIT
        await subscription.wait(0.01)  # returns at once: the stream has to catch up from the database
        return subscription

    subscription = asyncio.run(scenario())
    assert subscription.lagging and subscription.overflows >= 3



def test_streams_with_different_filters_get_only_their_events(monkeypatch):
    acme, globex = create_tenant("acme"), create_tenant("globex")
    boss = bearer(make_user("boss", superuser=True)[1])
    with inprocess_server(monkeypatch) as url:
        for run_id in ("filter-a", "filter-b"):
            assert httpx.post(f"{url}/runs/start", json=run_payload(run_id, 1, 1), timeout=10).status_code == 201
        after = _stored_ids()[-1]
        plan = [("A", "filter-a", None), ("B", "filter-b", None), ("T", None, acme.id), ("G", None, globex.id),
                ("N", None, None), ("AT", "filter-a", acme.id)] * 3
        wanted = {"run-a": {"A", "AT"}, "run-a-again": {"A", "AT"}, "run-b": {"B"}, "acme": {"T", "AT"},
                  "all": {"A", "B", "T", "G", "N", "AT"}}
        streams = {"run-a": (f"{url}/runs/filter-a/events", None),
                   "run-a-again": (f"{url}/runs/filter-a/events", None),
                   "run-b": (f"{url}/runs/filter-b/events", None),
                   "acme": (f"{url}/api/v1/tenant/{acme.id}/autopilot/events", acme.viewer),
                   "all": (f"{url}/events", boss)}
        results: dict = {}
        base = _subscribers(url)
        listeners = [threading.Thread(target=_listen, args=(stream_url, results, key),
                                      kwargs={"after": after, "headers": headers,
                                              "want": sum(label in wanted[key] for label, _, _ in plan)})
                     for key, (stream_url, headers) in streams.items()]
        for listener in listeners:
            listener.start()
        _wait_for_subscribers(url, base + len(streams))
        for label, run_id, tenant_id in plan:
            _write(run_id, 1, tenant_id=tenant_id, type=f"test.filter.{label}")
        for listener in listeners:
            listener.join(60)
    with session_scope(writer=False) as session:
        labels = dict(session.execute(select(Event.id, Event.type).where(Event.id > after)).all())
    for key, got in results.items():
        expected = sorted(i for i, t in labels.items() if t.removeprefix("test.filter.") in wanted[key])
        assert got == expected, key
