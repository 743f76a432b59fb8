"""`autopack runs watch` against a live server: it follows the run and exits at its final state."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import run_payload
from tests.events.conftest import live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One live server for this module's watchers."""
    with live_server(tmp_path_factory.mktemp("watch") / "server.log") as url:
        yield url


def _watch(url: str, run_id: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autopack.cli", "runs", "watch", run_id, "--api-url", url],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLUMNS": "120"})


def test_watch_follows_the_run_and_exits_when_it_is_done(server):
    assert httpx.post(f"{server}/runs/start", json=run_payload("watched", 1, 2), timeout=10).status_code == 201
    watcher = _watch(server, "watched")
    try:
        time.sleep(1.5)
        assert watcher.poll() is None  # still watching: the run is not finished
        for phase, state in (("F1.1", "EXECUTING"), ("F1.1", "COMPLETE"), ("F1.2", "COMPLETE")):
            response = httpx.post(f"{server}/runs/watched/phases/{phase}/update_status", json={"state": state})
            assert response.status_code == 200
        output, _ = watcher.communicate(timeout=30)
    finally:
        watcher.kill()
    assert watcher.returncode == 0
    assert "run watched finished: DONE_SUCCESS" in output
    assert "F1.2" in output and "COMPLETE" in output


def test_watch_refuses_an_unknown_run(server):
    watcher = _watch(server, "missing")
    output, _ = watcher.communicate(timeout=30)
    assert watcher.returncode != 0
    assert "Run missing not found" in output
