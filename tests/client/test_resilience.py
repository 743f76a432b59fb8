"""Errors, retries, the resumable event iterator and the async client, against a live server."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import httpx
import pytest

from autopack.client import (
    AsyncClient,
    Client,
    Conflict,
    ConnectionFailed,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from autopack.client.calls import Call
from autopack.client.retry import RetryPolicy
from tests.client.conftest import INSTANCE_KEY, serve
from tests.conftest import run_payload
from tests.live_server import free_port


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server whose run starts are limited to 2 a second (a 429 with `Retry-After: 1` is easy to get)."""
    with serve(tmp_path_factory.mktemp("server") / "server.log",
               AUTOPACK_RUNS_START_RATE_LIMIT="2/second") as url:
        yield url


def test_each_refusal_raises_its_class_with_status_code_and_request_id(admin, anonymous, server):
    with pytest.raises(NotFound) as caught:
        admin.get_run("missing")
    assert (caught.value.status_code, caught.value.message, caught.value.code) == (404, "Run missing not found", None)
    assert caught.value.request_id and caught.value.request_id in str(caught.value)
    with pytest.raises(Forbidden) as caught:
        anonymous.start_run(run_payload("no-key", 1, 1))
    assert caught.value.status_code == 403
    with Client(server, token="not-a-token") as stranger, pytest.raises(Unauthorized) as caught:
        stranger.me()
    assert caught.value.status_code == 401
    admin.start_run(run_payload("errors-run", 1, 1))
    with pytest.raises(ValidationFailed) as caught:
        admin.update_phase_status("errors-run", "F1.1", "NOT_A_STATE")
    assert caught.value.status_code == 400
    with pytest.raises(ValidationFailed) as caught:
        admin.pending_approvals(limit=0)
    assert caught.value.status_code == 422 and caught.value.details[0]["loc"] == ["query", "limit"]
    asked = admin.request_approval("errors-run", "F1.1", context="delete")
    admin.decide_approval(asked.approval_id, True)
    with pytest.raises(Conflict) as caught:
        admin.decide_approval(asked.approval_id, False)
    assert "not pending" in caught.value.message
    with pytest.raises(NotFound):  # a stream that cannot start is refused at once, not retried forever
        next(iter(admin.events(run_id="no-such-run")))


def test_an_unreachable_server_is_connection_failed():
    with Client(f"http://127.0.0.1:{free_port()}", max_retries=1, backoff=0.01) as client:
        with pytest.raises(ConnectionFailed) as caught:
            client.health()
    assert caught.value.status_code is None and "cannot reach Autopack" in str(caught.value)


def test_a_429_is_retried_after_its_retry_after(server):
    statuses: list[tuple[int, str | None]] = []
    with Client(server, api_key=INSTANCE_KEY) as client:
        client.http.event_hooks["response"].append(
            lambda r: statuses.append((r.status_code, r.headers.get("Retry-After"))))
        runs = [client.start_run(run_payload(f"burst-{n}", 1, 1)) for n in range(4)]
    assert [r.id for r in runs] == [f"burst-{n}" for n in range(4)]
    assert (429, "1") in statuses  # refused once at least, then sent again after the second it asked for
    assert [s for s, _ in statuses].count(201) == 4


def test_a_429_past_the_retries_is_rate_limited_with_retry_after(server):
    with Client(server, api_key=INSTANCE_KEY, max_retries=0) as client:
        with pytest.raises(RateLimited) as caught:
            for n in range(5):
                client.start_run(run_payload(f"limited-{n}", 1, 1))
    assert (caught.value.status_code, caught.value.retry_after) == (429, 1.0)


def test_retry_policy_sends_again_only_what_is_safe():
    policy = RetryPolicy(max_retries=2, backoff=0.5, max_wait=5)
    post, get = Call("POST", "/runs/start"), Call("GET", "/runs")
    read_timeout, refused = httpx.ReadTimeout("slow"), httpx.ConnectError("refused")
    assert policy.after_error(post, read_timeout, 0) is None  # it may have been done: never twice
    assert policy.after_error(get, read_timeout, 0) == 0.5
    assert policy.after_error(post, refused, 1) == 1.0  # never sent: safe whatever the method
    assert policy.after_error(get, refused, 2) is None  # out of retries
    request = httpx.Request("POST", "http://x/runs/start")
    assert policy.after_response(post, httpx.Response(429, headers={"Retry-After": "3"}, request=request), 0) == 3
    assert policy.after_response(post, httpx.Response(429, headers={"Retry-After": "60"}, request=request), 0) is None
    assert policy.after_response(post, httpx.Response(503, request=request), 1) == 1.0
    assert policy.after_response(get, httpx.Response(500, request=request), 0) is None


def test_the_event_iterator_resumes_after_the_server_closes_the_stream(admin, server):
    admin.start_run(run_payload("streamed", 1, 2))
    admin.update_phase_status("streamed", "F1.1", "EXECUTING")
    opened: list[str | None] = []
    admin.http.event_hooks["request"].append(
        lambda r: opened.append(r.headers.get("Last-Event-ID")) if r.url.path.endswith("/events") else None)
    events = admin.events(run_id="streamed")
    backlog = list(itertools.takewhile(lambda e: e.payload.get("to") != "EXECUTING" or e.type != "phase.state_changed",
                                       events))
    def complete_after_the_reconnect():
        # The server closes every stream after 2 s; this transition happens once the client has come back.
        deadline = time.monotonic() + 30
        while len(opened) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        with Client(server, api_key=INSTANCE_KEY) as other:
            other.update_phase_status("streamed", "F1.1", "COMPLETE")

    later = threading.Thread(target=complete_after_the_reconnect)
    later.start()
    try:
        resumed = list(itertools.islice((e for e in events if e.type == "phase.state_changed"), 1))
    finally:
        later.join()
    assert resumed[0].payload["to"] == "COMPLETE"
    ids = [e.id for e in backlog]
    assert ids == sorted(set(ids)) and resumed[0].id > max(ids)
    assert opened[0] is None and len(opened) >= 2 and opened[1] is not None
    assert int(opened[1]) > max(ids)  # resumed after the last event seen: nothing sent twice


def test_the_async_client_has_the_same_methods(server):
    async def scenario():
        async with AsyncClient(server, api_key=INSTANCE_KEY) as client:
            run = await client.start_run(run_payload("async-run", 1, 1))
            moved = await client.update_phase_status("async-run", "F1.1", "EXECUTING")
            runs = [r.id async for r in client.iter_runs(page_size=1)]
            events = [e.type async for e in client.events(run_id="async-run", once=True)]
            tenant = await client.create_tenant("async-co", "Async Co")
            status = await client.autopilot(tenant.id).status()
            actions = [a async for a in client.autopilot(tenant.id).list_actions()]
            try:
                await client.get_run("missing-async")
            except NotFound as exc:
                missing = exc.status_code
            return run.id, moved.phase["state"], runs, events, status.autopilot_level, actions, missing

    run_id, state, runs, events, level, actions, missing = asyncio.run(scenario())
    assert (run_id, state, level, actions, missing) == ("async-run", "EXECUTING", 2, [], 404)
    assert "async-run" in runs
    assert "phase.state_changed" in events and "run.state_changed" in events


def test_an_answer_that_is_not_json_is_a_server_error():
    from autopack.client import ServerError
    from autopack.client.calls import decode

    answer = httpx.Response(200, text="<html>proxy</html>", headers={"X-Request-ID": "r-1"},
                            request=httpx.Request("GET", "http://x/runs"))
    with pytest.raises(ServerError) as caught:
        decode(Call("GET", "/runs"), answer)
    assert (caught.value.status_code, caught.value.request_id) == (200, "r-1")
