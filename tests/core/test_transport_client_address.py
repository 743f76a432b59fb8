"""The client address rules, the serve options and the body deadline, without a server process."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from autopack.cli import app as cli_app
from autopack.core.client_address import UNVERIFIED_FORWARDED, resolve_client, trusted_networks
from autopack.core.middleware import RequestGuardMiddleware
from autopack.core.settings import get_settings
from autopack.core.transport import PROTOCOL, server_options
from tests.conftest import run_payload

NONE = trusted_networks("")
PROXY = trusted_networks("10.9.0.0/16")


@pytest.mark.parametrize(("peer", "hops", "networks", "expected"), [
    (("8.8.8.8", 51000), [], NONE, None),
    (("8.8.8.8", 51000), ["1.1.1.1"], NONE, None),  # a direct client's own header is ignored
    (("8.8.8.8", 51000), ["8.8.8.8"], NONE, None),  # ... even naming itself: real peers have ports
    (("1.1.1.1", 0), ["1.1.1.1"], NONE, UNVERIFIED_FORWARDED),  # the server took it from the header
    (("1.1.1.1", 8080), ["2.2.2.2", "1.1.1.1:8080"], NONE, UNVERIFIED_FORWARDED),
    (("::1", 0), ["[::1]"], NONE, UNVERIFIED_FORWARDED),
    (("10.9.0.5", 40000), ["6.6.6.6", "1.1.1.1"], PROXY, "1.1.1.1"),  # nearest untrusted hop
    (("10.9.0.5", 40000), ["1.1.1.1", "10.9.0.7"], PROXY, "1.1.1.1"),
    (("10.9.0.5", 40000), ["10.9.0.8", "10.9.0.7"], PROXY, "10.9.0.8"),  # all trusted: the first
    (("1.1.1.1", 0), ["1.1.1.1"], PROXY, None),  # rewritten by a server configured with the proxies
    (("8.8.8.8", 51000), ["1.1.1.1"], PROXY, None),  # not from a trusted proxy
])
def test_resolve_client(peer, hops, networks, expected):
    assert resolve_client(peer, hops, networks) == expected


def test_rewritten_addresses_share_one_limit(make_client, monkeypatch):
    """What plain uvicorn hands the app for made-up X-Forwarded-For values (peer = a hop, port 0)."""
    monkeypatch.setenv("AUTOPACK_RUNS_START_RATE_LIMIT", "2/minute")
    codes = []
    for i in range(4):
        spoofed = f"198.51.100.{i}"
        client = make_client(client=(spoofed, 0))
        codes.append(client.post("/runs/start", json=run_payload(f"s{i}"),
                                 headers={"X-Forwarded-For": spoofed}).status_code)
    assert codes == [201, 201, 429, 429]
    direct = make_client(client=("192.0.2.1", 40001))
    assert direct.post("/runs/start", json=run_payload("d0"), headers={"X-Forwarded-For": "192.0.2.1"}
                       ).status_code == 201


def test_multiple_forwarded_for_lines_are_read_as_one_list(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_RUNS_START_RATE_LIMIT", "1/minute")
    monkeypatch.setenv("AUTOPACK_TRUSTED_PROXIES", "10.9.0.0/16")
    proxy = make_client(client=("10.9.0.5", 1))
    # a client-written line first, the proxy's own line last: the proxy's hop is the client
    headers = [("X-Forwarded-For", "1.1.1.1"), ("X-Forwarded-For", "2.2.2.2")]
    assert proxy.post("/runs/start", json=run_payload("m1"), headers=headers).status_code == 201
    headers = [("X-Forwarded-For", "3.3.3.3"), ("X-Forwarded-For", "2.2.2.2")]
    assert proxy.post("/runs/start", json=run_payload("m2"), headers=headers).status_code == 429


def test_serve_options_follow_the_trusted_proxies(monkeypatch):
    options = server_options()
    assert options == {"http": PROTOCOL, "timeout_keep_alive": 5.0, "proxy_headers": False,
                       "forwarded_allow_ips": []}
    monkeypatch.setenv("AUTOPACK_TRUSTED_PROXIES", " 10.0.0.1, 192.168.0.0/16 ")
    monkeypatch.setenv("AUTOPACK_KEEPALIVE_TIMEOUT_SECONDS", "2.5")
    get_settings.cache_clear()
    options = server_options()
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["10.0.0.1/32", "192.168.0.0/16"]
    assert options["timeout_keep_alive"] == 2.5


def test_serve_refuses_a_malformed_trusted_proxy(monkeypatch):
    monkeypatch.setenv("AUTOPACK_TRUSTED_PROXIES", "10.0.0.1, proxy.internal")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli_app, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "'proxy.internal' is not an IP address or network" in result.output


async def _drive_guard(messages: list[dict], body_timeout: float) -> list[dict]:
    """Run the guard over `messages` (then a silent client); return what it sent."""
    sent, queue = [], list(messages)
    reached_app = []

    async def receive():
        if queue:
            return queue.pop(0)
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        reached_app.append(True)

    guard = RequestGuardMiddleware(app, max_bytes=1000, body_timeout=body_timeout)
    scope = {"type": "http", "method": "POST", "path": "/runs/start", "query_string": b"",
             "headers": [(b"content-length", b"100")]}
    await asyncio.wait_for(guard(scope, receive, send), 5)
    assert not reached_app
    return sent


def test_guard_answers_408_and_closes_when_the_body_stalls():
    sent = asyncio.run(_drive_guard([{"type": "http.request", "body": b"{", "more_body": True}], 0.2))
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert b"Request body not received within 0.2 s" in sent[1]["body"]


def test_guard_deadline_restarts_with_every_piece():
    pieces = [{"type": "http.request", "body": b"x", "more_body": True}] * 3
    started = asyncio.run(_timed(pieces))
    assert started >= 0.45  # three pieces 0.15 s apart, then the 0.2 s stall


async def _timed(pieces: list[dict]) -> float:
    loop = asyncio.get_running_loop()
    begin = loop.time()
    queue = list(pieces)

    async def receive():
        await asyncio.sleep(0.15)
        if queue:
            return queue.pop(0)
        await asyncio.sleep(3600)

    async def send(message):
        pass

    async def app(scope, receive, send):
        raise AssertionError("the body never completed")

    guard = RequestGuardMiddleware(app, max_bytes=1000, body_timeout=0.2)
    await guard({"type": "http", "method": "POST", "path": "/x", "query_string": b"", "headers": []},
                receive, send)
    return loop.time() - begin


def test_oversized_body_answer_closes_the_connection(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_MAX_BODY_BYTES", "100")
    response = make_client().post("/runs/start", content=b"x" * 500)
    assert response.status_code == 413
    assert response.headers["connection"] == "close"
