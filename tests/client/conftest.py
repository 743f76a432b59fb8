"""Client tests: one live `autopack serve` per module (the instance key set), shared by its tests."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.auth.helpers import make_user
from tests.live_server import free_port, running

INSTANCE_KEY = "client-tests-instance-key"
SCRATCH: dict[str, Path] = {}  # a live server's URL → its scratch directory (storage root, uploads, runs)


@contextmanager
def serve(log: Path, **env: str):
    """`autopack serve` with the instance key, fast event polls, streams closed after 2 s, no workers."""
    port = free_port()
    cmd = [sys.executable, "-m", "autopack.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    full_env = {**os.environ, "AUTOPACK_API_KEY": INSTANCE_KEY, "AUTOPACK_APPROVAL_WORKER": "0",
                "AUTOPACK_OAUTH_REFRESH_WORKER": "0", "AUTOPACK_AUTOPILOT_WORKER": "0",
                "AUTOPACK_EVENTS_POLL_SECONDS": "0.2", "AUTOPACK_EVENTS_HEARTBEAT_SECONDS": "1",
                "AUTOPACK_EVENTS_MAX_STREAM_SECONDS": "2", "AUTOPACK_RUNS_START_RATE_LIMIT": "100/minute",
                "AUTONOMOUS_RUNS_DIR": str(log.parent / ".autonomous_runs"),
                "AUTOPACK_STORAGE_ROOTS": str(log.parent), "REPO_PATH": str(log.parent / "workspace"),
                "AUTOPACK_UPLOAD_DIR": str(log.parent / "uploads"),
                **env}
    url = f"http://127.0.0.1:{port}"
    SCRATCH[url] = log.parent
    (log.parent / "workspace").mkdir(exist_ok=True)  # REPO_PATH: where governed patches would be applied
    with running(cmd, port=port, env=full_env, log=log, timeout=60):
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The base URL of this module's live server."""
    with serve(tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url


@pytest.fixture
def server_dir(server) -> Path:
    """The live server's scratch directory (its only storage root)."""
    return SCRATCH[server]


@pytest.fixture
def admin(server):
    """A client with the instance key (acts as superuser)."""
    from autopack.client import Client

    with Client(server, api_key=INSTANCE_KEY, backoff=0.05) as client:
        yield client


@pytest.fixture
def anonymous(server):
    """A client with no credentials."""
    from autopack.client import Client

    with Client(server, backoff=0.05) as client:
        yield client


def user_client(server: str, username: str, *, superuser: bool = False):
    """A client logged in (by token) as a new user."""
    from autopack.client import Client

    _, token = make_user(username, superuser=superuser)
    return Client(server, token=token, backoff=0.05)
