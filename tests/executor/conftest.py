"""Executor tests: one live server per module, a temp git workspace per test, scripted builders."""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.http_fakes import reply_json
from tests.live_server import free_port, running

KEY = "executor-test-instance-key"


@contextmanager
def serving(tmp_path_factory, **extra_env: str):
    """`autopack serve` on the test database with fast event polls (and `extra_env`): its base URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "autopack.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "AUTOPACK_APPROVAL_WORKER": "0", "AUTOPACK_OAUTH_REFRESH_WORKER": "0",
           "AUTOPACK_AUTOPILOT_WORKER": "0", "AUTOPACK_EVENTS_POLL_SECONDS": "0.2",
           "AUTOPACK_EVENTS_HEARTBEAT_SECONDS": "1", "AUTOPACK_RUNS_START_RATE_LIMIT": "100/minute",
           "AUTOPACK_API_KEY": KEY, **extra_env}
    log = tmp_path_factory.mktemp("executor-server") / "server.log"
    with running(cmd, port=port, env=env, log=log, timeout=30):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One live server for the module: its base URL."""
    with serving(tmp_path_factory) as url:
        yield url


def git(root: Path, *args: str) -> str:
    """Run git in the workspace (a fixed identity, no user configuration)."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A git repository with a README and a committed app file."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "README.md").write_text("# demo\n")
    (root / "app.txt").write_text("version = 1\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "start")
    return root


def diff(path: str, old: str, new: str) -> str:
    """A unified diff turning `old` into `new` at `path` ("" old: a new file)."""
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 "/dev/null" if old == "" else f"a/{path}", f"b/{path}")
    return f"diff --git a/{path} b/{path}\n" + ("new file mode 100644\n" if old == "" else "") + "".join(lines)


def plan(run_id: str, phases: list[dict], **run: object) -> dict:
    """A start request: one tier holding `phases` in order."""
    return {"run": {"run_id": run_id, **run}, "tiers": [{"tier_id": "T1", "tier_index": 0, "name": "Build"}],
            "phases": [{"phase_index": i, "tier_id": "T1", "name": p["phase_id"], **p}
                       for i, p in enumerate(phases)]}


@pytest.fixture
def fake_http():
    """Start loopback servers answering `answer(path, json_body) -> (status, json)`; their base URLs."""
    servers = []

    def start(answer, seen: list | None = None) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _reply(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                if seen is not None:
                    seen.append((self.path, dict(self.headers), body))
                status, data = answer(self.path, body)
                reply_json(self, status, json.dumps(data).encode())

            do_GET = do_POST = _reply

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
