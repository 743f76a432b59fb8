"""The failed-login counters are shared through the real Redis by two servers; Redis down fails open."""

from __future__ import annotations

import secrets
import time

import httpx
import pytest

from tests.auth.helpers import make_user
from tests.ratelimit.test_shared_limits import _start, redis_url  # noqa: F401  (fixture)

RIGHT, WRONG = "correct-horse", "wrong-password"


@pytest.fixture
def two_servers(redis_url, runs_dir, monkeypatch):  # noqa: F811
    """Two uvicorn processes on the test database and one Redis key prefix."""
    import os

    import redis

    prefix = f"autopack-test-{secrets.token_hex(4)}"

    def start(**env) -> tuple:
        return _start({**os.environ, "AUTOPACK_RATE_LIMIT_STORAGE": redis_url,
                       "AUTOPACK_RATE_LIMIT_PREFIX": prefix, "AUTONOMOUS_RUNS_DIR": str(runs_dir), **env})

    procs = []

    def factory(**env) -> list[str]:
        urls = []
        for _ in range(2):
            proc, url = start(**env)
            procs.append(proc)
            urls.append(url)
        return urls

    yield factory, prefix
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def login(base: str, username: str, password: str) -> httpx.Response:
    return httpx.post(base + "/api/auth/login", data={"username": username, "password": password}, timeout=30)


def test_failures_on_one_server_lock_the_other(two_servers, redis_url):  # noqa: F811
    import redis

    factory, prefix = two_servers
    make_user("alice")
    first, second = factory(AUTOPACK_LOGIN_MAX_FAILURES="3")
    codes = [login(first if i % 2 == 0 else second, "alice", WRONG).status_code for i in range(3)]
    assert codes == [401, 401, 401]
    for base in (second, first):
        refused = login(base, "ALICE", RIGHT)
        assert refused.status_code == 429
        assert 50 <= int(refused.headers["Retry-After"]) <= 60
    stored = {key.decode() for key in redis.Redis.from_url(redis_url).scan_iter(f"{prefix}:login:*")}
    assert {key.rsplit(":", 1)[0] for key in stored} >= {
        f"{prefix}:login:fail:username", f"{prefix}:login:lock:username",
        f"{prefix}:login:fail:client", f"{prefix}:login:lock:client"}


def test_a_success_on_one_server_resets_the_username_on_the_other(two_servers, redis_url):  # noqa: F811
    import redis

    factory, prefix = two_servers
    make_user("alice")
    # A 4 s lockout: the refused attempt below still falls inside it on a loaded machine.
    first, second = factory(AUTOPACK_LOGIN_MAX_FAILURES="3", AUTOPACK_LOGIN_LOCKOUT_MAX_SECONDS="4")
    assert [login(first, "alice", WRONG).status_code for _ in range(3)] == [401, 401, 401]
    assert login(second, "alice", RIGHT).status_code == 429
    time.sleep(4.2)
    assert login(second, "alice", RIGHT).status_code == 200
    stored = redis.Redis.from_url(redis_url)
    left = {key.decode().rsplit(":", 1)[0] for key in stored.scan_iter(f"{prefix}:login:*")}
    # the username's failures are forgotten; the client address keeps its three
    assert left == {f"{prefix}:login:fail:client"}
    assert [int(stored.get(k)) for k in stored.scan_iter(f"{prefix}:login:fail:client:*")] == [3]


def test_redis_down_login_still_works(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_RATE_LIMIT_STORAGE", "redis://127.0.0.1:1/0")
    client = make_client()
    make_user("alice")
    body = {"username": "alice", "password": WRONG}
    assert [client.post("/api/auth/login", data=body).status_code for _ in range(7)] == [401] * 7
    right = client.post("/api/auth/login", data={"username": "alice", "password": RIGHT})
    assert right.status_code == 200
