"""`autopack serve --workers 2`: one fresh PROMETHEUS_MULTIPROC_DIR, and every scrape adds up both workers."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from prometheus_client.mmap_dict import MmapedDict

from tests.live_server import free_port, running
from tests.metrics.helpers import samples, value


def _health_counts_per_worker(folder) -> list[float]:
    """Each worker's own count of GET /health (read straight from its counter file)."""
    counts = []
    for path in sorted(folder.glob("counter_*.db")):
        total = sum(v for key, v, *_ in MmapedDict.read_all_values_from_file(str(path))
                    if "autopack_http_requests" in key and '"/health"' in key)
        counts.append(total)
    return counts


def _settled_total(folder) -> float:
    """The summed count once it stops moving (a worker counts a request just after sending its answer)."""
    total = -1.0
    while True:
        time.sleep(0.3)
        now = sum(_health_counts_per_worker(folder))
        if now == total:
            return total
        total = now


def test_two_workers_are_added_up(tmp_path):
    port = free_port()
    data_dir = tmp_path / "data"
    env = {**os.environ, "AUTOPACK_DATA_DIR": str(data_dir), "AUTOPACK_APPROVAL_WORKER": "0",
           "AUTOPACK_OAUTH_REFRESH_WORKER": "0", "AUTOPACK_AUTOPILOT_WORKER": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [sys.executable, "-m", "autopack.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", "2"]
    base = f"http://127.0.0.1:{port}"
    with running(cmd, port=port, env=env, log=tmp_path / "serve.log", timeout=60):
        (folder,) = (data_dir / "prometheus").glob("serve-*")
        sent = _settled_total(folder)  # wait_until_up's polls
        deadline = time.monotonic() + 30
        with ThreadPoolExecutor(8) as pool:
            # New connections, several at once, until both workers have answered some.
            while sum(1 for c in _health_counts_per_worker(folder) if c) < 2:
                assert time.monotonic() < deadline, _health_counts_per_worker(folder)
                statuses = list(pool.map(lambda _: httpx.get(f"{base}/health").status_code, range(16)))
                assert statuses == [200] * 16
                sent += 16
        assert _settled_total(folder) == sent
        for _ in range(6):  # scrapes land on either worker: every one sees the sum
            found = samples(httpx.get(f"{base}/metrics").text)
            assert sum(value(found, "autopack_http_requests_total", method="GET", route="/health", status=s)
                       for s in ("200", "503")) == sent
    assert not folder.exists()  # the serve removed its directory when it stopped
