"""Claims through the database: exactly once across workers, leases expire, shutdown hands work back."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from autopack.db.base import utcnow
from autopack.oauth.handlers import AttemptResult
from autopack.oauth.refresh import RefreshPolicy, finish_refresh
from autopack.oauth.worker import OAuthRefreshWorker, claim_next
from tests.oauth.conftest import credential, events, register, request_refresh, set_fields
from tests.oauth.fake_token_server import Scripted, server_error, success


def _in_threads(count: int, target) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = target()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_claims_of_one_request_succeed_exactly_once():
    register("github")
    request_refresh()
    claims = _in_threads(8, lambda: claim_next(30))
    won = [c for c in claims if c is not None]
    assert len(won) == 1
    cred = credential("github")
    assert (cred.refresh_state, cred.claim_token) == ("running", won[0].token)
    assert won[0].max_retries == 3 and won[0].reclaimed is False


def test_four_workers_refresh_each_request_exactly_once(token_server):
    token_server.default = Scripted(200, {"access_token": "at-new", "expires_in": 600}, delay=0.05)
    providers = [f"p{i}" for i in range(8)]
    for p in providers:
        register(p, token_url=token_server.url, refresh_token=f"rt-{p}")
        request_refresh(p)
    workers = [OAuthRefreshWorker(poll_seconds=0.05, policy=RefreshPolicy.from_settings()) for _ in range(4)]
    processed = _in_threads(4, lambda: workers.pop().run_once())
    assert sum(processed) == 8
    assert Counter(r["refresh_token"] for r in token_server.requests) == {f"rt-{p}": 1 for p in providers}
    for p in providers:
        cred = credential(p)
        assert (cred.total_refreshes, cred.refresh_state) == (1, "idle")
        assert [e for e in events(p) if e[0] == "refresh_attempt"] == [("refresh_attempt", None)]


def test_expired_lease_is_reclaimed_and_the_stale_result_discarded():
    register("github")
    request_refresh()
    first = claim_next(30)
    assert claim_next(30) is None  # held
    set_fields("github", claim_expires_at=utcnow() - timedelta(seconds=1))
    second = claim_next(30)
    assert second is not None and second.reclaimed and second.token != first.token
    finish_refresh(first, AttemptResult("success", access_token="stale"), 1, exhausted=False)
    cred = credential("github")
    assert (cred.total_refreshes, cred.claim_token, cred.refresh_state) == (0, second.token, "running")
    finish_refresh(second, AttemptResult("success", access_token="fresh"), 1, exhausted=False)
    assert (credential("github").total_refreshes, credential("github").refresh_state) == (1, "idle")


def test_no_work_means_no_claim():
    register("github")
    assert claim_next(30) is None
    assert credential("github").refresh_state == "idle"


def test_stopping_during_backoff_hands_the_claim_back(token_server):
    register("github", token_url=token_server.url)
    token_server.default = server_error()
    request_refresh(max_retries=3)
    worker = OAuthRefreshWorker(poll_seconds=0.05, policy=RefreshPolicy(
        backoff_seconds=30, max_wait_seconds=30, timeout_seconds=2, lease_seconds=30))
    runner = threading.Thread(target=worker.run_once)
    runner.start()
    deadline = time.monotonic() + 10
    while not token_server.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    worker.stop()
    runner.join(10)
    assert not runner.is_alive()
    cred = credential("github")
    assert (cred.refresh_state, cred.claim_token, cred.consecutive_failures) == ("requested", None, 0)
    assert len(token_server.requests) == 1


def test_request_during_a_running_refresh_runs_again_afterwards(token_server, worker):
    register("github", token_url=token_server.url)
    token_server.queue(Scripted(200, {"access_token": "at-1"}, delay=0.5), success("at-2"))
    request_refresh()
    claim = claim_next(30)
    runner = threading.Thread(target=worker.process, args=(claim,))
    runner.start()
    time.sleep(0.2)
    request_refresh()
    assert credential("github").refresh_state == "running"
    runner.join(10)
    assert credential("github").refresh_state == "requested"
    assert worker.run_once() == 1
    cred = credential("github")
    assert (cred.total_refreshes, cred.refresh_state, len(token_server.requests)) == (2, "idle", 2)


def test_app_lifespan_runs_the_worker(make_client, monkeypatch, token_server):
    monkeypatch.setenv("AUTOPACK_OAUTH_REFRESH_WORKER", "1")
    monkeypatch.setenv("AUTOPACK_OAUTH_REFRESH_POLL_SECONDS", "0.05")
    register("github", token_url=token_server.url)
    make_client()
    request_refresh()
    deadline = time.monotonic() + 15
    while credential("github").total_refreshes == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    cred = credential("github")
    assert (cred.total_refreshes, cred.refresh_state, cred.last_refresh_result) == (1, "idle", "success")
