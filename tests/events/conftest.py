"""Event stream tests: `autopack serve` on the test database, with fast polls and heartbeats."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.live_server import free_port, running


@contextmanager
def live_server(log_file: Path, **env: str):
    """`autopack serve` on a free port with fast polls and heartbeats: its base URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "autopack.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    full_env = {**os.environ, "AUTOPACK_APPROVAL_WORKER": "0", "AUTOPACK_OAUTH_REFRESH_WORKER": "0",
                "AUTOPACK_AUTOPILOT_WORKER": "0", "AUTOPACK_EVENTS_POLL_SECONDS": "0.2",
                "AUTOPACK_EVENTS_HEARTBEAT_SECONDS": "1", "AUTOPACK_RUNS_START_RATE_LIMIT": "100/minute",
                "AUTOPACK_EVENTS_MAX_STREAM_SECONDS": "0", **env}
    with running(cmd, port=port, env=full_env, log=log_file, timeout=30):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def server(tmp_path):
    """The base URL of a live server for this test."""
    with live_server(tmp_path / "server.log") as url:
        yield url


@contextmanager
def inprocess_server(monkeypatch, **env: str):
    """The app served by uvicorn in a thread of the test process (so tests can see its database reads
    and its hub): its base URL. Fast polls and heartbeats, no background workers, no stream lifetime."""
    import threading
    import time

    import uvicorn

    from autopack.core.settings import get_settings

    settings = {"AUTOPACK_APPROVAL_WORKER": "0", "AUTOPACK_OAUTH_REFRESH_WORKER": "0",
                "AUTOPACK_AUTOPILOT_WORKER": "0", "AUTOPACK_EVENTS_POLL_SECONDS": "0.2",
                "AUTOPACK_EVENTS_HEARTBEAT_SECONDS": "1", "AUTOPACK_EVENTS_MAX_STREAM_SECONDS": "0", **env}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    from autopack.main import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", loop="asyncio"))
    thread = threading.Thread(target=server.run, name="inprocess-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "in-process server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "in-process server did not stop"
