"""A small keep-alive HTTP/1.1 load client on asyncio streams (the fallback when wrk is missing).

Every loop is bounded twice: a deadline and a shared request budget; each request also has a
timeout, so a stuck server cannot hold the benchmark.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

REQUEST_TIMEOUT = 5.0


@dataclass
class LoadStats:
    """Latencies (seconds) and error counts gathered by the workers."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: {"connect": 0, "read": 0, "status": 0,
                                                            "timeout": 0})
    seconds: float = 0.0
    budget: int = 0
    sent: int = 0

    @property
    def requests(self) -> int:
        """Completed requests (any status)."""
        return len(self.latencies)

    def take(self) -> int | None:
        """Spend one request of the budget: its index in the rotation, or None once it is gone."""
        if self.budget <= 0:
            return None
        self.budget -= 1
        self.sent += 1
        return self.sent - 1

    def percentile_ms(self, pct: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
        return ordered[rank] * 1000


def build_requests(host: str, method: str, paths: tuple[str, ...], bodies: tuple[str, ...]) -> list[bytes]:
    """Raw requests in the same rotation order as bench/lua/rotate.lua."""
    out = []
    for body in bodies or (None,):
        for path in paths:
            head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
            data = body.encode() if body is not None else b""
            if body is not None:
                head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            out.append((head + "\r\n").encode() + data)
    return out


async def _read_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one whole response; return its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        await _read_chunked(reader)
    elif length:
        await reader.readexactly(length)
    return status


async def _worker(host: str, port: int, requests: list[bytes], stats: LoadStats,
                  deadline: float) -> None:
    """One connection sending requests back to back until the deadline or the budget ends."""
    writer = None
    try:
        while time.perf_counter() < deadline and (index := stats.take()) is not None:
            if writer is None:
                try:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                            REQUEST_TIMEOUT)
                except (TimeoutError, OSError):
                    stats.errors["connect"] += 1
                    await asyncio.sleep(0.05)
                    continue
            started = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    writer.write(requests[index % len(requests)])
                    status = await read_response(reader)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                stats.errors["timeout" if isinstance(exc, TimeoutError) else "read"] += 1
                writer.close()
                writer = None
                continue
            stats.latencies.append(time.perf_counter() - started)
            if not 200 <= status < 400:
                stats.errors["status"] += 1
    finally:
        if writer is not None:
            writer.close()


async def _hammer(base_url: str, requests: list[bytes], connections: int, seconds: float,
                  max_requests: int) -> LoadStats:
    parts = urlsplit(base_url)
    stats = LoadStats(budget=max_requests)
    started = time.perf_counter()
    deadline = started + seconds
    # One shared counter walks the rotation, as wrk's single thread does.
    workers = [_worker(parts.hostname, parts.port, requests, stats, deadline) for _ in range(connections)]
    await asyncio.wait_for(asyncio.gather(*workers), seconds + REQUEST_TIMEOUT + 5)
    stats.seconds = time.perf_counter() - started
    return stats


def hammer(base_url: str, method: str, paths: tuple[str, ...], bodies: tuple[str, ...],
           connections: int, seconds: float, max_requests: int) -> LoadStats:
    """Run the bounded load and return what was measured."""
    host = urlsplit(base_url).netloc
    requests = build_requests(host, method, paths, bodies)
    return asyncio.run(_hammer(base_url, requests, connections, seconds, max_requests))
