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
