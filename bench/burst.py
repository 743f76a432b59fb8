"""Concurrency: 64 requests at once over a mix of endpoints, against the same mix sent one by one.

While each burst runs, a probe on its own connection asks for an unknown path every 10 ms: that 404
is answered on the event loop without the thread pool, so its latency shows whether the loop stays
free while the endpoints work (sync work inside `async def` would stall it for the whole burst).
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
from payloads import STATES, Fixtures, run_payload, status_body, update_path

BURST = 64
KINDS = ("get_run", "health", "update_status", "start_run")
BURST_TIMEOUT = 60.0
PROBE_PATH = "/__bench_event_loop_probe"
PROBE_EVERY = 0.01
MAX_PROBES = 2000


def _requests(fx: Fixtures, tag: str, state: str) -> list[tuple[str, str, str, str | None]]:
    """(kind, method, path, body) x 64, the kinds interleaved, each update on its own phase."""
    out = []
    for i in range(BURST // len(KINDS)):
        out.append(("get_run", "GET", f"/runs/{fx.get_run_id}", None))
        out.append(("health", "GET", "/health", None))
        out.append(("update_status", "POST", update_path(fx.update_run_id, fx.phase_ids[i]),
                    status_body(state)))
        out.append(("start_run", "POST", "/runs/start",
                    json.dumps(run_payload(f"bench-burst-{tag}-{i:02d}", 5, 10))))
    return out


async def _timed(client: httpx.AsyncClient, kind: str, method: str, path: str,
                 body: str | None) -> tuple[str, int, float]:
    """(kind, status, seconds) of one request."""
    headers = {"Content-Type": "application/json"} if body is not None else None
    started = time.perf_counter()
    try:
        response = await client.request(method, path, content=body, headers=headers)
        status = response.status_code
    except httpx.HTTPError:
        status = 0
    return kind, status, time.perf_counter() - started


def _summary(results: list[tuple[str, int, float]], wall: float) -> dict:
    """Wall time, max latency overall and per kind, failures."""
    per_kind = {k: max(s for kind, _, s in results if kind == k) * 1000 for k in KINDS}
    return {
        "requests": len(results), "wall_ms": wall * 1000,
        "max_ms": max(s for _, _, s in results) * 1000,
        "max_ms_by_kind": per_kind,
        "failed": sum(1 for _, status, _ in results if not 200 <= status < 300),
    }


async def _probe(client: httpx.AsyncClient, stop: asyncio.Event) -> list[float]:
    """Latencies (seconds) of event-loop probes sent until `stop` is set."""
    latencies: list[float] = []
    while not stop.is_set() and len(latencies) < MAX_PROBES:
        started = time.perf_counter()
        await client.get(PROBE_PATH)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(PROBE_EVERY)
    return latencies


def _probe_summary(latencies: list[float]) -> dict:
    ordered = sorted(latencies) or [0.0]
    return {"count": len(latencies), "p50_ms": ordered[len(ordered) // 2] * 1000,
            "max_ms": ordered[-1] * 1000}


async def _burst(client: httpx.AsyncClient, prober: httpx.AsyncClient, batch: list) -> dict:
    stop = asyncio.Event()
    probe = asyncio.create_task(_probe(prober, stop))
    started = time.perf_counter()
    try:
        results = await asyncio.wait_for(asyncio.gather(*(_timed(client, *r) for r in batch)),
                                         BURST_TIMEOUT)
    finally:
        stop.set()
    summary = _summary(results, time.perf_counter() - started)
    summary["probe"] = _probe_summary(await asyncio.wait_for(probe, BURST_TIMEOUT))
    return summary


async def _timed_probe(client: httpx.AsyncClient) -> float:
    """Seconds one probe takes on an otherwise idle server."""
    started = time.perf_counter()
    await client.get(PROBE_PATH)
    return time.perf_counter() - started


async def _serial(client: httpx.AsyncClient, batch: list) -> dict:
    started = time.perf_counter()
    results = [await asyncio.wait_for(_timed(client, *r), BURST_TIMEOUT) for r in batch]
    return _summary(results, time.perf_counter() - started)


async def _scenario(url: str, fx: Fixtures, rounds: int) -> dict:
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=BURST_TIMEOUT) as client, \
            httpx.AsyncClient(base_url=url, timeout=BURST_TIMEOUT) as prober:
        idle = _probe_summary([await _timed_probe(prober) for _ in range(20)])
        await _burst(client, prober, _requests(fx, "warm", STATES[0]))  # also opens the 64 connections
        serial = await _serial(client, _requests(fx, "serial", STATES[1]))
        bursts = [await _burst(client, prober, _requests(fx, f"r{n}", STATES[n % 2]))
                  for n in range(rounds)]
    worst = max(bursts, key=lambda b: b["wall_ms"])
    return {"concurrent": BURST, "rounds": rounds, "idle_probe": idle, "serial": serial, "bursts": bursts,
            "worst": worst,
            "failed": sum(b["failed"] for b in bursts) + serial["failed"]}


def concurrency(url: str, fx: Fixtures, rounds: int = 3) -> dict:
    """Fire the 64-request mix `rounds` times (after a warm-up) and once sequentially."""
    return asyncio.run(_scenario(url, fx, rounds))
