"""Event streams over real sockets: `autopack serve` subprocesses on the test database."""

from __future__ import annotations

import threading
import time

import httpx
from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.db.models import Event
from autopack.events import log
from tests.conftest import run_payload
from tests.events.conftest import live_server
from tests.events.sse import messages, read_stream

BURST = 1000


def _write_burst(run_id: str, count: int) -> None:
    """`count` events for the run, each in its own transaction (as separate requests would be)."""
    for index in range(count):
        with session_scope() as session:
            log.record(session, "test.burst", run_id=run_id, payload={"n": index})


def test_a_burst_with_a_disconnect_and_a_resume_arrives_exactly_once(server):
    assert httpx.post(f"{server}/runs/start", json=run_payload("burst-run", 1, 1), timeout=10).status_code == 201
    writer = threading.Thread(target=_write_burst, args=("burst-run", BURST))
    writer.start()
    try:
        first, _ = read_stream(f"{server}/runs/burst-run/events", BURST, stop_after=400)
        assert len(first) == 400  # hung up in the middle of the burst
        # Phase updates through the API while nobody listens: they must arrive after the resume too.
        for state in ("EXECUTING", "COMPLETE"):
            response = httpx.post(f"{server}/runs/burst-run/phases/F1.1/update_status", json={"state": state})
            assert response.status_code == 200
    finally:
        writer.join()
    with session_scope(writer=False) as session:
        stored = list(session.scalars(select(Event.id).where(Event.run_id == "burst-run").order_by(Event.id)))
    assert len(stored) >= BURST + 3  # the burst, RUN_CREATED, two phase moves (and the tier and run rollups)
    rest, _ = read_stream(f"{server}/runs/burst-run/events", len(stored) - 400, after=int(first[-1]["id"]))
    received = [int(e["id"]) for e in first + rest]
    assert received == stored  # every event exactly once, in order
    assert sum(e["event"] == "test.burst" for e in first + rest) == BURST
    assert [e["data"]["payload"]["n"] for e in first + rest if e["event"] == "test.burst"] == list(range(BURST))


def test_an_idle_stream_sends_heartbeats_and_new_events(server):
    httpx.post(f"{server}/runs/start", json=run_payload("idle-run", 1, 1), timeout=10)
    url = f"{server}/runs/idle-run/events"
    backlog = [int(e["id"]) for e in read_stream(f"{url}?once=1", 10**6, timeout=5)[0]]
    comments: list[str] = []
    with httpx.stream("GET", url, headers={"Last-Event-ID": str(backlog[-1])}, timeout=10) as response:
        lines = response.iter_lines()
        started = time.monotonic()
        for item in messages(lines):
            if "comment" in item:
                comments.append(item["comment"])
                break
        assert time.monotonic() - started < 5
        httpx.post(f"{server}/runs/idle-run/phases/F1.1/update_status", json={"state": "EXECUTING"})
        new = next(item for item in messages(lines) if "data" in item)
    assert comments == ["heartbeat"]
    assert new["event"] == "phase.state_changed" and int(new["id"]) > backlog[-1]


def test_an_event_written_through_another_instance_arrives(server, tmp_path):
    with live_server(tmp_path / "second.log") as second:
        assert httpx.post(f"{second}/runs/start", json=run_payload("two-run", 1, 1), timeout=10).status_code == 201
        backlog = read_stream(f"{server}/runs/two-run/events?once=1", 10**6, timeout=5)[0]
        assert [e["event"] for e in backlog] == ["run.state_changed"]
        received: list[dict] = []

        def listen() -> None:
            received.extend(read_stream(f"{server}/runs/two-run/events", 1, after=int(backlog[-1]["id"]), timeout=20)[0])

        listener = threading.Thread(target=listen)
        listener.start()
        time.sleep(0.5)
        response = httpx.post(f"{second}/runs/two-run/phases/F1.1/update_status", json={"state": "EXECUTING"})
        assert response.status_code == 200
        listener.join(25)
    assert received and received[0]["event"] == "phase.state_changed"
    assert received[0]["data"]["payload"]["to"] == "EXECUTING"


def _subscribers(server: str) -> float:
    text = httpx.get(f"{server}/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith("autopack_event_stream_subscribers"))


def test_open_streams_are_counted_in_the_metrics(server):
    httpx.post(f"{server}/runs/start", json=run_payload("gauge-run", 1, 1), timeout=10)
    assert _subscribers(server) == 0
    with httpx.stream("GET", f"{server}/runs/gauge-run/events", timeout=10) as response:
        lines = response.iter_lines()  # kept: a dropped line iterator closes the response
        assert next(lines) == "retry: 1000"  # the stream is open
        assert _subscribers(server) == 1
    deadline = time.monotonic() + 10
    while _subscribers(server) != 0 and time.monotonic() < deadline:  # noticed at the next poll
        time.sleep(0.1)
    assert _subscribers(server) == 0
