"""`autopack serve` under attack, over real sockets: spoofed X-Forwarded-For, huge and slow requests."""

from __future__ import annotations

import os
import select
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import run_payload
from tests.live_server import free_port, running

LIMIT = 3  # POST /runs/start per minute on the servers below
BOUNDS = {"AUTOPACK_MAX_HEADER_BYTES": "8192", "AUTOPACK_HEADER_TIMEOUT_SECONDS": "2",
          "AUTOPACK_BODY_TIMEOUT_SECONDS": "1", "AUTOPACK_KEEPALIVE_TIMEOUT_SECONDS": "1"}


@contextmanager
def _server(log: Path, env: dict[str, str], plain_uvicorn: bool = False):
    """A server process on a free loopback port: `autopack serve`, or the plain uvicorn command."""
    port = free_port()
    if plain_uvicorn:
        cmd = [sys.executable, "-m", "uvicorn", "autopack.main:app", "--host", "127.0.0.1", "--port", str(port)]
    else:
        cmd = [sys.executable, "-m", "autopack.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    full_env = {**os.environ, "AUTOPACK_RUNS_START_RATE_LIMIT": f"{LIMIT}/minute",
                "AUTOPACK_APPROVAL_WORKER": "0", "AUTOPACK_OAUTH_REFRESH_WORKER": "0", **env}
    with running(cmd, port=port, env=full_env, log=log, timeout=30):
        yield port


@pytest.fixture(scope="module")
def bounded(tmp_path_factory):
    """`autopack serve` with no trusted proxies and small transport bounds: its port."""
    with _server(tmp_path_factory.mktemp("serve") / "server.log", BOUNDS) as port:
        yield port


def _start(port: int, run_id: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return httpx.post(f"http://127.0.0.1:{port}/runs/start", json=run_payload(run_id, 1, 1),
                      headers=headers, timeout=10).status_code


def _connect(port: int, timeout: float = 6.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(timeout)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset after its answer counts as closing)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


# 1. The client address comes only from AUTOPACK_TRUSTED_PROXIES.

def test_serve_ignores_forwarded_for_after_429(bounded):
    codes = [_start(bounded, f"own-{i}") for i in range(LIMIT + 1)]
    assert codes == [201] * LIMIT + [429]
    assert [_start(bounded, f"spoof-{i}", f"203.0.113.{i}") for i in range(3)] == [429] * 3


def test_plain_uvicorn_spoofs_share_one_bucket(tmp_path):
    """uvicorn's default trusts X-Forwarded-For from 127.0.0.1; the app caps what that buys."""
    with _server(tmp_path / "plain.log", {}, plain_uvicorn=True) as port:
        assert [_start(port, f"own-{i}") for i in range(LIMIT + 1)] == [201] * LIMIT + [429]
        spoofed = [_start(port, f"spoof-{i}", f"198.51.100.{i}") for i in range(LIMIT + 2)]
    assert spoofed == [201] * LIMIT + [429] * 2


def test_serve_believes_only_the_configured_proxy(tmp_path):
    with _server(tmp_path / "trusted.log", {"AUTOPACK_TRUSTED_PROXIES": "127.0.0.1"}) as port:
        first = [_start(port, f"a-{i}", "203.0.113.1") for i in range(LIMIT + 1)]
        other_client = _start(port, "b-0", "203.0.113.2")
        # the nearest untrusted hop counts, not whatever the client wrote in front of it
        prefixed = _start(port, "a-spoof", "192.0.2.9, 203.0.113.1")
    assert first == [201] * LIMIT + [429]
    assert other_client == 201
    assert prefixed == 429


def test_serve_does_not_trust_loopback_when_another_proxy_is_configured(tmp_path):
    with _server(tmp_path / "other.log", {"AUTOPACK_TRUSTED_PROXIES": "10.0.0.0/8"}) as port:
        codes = [_start(port, f"c-{i}") for i in range(LIMIT + 1)]
        spoofed = [_start(port, f"c-spoof-{i}", f"203.0.113.{i}") for i in range(2)]
    assert codes == [201] * LIMIT + [429]
    assert spoofed == [429, 429]


# 2. Transport bounds.

def test_head_over_the_limit_is_431(bounded):
    with _connect(bounded) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"connection: close" in answer


def test_head_under_the_limit_is_served(bounded):
    with _connect(bounded) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Ok: " + b"a" * 6000 + b"\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 200 ")


def test_head_growing_in_pieces_is_431(bounded):
    with _connect(bounded) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")
        try:
            for i in range(20):
                sock.sendall(b"X-Part-%d: " % i + b"b" * 1000 + b"\r\n")
                time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert _read_all(sock).startswith(b"HTTP/1.1 431 ")


@pytest.mark.parametrize("megabytes", [10, 50])
def test_huge_header_is_cut_off_early(bounded, megabytes):
    """The server stops reading long before the header ends: the send fails, or 431 arrives."""
    total = megabytes * 1024 * 1024
    piece = b"c" * 65536
    sent = 0
    started = time.monotonic()
    with _connect(bounded) as sock:
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Huge: ")
            while sent < total:
                sent += sock.send(piece)
            sock.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = _read_all(sock)
        except OSError:
            answer = b""
    assert sent < total, "the whole header was accepted"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")
    assert time.monotonic() - started < 5
    assert httpx.get(f"http://127.0.0.1:{bounded}/health", timeout=5).status_code == 200


def test_request_line_alone_is_closed_after_the_header_timeout(bounded):
    with _connect(bounded) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        started = time.monotonic()
        answer = _read_all(sock)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert 1.5 < waited < 4


def test_silent_connection_is_closed_after_the_header_timeout(bounded):
    with _connect(bounded) as sock:
        started = time.monotonic()
        assert _read_all(sock) == b""
        assert 1.5 < time.monotonic() - started < 4


def test_stalled_body_is_408(bounded):
    with _connect(bounded) as sock:
        sock.sendall(b"POST /runs/start HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n0123456789")
        started = time.monotonic()
        answer = _read_all(sock)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in answer
    assert b"Request body not received within 1 s" in answer
    assert 0.8 < waited < 3


def test_idle_keepalive_connection_is_closed(bounded):
    with _connect(bounded) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        _read_all(sock)  # the rest of the answer, then the close
        assert time.monotonic() - started < 2.5


def test_large_body_and_pipelined_requests_are_not_mistaken_for_heads(bounded):
    body = b'{"padding": "' + b"d" * 200_000 + b'"}'
    with _connect(bounded) as sock:
        # the guard reads the whole body before the router answers 405
        sock.sendall(b"POST /health HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body
                     + b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n" * 2
                     + b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 405 ")
    assert answer.count(b"HTTP/1.1 200 ") == 3
    assert b" 431 " not in answer


def _still_open(sock: socket.socket) -> bool:
    """Nothing to read yet: no answer, no close."""
    return not select.select([sock], [], [], 0)[0]


def test_health_answers_while_fifty_slow_connections_are_held(bounded):
    heads, bodies = [], []
    try:
        for _ in range(25):
            sock = _connect(bounded)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")  # head never finished
            heads.append(sock)
            sock = _connect(bounded)
            sock.sendall(b"POST /runs/start HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n{")
            bodies.append(sock)
        started = time.monotonic()
        response = httpx.get(f"http://127.0.0.1:{bounded}/health", timeout=5)
        elapsed = time.monotonic() - started
        held = sum(_still_open(sock) for sock in heads)
        answers = [_read_all(sock) for sock in heads + bodies]
    finally:
        for sock in heads + bodies:
            sock.close()
    assert response.status_code == 200
    assert elapsed < 1.0
    assert held == 25  # the stalled heads were all still open when /health answered
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers)
