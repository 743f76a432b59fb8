"""Refreshes against the fake token server: success, retries, rate limits, revocation, pause, reset."""

from __future__ import annotations

from datetime import timedelta

import pytest

from autopack.core.database import session_scope
from autopack.core.errors import BadRequest, NotFound
from autopack.db.base import utcnow
from autopack.oauth import crypto, handlers, service
from autopack.oauth.handlers import AttemptResult
from tests.oauth.conftest import (
    CLIENT_SECRET,
    REFRESH_TOKEN,
    credential,
    events,
    health,
    register,
    request_refresh,
)
from tests.oauth.fake_token_server import invalid_grant, rate_limited, server_error, success


@pytest.fixture
def github(token_server):
    """A registered github credential pointing at the fake token server."""
    register("github", token_url=token_server.url, expires_at=utcnow() + timedelta(seconds=30))
    return token_server


def test_success_stores_new_tokens_encrypted_and_resets_failures(github, worker):
    github.queue(success("at-FreshAccess", refresh_token="rt-Rotated", expires_in=3600))
    request_refresh()
    assert credential("github").refresh_state == "requested"
    assert worker.run_once() == 1
    assert github.requests == [{"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN,
                                "client_id": "client-1", "client_secret": CLIENT_SECRET}]
    cred = credential("github")
    assert crypto.decrypt(cred.access_token_encrypted) == "at-FreshAccess"
    assert crypto.decrypt(cred.refresh_token_encrypted) == "rt-Rotated"
    assert "at-FreshAccess" not in cred.access_token_encrypted
    assert (cred.refresh_state, cred.claim_token, cred.last_refresh_result) == ("idle", None, "success")
    assert (cred.total_refreshes, cred.consecutive_failures, cred.total_failures) == (1, 0, 0)
    assert timedelta(seconds=3590) < cred.expires_at - utcnow() <= timedelta(seconds=3600)
    assert health("github")["status"] == "valid"
    assert events("github")[-3:] == [("refresh_requested", None), ("refresh_attempt", None),
                                     ("refresh_success", None)]


def test_refresh_without_new_refresh_token_keeps_the_old_one(github, worker):
    github.queue(success("at-2", expires_in=None))
    request_refresh()
    worker.run_once()
    cred = credential("github")
    assert crypto.decrypt(cred.refresh_token_encrypted) == REFRESH_TOKEN
    assert cred.expires_at is None


def test_server_errors_are_retried_with_backoff_then_succeed(github, worker):
    github.queue(server_error(500), server_error(503), success())
    request_refresh(max_retries=3)
    worker.run_once()
    assert len(github.requests) == 3
    gaps = [b - a for a, b in zip(github.request_times, github.request_times[1:])]
    assert gaps[0] >= 0.01 and gaps[1] >= 0.02  # 0.01 × 2^attempt
    assert [e for e in events("github") if e[0] in ("refresh_retry", "refresh_success")] == [
        ("refresh_retry", "server_error"), ("refresh_retry", "server_error"), ("refresh_success", None)]
    cred = credential("github")
    assert (cred.total_refreshes, cred.consecutive_failures, cred.last_refresh_result) == (1, 0, "success")


def test_retries_run_out_then_exhausted_counts_one_failure(github, worker):
    github.queue(*[server_error()] * 3)
    request_refresh(max_retries=2)
    worker.run_once()
    assert len(github.requests) == 3
    assert events("github")[1:] == [
        ("refresh_requested", None),
        ("refresh_attempt", None), ("refresh_retry", "server_error"),
        ("refresh_attempt", None), ("refresh_retry", "server_error"),
        ("refresh_attempt", None), ("refresh_exhausted", "server_error"),
    ]
    cred = credential("github")
    assert (cred.consecutive_failures, cred.total_failures) == (1, 1)
    assert cred.last_refresh_result == "server_error"
    assert cred.last_refresh is not None and cred.refresh_state == "idle"
    assert health("github")["status"] == "expired"  # still usable state-wise; the token itself is expiring


def test_invalid_grant_stops_at_once_and_marks_revoked(github, worker):
    github.queue(invalid_grant(), success())
    request_refresh(max_retries=3)
    worker.run_once()
    assert len(github.requests) == 1
    assert events("github")[-2:] == [("refresh_attempt", None), ("refresh_failed", "invalid_grant")]
    cred = credential("github")
    assert (cred.consecutive_failures, cred.total_failures) == (1, 1)  # counted once, not twice
    result = health("github")
    assert (result["status"], result["is_healthy"], result["message"]) == (
        "revoked", False, "Credential has been revoked")


def test_rate_limit_honours_retry_after_capped(github, worker):
    from autopack.oauth.refresh import RefreshPolicy

    worker.policy = RefreshPolicy(backoff_seconds=0.01, max_wait_seconds=1.5, timeout_seconds=2,
                                  lease_seconds=30)
    github.queue(rate_limited("1"), rate_limited("3600"), rate_limited(), success())
    request_refresh(max_retries=3)
    worker.run_once()
    gaps = [b - a for a, b in zip(github.request_times, github.request_times[1:])]
    assert len(github.requests) == 4
    assert gaps[0] >= 1.0  # Retry-After honoured
    assert 1.5 <= gaps[1] < 3  # an hour is capped at AUTOPACK_OAUTH_REFRESH_MAX_WAIT_SECONDS
    with session_scope(writer=False) as session:
        page = service.list_events(session, provider="github", limit=100)["events"]
    limited = [e for e in page if e["event_type"] == "rate_limited"]
    # Without Retry-After: twice the exponential backoff (0.01 × 2^2 × 2).
    assert [e["details"]["wait_seconds"] for e in limited] == [1.0, 1.5, 0.08]
    assert [e["result"] for e in limited] == ["rate_limited"] * 3
    assert credential("github").last_refresh_result == "success"


def test_integer_retry_after_is_used_as_given():
    result = handlers.classify_response(_response(429, headers={"Retry-After": "7"}))
    assert (result.result, result.retry_after, result.retryable) == ("rate_limited", 7.0, True)
    assert handlers.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert handlers.parse_retry_after("soon") is None


def _response(status: int, body: dict | None = None, headers: dict | None = None):
    import httpx

    return httpx.Response(status, json=body or {}, headers=headers or {})


@pytest.mark.parametrize(("status", "body", "expected", "retryable"), [
    (200, {"access_token": "x", "expires_in": "60"}, "success", True),
    (200, {"error": "bad_refresh_token"}, "invalid_grant", False),
    (200, {"token_type": "bearer"}, "unknown_error", True),
    (401, {"error": "invalid_client"}, "unknown_error", False),
    (400, {"error": "invalid_grant"}, "invalid_grant", False),
    (502, {}, "server_error", True),
])
def test_token_endpoint_answers_are_classified(status, body, expected, retryable):
    result = handlers.classify_response(_response(status, body))
    assert (result.result, result.retryable) == (expected, retryable)


def test_slow_token_server_is_a_network_error(github, worker, monkeypatch):
    from autopack.oauth.refresh import RefreshPolicy

    worker.policy = RefreshPolicy(backoff_seconds=0.01, max_wait_seconds=0.1, timeout_seconds=0.2,
                                  lease_seconds=30)
    from tests.oauth.fake_token_server import Scripted

    github.queue(Scripted(200, {"access_token": "late"}, delay=1.0))
    github.default = Scripted(200, {"access_token": "late"}, delay=1.0)
    request_refresh(max_retries=1)
    worker.run_once()
    cred = credential("github")
    assert (cred.last_refresh_result, cred.last_error, cred.consecutive_failures) == (
        "network_error", "timeout", 1)
    assert crypto.decrypt(cred.access_token_encrypted) != "late"


def test_unreachable_token_server_is_a_network_error(worker):
    register("github", token_url="http://127.0.0.1:9/token")  # discard port: connection refused
    request_refresh(max_retries=0)
    worker.run_once()
    assert events("github")[-1] == ("refresh_exhausted", "network_error")
    assert credential("github").last_error == "ConnectError"


def test_three_exhausted_refreshes_trigger_pause_then_reset(github, worker):
    paused = []
    listener = lambda provider, reason: paused.append((provider, reason))  # noqa: E731
    handlers.add_pause_listener(listener)
    try:
        github.default = server_error()
        for expected in (1, 2, 3):
            request_refresh(max_retries=0)
            worker.run_once()
            assert credential("github").consecutive_failures == expected
    finally:
        handlers.remove_pause_listener(listener)
    assert paused == [("github", "max_consecutive_failures_reached")]
    assert [e for e in events("github") if e[0] == "pause_triggered"] == [("pause_triggered", None)]
    result = health("github")
    assert (result["status"], result["message"]) == ("refresh_failed", "Refresh failed 3 consecutive times")
    with session_scope() as session:
        assert service.reset_failure_count(session, "github", actor="test") == {
            "status": "success", "provider": "github", "message": "Failure count reset for github"}
    cred = credential("github")
    assert (cred.consecutive_failures, cred.total_failures) == (0, 3)
    assert events("github")[-1] == ("failure_count_reset", None)
    assert health("github")["status"] == "expired"


def test_request_refresh_errors_match_the_reference():
    register("nort", refresh_token=None)
    with pytest.raises(NotFound) as missing, session_scope() as session:
        service.request_refresh(session, "nobody", max_retries=3, actor="t")
    assert missing.value.detail == "No credential found for provider: nobody"
    with pytest.raises(BadRequest) as no_token, session_scope() as session:
        service.request_refresh(session, "nort", max_retries=3, actor="t")
    assert no_token.value.detail == "Credential does not have a refresh token"
    with pytest.raises(NotFound), session_scope() as session:
        service.reset_failure_count(session, "nobody", actor="t")


def test_custom_handler_replaces_the_generic_grant(worker):
    seen = []

    def handler(cred, timeout):
        seen.append((cred.provider, cred.refresh_token, cred.client_secret, timeout))
        return AttemptResult("success", access_token="at-custom", expires_in=60)

    register("custom", token_url="http://127.0.0.1:9/unused")
    handlers.register_handler("custom", handler)
    try:
        request_refresh("custom")
        worker.run_once()
    finally:
        handlers.unregister_handler("custom")
    assert seen == [("custom", REFRESH_TOKEN, CLIENT_SECRET, 2.0)]
    assert crypto.decrypt(credential("custom").access_token_encrypted) == "at-custom"
    assert handlers.get_handler("custom") is handlers.generic_oauth2_refresh


def test_a_crashing_handler_is_an_unknown_error_without_its_message(worker):
    def handler(cred, timeout):
        raise RuntimeError(f"boom {cred.refresh_token}")

    register("crashy")
    handlers.register_handler("crashy", handler)
    try:
        request_refresh("crashy", max_retries=1)
        worker.run_once()
    finally:
        handlers.unregister_handler("crashy")
    cred = credential("crashy")
    assert (cred.last_refresh_result, cred.last_error) == ("unknown_error", "RuntimeError")
    with session_scope(writer=False) as session:
        dumped = repr(service.list_events(session, provider="crashy", limit=100))
    assert REFRESH_TOKEN not in dumped
