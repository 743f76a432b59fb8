"""Live measurements (issue [7]): the usage summary over 1,000,000 stored events, the cost of the event
write on update_status with 100 streams open, and GET /health beside 500 idle event streams.

Called from bench/run.py with a fresh Autopack server of its own (`measure`). The open streams are held
by this file run as a separate process (`python bench/live.py hold ...`), so their client work is
not done by the load generator; every holder is bounded in time and closed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from benchdb import BenchDatabase, as_database
from loadgen import Driver, LoadSpec, Target
from payloads import STATES, Fixtures, create_fixtures, run_payload, status_body, update_path
from scenarios import _bracket, _measure
from servers import Server, venv_python

USAGE_EVENTS = 1_000_000
UPDATE_STREAMS = 100
IDLE_STREAMS = 500
IDLE_RUN_ID = "bench-live-idle"
FD_LIMIT = 4096  # the soft RLIMIT_NOFILE wanted for the servers and the holders (inherited)
OPEN_TIMEOUT = 60.0  # seconds for a holder to open all its streams
# The usage summary takes a large fraction of a second: 16 connections would only queue (and leave
# the abandoned requests of the warm-up running into the measurement); 4 keep both read threads busy.
USAGE_CONNECTIONS = 4
IDLE_SAMPLE_S = 3.0  # seconds the server's CPU is sampled with the streams open and no requests

# ------------------------------------------------------------------------------------------ seeding

SPREAD_DAYS = 60  # the month filter keeps about half the rows
MODELS = (("anthropic", "claude-opus-4"), ("anthropic", "claude-sonnet-4"), ("anthropic", "claude-haiku-4"),
          ("openai", "gpt-5"), ("openai", "gpt-5-mini"), ("openai", "o4-mini"),
          ("google", "gemini-2.5-pro"), ("google", "gemini-2.5-flash"),
          ("mistral", "mistral-large"), ("mistral", "codestral"), ("mistral", "ministral-8b"))
# Row i is i * spread / count seconds before `now`, model MODELS[i % 11]; tokens vary deterministically,
# every 50th row has no prompt/completion split (NULLs, as executors may send), every 20th is a doctor call.
# Columns follow src/autopack/db/models/usage.py; timestamps are naive UTC text as SQLAlchemy stores them.
_USAGE_SQL = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :count),
models(k, provider, model) AS (SELECT * FROM (VALUES {models}))
INSERT INTO llm_usage_events (provider, model, run_id, phase_id, role, total_tokens, prompt_tokens,
    completion_tokens, is_doctor_call, doctor_model, doctor_action, created_at)
SELECT m.provider, m.model, :run_id, NULL,
    CASE i % 3 WHEN 0 THEN 'builder' WHEN 1 THEN 'auditor' ELSE 'doctor' END,
    (500 + (i * 7919) % 3000) + (100 + (i * 104729) % 1500),
    CASE WHEN i % 50 = 0 THEN NULL ELSE 500 + (i * 7919) % 3000 END,
    CASE WHEN i % 50 = 0 THEN NULL ELSE 100 + (i * 104729) % 1500 END,
    i % 20 = 0, NULL, NULL,
    strftime('%Y-%m-%d %H:%M:%S', :now, '-' || (i * :spread / :count) || ' seconds') || '.000000'
FROM n JOIN models m ON m.k = i % {n_models}
"""
# The per-hour totals the server keeps as events are recorded (src/autopack/usage/service.py), filled the
# same way for the rows just seeded (hour text as SQLAlchemy writes it; added to rows already there).
_HOURLY_SQL = """
INSERT INTO llm_usage_hourly (provider, model, hour, total_tokens, prompt_tokens, completion_tokens, events)
SELECT provider, model, strftime('%Y-%m-%d %H:00:00.000000', created_at), SUM(total_tokens),
    COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), COUNT(*)
FROM llm_usage_events WHERE id > :after GROUP BY 1, 2, 3
ON CONFLICT (provider, model, hour) DO UPDATE SET total_tokens = total_tokens + excluded.total_tokens,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens, events = events + excluded.events
"""
# The same rows on PostgreSQL (timestamptz; the hour truncated in UTC, as the server keeps it).
_PG_USAGE_SQL = """
INSERT INTO llm_usage_events (provider, model, run_id, phase_id, role, total_tokens, prompt_tokens,
    completion_tokens, is_doctor_call, doctor_model, doctor_action, created_at)
SELECT m.provider, m.model, %(run_id)s, NULL,
    CASE mod(i, 3) WHEN 0 THEN 'builder' WHEN 1 THEN 'auditor' ELSE 'doctor' END,
    (500 + mod(i * 7919, 3000)) + (100 + mod(i * 104729, 1500)),
    CASE WHEN mod(i, 50) = 0 THEN NULL ELSE 500 + mod(i * 7919, 3000) END,
    CASE WHEN mod(i, 50) = 0 THEN NULL ELSE 100 + mod(i * 104729, 1500) END,
    mod(i, 20) = 0, NULL, NULL,
    date_trunc('second', now()) - make_interval(secs => (i::bigint * %(spread)s / %(count)s)::float8)
FROM generate_series(0::bigint, %(count)s - 1) AS i JOIN (VALUES {models}) AS m(k, provider, model) ON m.k = mod(i, {n_models})
"""
_PG_HOURLY_SQL = """
INSERT INTO llm_usage_hourly (provider, model, hour, total_tokens, prompt_tokens, completion_tokens, events)
SELECT provider, model, date_trunc('hour', created_at), SUM(total_tokens),
    COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), COUNT(*)
FROM llm_usage_events WHERE id > %(after)s GROUP BY 1, 2, 3
ON CONFLICT (provider, model, hour) DO UPDATE SET
    total_tokens = llm_usage_hourly.total_tokens + excluded.total_tokens,
    prompt_tokens = llm_usage_hourly.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = llm_usage_hourly.completion_tokens + excluded.completion_tokens,
    events = llm_usage_hourly.events + excluded.events
"""


def seed_usage(db: Path | BenchDatabase, count: int, run_id: str) -> dict:
    """Insert `count` usage events over the last SPREAD_DAYS days, and their hourly totals; counts, seconds."""
    started = time.perf_counter()
    values = ", ".join(f"({k}, '{p}', '{m}')" for k, (p, m) in enumerate(MODELS))
    params = {"count": count, "run_id": run_id, "spread": SPREAD_DAYS * 86400}
    with as_database(db).connect() as conn:
        raw = conn.raw
        if conn.kind == "sqlite":
            raw.execute("PRAGMA busy_timeout=60000")
            raw.execute("BEGIN IMMEDIATE")
            after = raw.execute("SELECT COALESCE(MAX(id), 0) FROM llm_usage_events").fetchone()[0]
            raw.execute(_USAGE_SQL.format(models=values, n_models=len(MODELS)),
                        {**params, "now": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")})
            raw.execute(_HOURLY_SQL, {"after": after})
            raw.execute("COMMIT")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            month = raw.execute("SELECT COUNT(*) FROM llm_usage_events WHERE created_at >= "
                                "strftime('%Y-%m-%d %H:%M:%S', 'now', '-30 days')").fetchone()[0]
        else:
            with raw.transaction():
                raw.execute("SET LOCAL timezone = 'UTC'")
                after = raw.execute("SELECT COALESCE(MAX(id), 0) FROM llm_usage_events").fetchone()[0]
                raw.execute(_PG_USAGE_SQL.format(models=values, n_models=len(MODELS)), params)
                raw.execute(_PG_HOURLY_SQL, {"after": after})
            raw.execute("ANALYZE llm_usage_events, llm_usage_hourly")
            month = raw.execute("SELECT COUNT(*) FROM llm_usage_events WHERE created_at >= "
                                "now() - interval '30 days'").fetchone()[0]
    return {"events": count, "last_30_days": month, "providers": len({p for p, _ in MODELS}),
            "models": len(MODELS), "spread_days": SPREAD_DAYS, "seconds": round(time.perf_counter() - started, 2)}


def last_event_id(db: Path | BenchDatabase) -> int:
    """The newest event id, so new streams start where a caught-up watcher would."""
    with as_database(db).connect() as conn:
        return conn.scalar("SELECT COALESCE(MAX(id), 0) FROM events")


def raise_fd_limit(want: int = FD_LIMIT) -> dict:
    """Raise the soft RLIMIT_NOFILE to `want` (up to the hard limit); children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return {"before": soft, "now": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}


def process_fd_limit(pid: int) -> int | None:
    """The soft open-files limit of a running process, from /proc."""
    try:
        text = Path(f"/proc/{pid}/limits").read_text()
    except OSError:
        return None
    match = re.search(r"^Max open files\s+(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else None


# -------------------------------------------------------------------- the stream holder (a process)


async def _stream(host: str, port: int, path: str, stats: dict, opened: asyncio.Event,
                  stop: asyncio.Event) -> None:
    """One SSE stream: send the GET, check the 200, then read and discard until `stop`."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        if not head.startswith(b"HTTP/1.1 200") or b"text/event-stream" not in head:
            raise RuntimeError(head[:200].decode(errors="replace"))
        stats["open"] += 1
        if stats["open"] == stats["wanted"]:
            opened.set()
        carry = b""
        while True:
            reading = asyncio.ensure_future(reader.read(65536))
            await asyncio.wait({reading, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                break
            chunk = reading.result()
            if not chunk:
                stats["closed_by_server"] += 1
                break
            stats["bytes"] += len(chunk)
            stats["events"] += (carry + chunk).count(b"id: ")
            stats["heartbeats"] += (carry + chunk).count(b": heartbeat")
            carry = chunk[-10:]
    finally:
        stopper.cancel()
        writer.close()


async def _hold(url: str, path: str, count: int, seconds: float) -> dict:
    """Open `count` streams (50 at a time), print READY, hold them until SIGTERM or `seconds`."""
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    stats = {"wanted": count, "open": 0, "failed": 0, "closed_by_server": 0, "bytes": 0, "events": 0,
             "heartbeats": 0}
    stop, opened = asyncio.Event(), asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    deadline = time.monotonic() + seconds
    tasks = []
    for first in range(0, count, 50):
        batch = [asyncio.create_task(_stream(host, int(port), path, stats, opened, stop))
                 for _ in range(first, min(count, first + 50))]
        tasks += batch
        await asyncio.wait(batch, timeout=0.2)  # let the batch connect before the next one
    try:
        await asyncio.wait_for(opened.wait(), OPEN_TIMEOUT)
        print(f"READY {stats['open']}", flush=True)
    except TimeoutError:
        print(f"NOT READY {stats['open']}", flush=True)
    held_from = time.monotonic()
    try:
        await asyncio.wait_for(stop.wait(), max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        stop.set()
    stats["held_s"] = round(time.monotonic() - held_from, 1)
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
    stats["failed"] = sum(1 for r in results if isinstance(r, BaseException))
    return stats


@contextmanager
def held_streams(server: Server, path: str, count: int, seconds: float):
    """Hold `count` open streams of `path` in a separate process for at most `seconds`; yields a dict
    that gets the holder's figures (what it received) once the streams are closed."""
    cmd = [venv_python(), str(Path(__file__).resolve()), "hold", server.url, path, str(count), str(seconds)]
    holder = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    info: dict = {"path": path, "wanted": count}
    try:
        line = holder.stdout.readline().strip()  # READY n / NOT READY n, within OPEN_TIMEOUT
        if not line.startswith("READY"):
            raise RuntimeError(f"stream holder: {line or 'no answer'} {holder.stderr.read()[-500:]}")
        info["subscribers_seen_by_server"] = subscribers(server)
        info["server_cpu_pct_idle"] = _idle_cpu_pct(server)
        yield info
    finally:
        if holder.poll() is None:
            holder.send_signal(signal.SIGTERM)
        try:
            out, _ = holder.communicate(timeout=45)
        except subprocess.TimeoutExpired:
            holder.kill()
            out, _ = holder.communicate(timeout=5)
        last = out.strip().splitlines()[-1:] if out else []
        if last and last[0].startswith("DONE "):
            info.update(json.loads(last[0][5:]))
        info["subscribers_after_close"] = _settled_subscribers(server)


def _idle_cpu_pct(server: Server, seconds: float = IDLE_SAMPLE_S) -> float:
    """The server's CPU use (% of one core) over `seconds` with no requests: what the streams cost alone."""
    before = server.cpu_seconds()
    time.sleep(seconds)
    return round((server.cpu_seconds() - before) * 100 / seconds, 1)


def _settle(server: Server, timeout: float = 15.0) -> None:
    """Wait (at most `timeout`) until the server is idle: requests a load tool gave up on still run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _idle_cpu_pct(server, 0.5) > 10:
        pass


def subscribers(server: Server) -> int | None:
    """The server's autopack_event_stream_subscribers gauge (GET /metrics, open in development)."""
    try:
        text = httpx.get(server.url + "/metrics", timeout=10).text
    except httpx.HTTPError:
        return None
    match = re.search(r"^autopack_event_stream_subscribers(?:\{[^}]*\})? (\S+)$", text, re.MULTILINE)
    return int(float(match.group(1))) if match else None


def _settled_subscribers(server: Server, timeout: float = 10.0) -> int | None:
    """The gauge once it drops to zero (the server notices the hang-ups), or its value after `timeout`."""
    deadline = time.monotonic() + timeout
    while (value := subscribers(server)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return value


# ----------------------------------------------------------------------------------- measurements


def _ratios(base: dict, loaded: dict) -> dict:
    """loaded / base for throughput, p50, p99 and CPU per request."""
    def ratio(key: str) -> float | None:
        return loaded[key] / base[key] if base[key] else None
    return {"rps": ratio("rps"), "p50": ratio("p50_ms"), "p99": ratio("p99_ms"),
            "cpu_per_request": ratio("cpu_us_per_request")}


def measure(driver: Driver, hello: Server, live: Server, db: Path | BenchDatabase) -> dict:
    """The three live measurements on `live` (a fresh server on `db`), framed by hello before and after."""
    fx = create_fixtures(live.url)
    with httpx.Client(base_url=live.url, timeout=30) as client:
        client.post("/runs/start", json=run_payload(IDLE_RUN_ID, 1, 1)).raise_for_status()
    seeded = seed_usage(db, USAGE_EVENTS, fx.get_run_id)
    streams: dict[str, dict] = {}
    hold_s = 3 * (driver.spec.duration + driver.spec.warmup) + OPEN_TIMEOUT  # a safety net only
    update = Target("POST update_status", "POST", tuple(update_path(fx.update_run_id, p) for p in fx.phase_ids),
                    tuple(status_body(s) for s in STATES))
    health = Target("GET /health", "GET", ("/health",))

    usage_driver = Driver(driver.kind, driver.wrk_path,
                          LoadSpec(driver.spec.duration, driver.spec.warmup, USAGE_CONNECTIONS))
    usage = Target("GET /dashboard/usage?period=month", "GET", ("/dashboard/usage?period=month",))

    def rows() -> dict[str, dict]:
        out = {"usage_month": _measure(usage_driver, live, usage)}
        out["usage_month"]["connections"] = USAGE_CONNECTIONS
        _settle(live)
        out["update_no_streams"] = _measure(driver, live, update)
        path = f"/runs/{fx.update_run_id}/events?last_event_id={last_event_id(db)}"
        with held_streams(live, path, UPDATE_STREAMS, hold_s) as streams["update"]:
            out["update_100_streams"] = _measure(driver, live, update)
        out["health_no_streams"] = _measure(driver, live, health)
        streams["none"] = {"wanted": 0, "server_cpu_pct_idle": _idle_cpu_pct(live)}
        path = f"/runs/{IDLE_RUN_ID}/events?last_event_id={last_event_id(db)}"
        with held_streams(live, path, IDLE_STREAMS, hold_s) as streams["idle"]:
            out["health_500_idle"] = _measure(driver, live, health)
        return out

    group = _bracket(driver, hello, rows)
    r = group["rows"]
    group.update(usage_seed=seeded, streams=streams, fixtures=_fixture_ids(fx),
                 server_fd_limit=process_fd_limit(live.process.pid),
                 update_overhead=_ratios(r["update_no_streams"], r["update_100_streams"]),
                 idle_overhead=_ratios(r["health_no_streams"], r["health_500_idle"]))
    return group


def _fixture_ids(fx: Fixtures) -> dict:
    return {"usage_run": fx.get_run_id, "update_run": fx.update_run_id, "idle_run": IDLE_RUN_ID}


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="hold open SSE streams (used by bench/run.py)")
    parser.add_argument("command", choices=("hold",))
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("count", type=int)
    parser.add_argument("seconds", type=float)
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 2000 or not 0 < args.seconds <= 900:
        parser.error("count must be 1..2000 and seconds 0..900")
    if not args.url.startswith("http://127.0.0.1:"):
        parser.error("loopback only")
    raise_fd_limit(args.count + 256)
    stats = asyncio.run(_hold(args.url, args.path, args.count, args.seconds))
    print("DONE " + json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
