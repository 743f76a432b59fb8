"""With Redis, a committed event wakes a waiting stream at once instead of at the next poll."""

from __future__ import annotations

import os
import threading
import time

import httpx
import pytest

from tests.conftest import run_payload
from tests.events.conftest import live_server
from tests.events.sse import read_stream

REDIS_URL = os.environ.get("AUTOPACK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except Exception:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis unreachable at {REDIS_URL} (required under CI=true)")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    return REDIS_URL


def test_a_wake_up_ends_the_wait_long_before_the_poll_interval(redis_url, tmp_path):
    # Polls every 30 s: an event arriving within a few seconds can only have come through Redis.
    with live_server(tmp_path / "server.log", AUTOPACK_EVENTS_REDIS=redis_url, AUTOPACK_EVENTS_POLL_SECONDS="30",
                 AUTOPACK_EVENTS_HEARTBEAT_SECONDS="60") as server:
        httpx.post(f"{server}/runs/start", json=run_payload("wake-run", 1, 1), timeout=10)
        backlog = read_stream(f"{server}/runs/wake-run/events?once=1", 10**6, timeout=5)[0]
        received: list[dict] = []
        listener = threading.Thread(target=lambda: received.extend(read_stream(
            f"{server}/runs/wake-run/events", 1, after=int(backlog[-1]["id"]), timeout=25)[0]))
        listener.start()
        time.sleep(1.0)  # the stream has read its (empty) backlog and waits
        started = time.monotonic()
        httpx.post(f"{server}/runs/wake-run/phases/F1.1/update_status", json={"state": "EXECUTING"})
        listener.join(25)
        elapsed = time.monotonic() - started
    assert received and received[0]["event"] == "phase.state_changed"
    assert elapsed < 5
