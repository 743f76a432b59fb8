"""Real server processes for tests that need a socket: a free loopback port, start, wait, stop."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(proc: subprocess.Popen, port: int, log: Path | None, timeout: float = 60,
                  ready: tuple[int, ...] = (200, 503)) -> None:
    """Poll /health until it answers one of `ready`; AssertionError with the log's tail otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code in ready:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
            raise AssertionError(f"server did not start: {tail}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    """Terminate, then kill if it does not go within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running(cmd: list[str], *, port: int, env: dict[str, str], log: Path, cwd: Path | None = None,
            timeout: float = 60, ready: tuple[int, ...] = (200, 503)) -> Iterator[subprocess.Popen]:
    """Run `cmd` (a server on `port`) with its output in `log`; stopped when the block ends."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(proc, port, log, timeout, ready)
        yield proc
    finally:
        stop(proc)
