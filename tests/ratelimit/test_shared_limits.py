"""Rate limits shared through the real Redis by two app processes; fail-open when Redis is down."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import httpx
import pytest

from tests.conftest import run_payload
from tests.live_server import free_port, wait_until_up

REDIS_URL = os.environ.get("AUTOPACK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def redis_url():
    if not _redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis unreachable at {REDIS_URL} (required under CI=true)")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    return REDIS_URL


def _start(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "autopack.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_up(proc, port, None, timeout=30)
    except AssertionError:
        proc.kill()
        raise AssertionError(f"server did not start: {proc.stderr.read().decode()[-2000:]}") from None
    return proc, f"http://127.0.0.1:{port}"


def test_two_processes_share_one_limit(redis_url, runs_dir):
    prefix = f"autopack-test-{secrets.token_hex(4)}"
    env = {**os.environ, "AUTOPACK_RATE_LIMIT_STORAGE": redis_url, "AUTOPACK_RATE_LIMIT_PREFIX": prefix,
           "AUTOPACK_RUNS_START_RATE_LIMIT": "4/minute", "AUTONOMOUS_RUNS_DIR": str(runs_dir)}
    first, first_url = _start(env)
    second, second_url = _start(env)
    try:
        codes = []
        for i in range(6):
            base = first_url if i % 2 == 0 else second_url
            codes.append(httpx.post(base + "/runs/start", json=run_payload(f"shared-{i}"), timeout=10).status_code)
        assert codes == [201, 201, 201, 201, 429, 429]
        health = httpx.get(first_url + "/health", timeout=10).json()
        assert health["status"] == "healthy" and health["rate_limit_storage"] == "connected"
    finally:
        for proc in (first, second):
            proc.terminate()
            proc.wait(timeout=10)
        import redis

        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_redis_down_fails_open_and_health_is_degraded(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_RATE_LIMIT_STORAGE", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("AUTOPACK_RUNS_START_RATE_LIMIT", "1/minute")
    client = make_client()
    assert [client.post("/runs/start", json=run_payload(f"open-{i}")).status_code for i in range(3)] == [201] * 3
    health = client.get("/health").json()
    assert health["status"] == "degraded"
    assert health["rate_limit_storage"].startswith("error")
