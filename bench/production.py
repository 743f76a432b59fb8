"""Issue [13]'s figures: worker processes on PostgreSQL, a soak per database, run start at 500 phases.

- Workers: per database, one database served by `uvicorn --workers N` for N in 1, 2, 4 in turn (one
  server at a time): `GET /runs/{id}` and the mixed workload of the write-path section, each beside
  hello, and the throughput of each N as a multiple of N=1's.
- Soak: per database, a fresh Autopack under the mixed workload for `--soak` seconds (60 by default,
  15 with `--quick`) in six windows after a warm-up: requests, p99 of reads and of writes and 5xx answers
  per window, the resident memory of every server process at the start and at the end.
- Run start: per database, sequential `POST /runs/start` of 1 phase and of 500 phases (10 tiers x 50),
  interleaved, medians and their ratio (target at most 10x for 500x the phases), with the server's CPU
  time per request of each size.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import benchdb
import scenarios
import writepath_fixtures as wf
from loadgen import Driver, Target
from servers import Server, start_autopack

WORKERS = (1, 2, 4)
SOAK_WINDOWS = 6
START_GOAL = 10.0  # POST /runs/start of 500 phases at most 10x one of 1 phase
RSS_GROWTH_GOAL = 1.5  # each process's resident memory at the end at most 1.5x its start (after warm-up)


def _serve(stack: ExitStack, server: Server) -> Server:
    stack.callback(server.stop)
    server.wait_ready("/health", timeout=120)
    return server


def _hello_rps(driver: Driver, hello: Server) -> float:
    return driver.measure(hello.url, Target("GET /hello", "GET", ("/hello",))).rps


def workers(driver: Driver, hello: Server, stack: ExitStack, work: Path, kind: str) -> dict:
    """GET /runs/{id} and the mixed workload with 1, 2 and 4 worker processes on one database."""
    db = benchdb.create(kind, work, "workers")
    stack.callback(db.drop)
    fx = None
    rows = {}
    hello_before = _hello_rps(driver, hello)
    for n in WORKERS:
        server = _serve(stack, start_autopack(work, db, f"workers-{kind}-{n}", hello.port, workers=n))
        fx = fx or wf.create_runs(server.url)
        target = Target("GET /runs/{id}", "GET", (f"/runs/{fx.runs['read']}",))
        driver.warm_up(server.url, target)
        cpu = server.cpu_seconds()
        read = driver.measure(server.url, target).as_dict()
        read["cpu_us_per_request"] = (server.cpu_seconds() - cpu) * 1e6 / max(read["requests"], 1)
        reads, writes = wf.mixed_lists(fx)
        loads = [(reads, wf.MIXED_READ_CONNECTIONS), (writes, wf.MIXED_WRITE_CONNECTIONS)]
        if driver.spec.warmup > 0:
            driver.run_lists(server.url, loads, driver.spec.warmup)
        r, w = driver.run_lists(server.url, loads, driver.spec.duration)
        seconds = max(r.seconds, w.seconds) or 1.0
        rows[n] = {"get_run": read, "mixed_rps": (r.requests + w.requests) / seconds,
                   "mixed_read_p99_ms": r.p99_ms, "mixed_write_p99_ms": w.p99_ms,
                   "mixed_5xx": (r.status_5xx or 0) + (w.status_5xx or 0),
                   "processes": len(server.rss_kib())}
        server.stop()
    hello_rps = (hello_before + _hello_rps(driver, hello)) / 2
    base = rows[WORKERS[0]]
    for row in rows.values():
        row["get_run_ratio"] = row["get_run"]["rps"] / hello_rps if hello_rps else 0.0
        row["get_run_vs_1"] = row["get_run"]["rps"] / base["get_run"]["rps"] if base["get_run"]["rps"] else 0.0
        row["mixed_ratio"] = row["mixed_rps"] / hello_rps if hello_rps else 0.0
        row["mixed_vs_1"] = row["mixed_rps"] / base["mixed_rps"] if base["mixed_rps"] else 0.0
    return {"database": db.label, "hello_rps": hello_rps, "rows": rows}


def soak(driver: Driver, stack: ExitStack, work: Path, kind: str, seconds: float, after_port: int) -> dict:
    """The mixed workload for `seconds` in SOAK_WINDOWS windows on a fresh Autopack: p99s, 5xx, memory."""
    db = benchdb.create(kind, work, "soak")
    stack.callback(db.drop)
    server = _serve(stack, start_autopack(work, db, f"soak-{kind}", after_port))
    fx = wf.create_runs(server.url)
    reads, writes = wf.mixed_lists(fx)
    loads = [(reads, wf.MIXED_READ_CONNECTIONS), (writes, wf.MIXED_WRITE_CONNECTIONS)]
    driver.run_lists(server.url, loads, max(driver.spec.warmup, 2.0))
    rss_start = server.rss_kib()
    windows = []
    for _ in range(SOAK_WINDOWS):
        r, w = driver.run_lists(server.url, loads, seconds / SOAK_WINDOWS)
        windows.append({"requests": r.requests + w.requests, "read_p99_ms": r.p99_ms, "write_p99_ms": w.p99_ms,
                        "status_5xx": (r.status_5xx or 0) + (w.status_5xx or 0)})
    rss_end = server.rss_kib()
    server.stop()
    growth = max((rss_end.get(pid, 0) / kib for pid, kib in rss_start.items() if kib), default=0.0)
    errors = sum(w["status_5xx"] for w in windows)
    return {"database": db.label, "seconds": seconds, "windows": windows, "rss_start_kib": sum(rss_start.values()),
            "rss_end_kib": sum(rss_end.values()), "rss_growth": growth, "status_5xx": errors,
            "pass": errors == 0 and growth <= RSS_GROWTH_GOAL}


def start_timing(stack: ExitStack, work: Path, kind: str, reps: int, warmup: int, after_port: int) -> dict:
    """POST /runs/start of 1 phase vs 500 phases on one database (the 200-phase figure of issue [1] stays)."""
    db = benchdb.create(kind, work, "start500")
    stack.callback(db.drop)
    server = _serve(stack, start_autopack(work, db, f"start500-{kind}", after_port))
    row = scenarios.create_run_timing(server.url, reps, warmup, big=(10, 50), server=server)
    server.stop()
    db.drop()
    row["database"] = db.label
    row["goal"], row["pass"] = START_GOAL, row["ratio"] <= START_GOAL
    return row


def measure(driver: Driver, hello: Server, stack: ExitStack, work: Path, kinds: tuple[str, ...],
            soak_seconds: float, quick: bool) -> dict:
    """Every figure of this module, on each database of `kinds`."""
    out: dict = {"workers": {}, "soak": {}, "start500": {}}
    for kind in kinds:
        out["workers"][kind] = workers(driver, hello, stack, work, kind)
    for kind in kinds:
        out["soak"][kind] = soak(driver, stack, work, kind, soak_seconds, hello.port)
    reps, warmup = (5, 1) if quick else (15, 2)
    for kind in kinds:
        out["start500"][kind] = start_timing(stack, work, kind, reps, warmup, hello.port)
    return out


def render(results: dict) -> str:
    """The section of the report."""
    lines = ["Production (issue [13])"]
    for group in results["workers"].values():
        lines.append(f"  worker processes on {group['database']} (hello {group['hello_rps']:.0f} req/s):")
        lines.append(f"  {'workers':>8} {'GET run req/s':>14} {'vs hello':>9} {'vs 1':>6} {'cpu us':>8}"
                     f" {'mixed req/s':>12} {'vs hello':>9} {'vs 1':>6} {'read p99':>9} {'write p99':>10}")
        for n, row in group["rows"].items():
            lines.append(f"  {n:>8} {row['get_run']['rps']:>14.1f} {row['get_run_ratio']:>9.3f}"
                         f" {row['get_run_vs_1']:>6.2f} {row['get_run']['cpu_us_per_request']:>8.0f}"
                         f" {row['mixed_rps']:>12.1f} {row['mixed_ratio']:>9.3f} {row['mixed_vs_1']:>6.2f}"
                         f" {row['mixed_read_p99_ms']:>8.1f}ms {row['mixed_write_p99_ms']:>9.1f}ms")
    for kind, row in results["soak"].items():
        p99s = ", ".join(f"{w['read_p99_ms']:.0f}/{w['write_p99_ms']:.0f}" for w in row["windows"])
        lines.append(f"  soak {row['database']}, {row['seconds']:.0f} s: {sum(w['requests'] for w in row['windows']):,}"
                     f" requests, {row['status_5xx']} answered 5xx; p99 read/write ms per window: {p99s}; RSS"
                     f" {row['rss_start_kib'] / 1024:.1f} -> {row['rss_end_kib'] / 1024:.1f} MiB (largest growth"
                     f" x{row['rss_growth']:.2f}, target <= x{RSS_GROWTH_GOAL})  {'PASS' if row['pass'] else 'FAIL'}")
    for s in results["start500"].values():
        lines.append(f"  POST /runs/start on {s['database']}, 500 phases vs 1: {s['big_median_ms']:.1f} /"
                     f" {s['small_median_ms']:.1f} ms = {s['ratio']:.1f}x (server CPU per request"
                     f" {s['big_cpu_ms']:.1f} / {s['small_cpu_ms']:.1f} ms = {s['cpu_ratio']:.1f}x)"
                     f"  target <= {START_GOAL:.0f}x  {'PASS' if s['pass'] else 'FAIL'}")
    return "\n".join(lines)


def passed(results: dict) -> bool:
    """The soak and run-start verdicts (the workers' figures are reported, not judged)."""
    return (all(row["pass"] for row in results["start500"].values())
            and all(row["pass"] for row in results["soak"].values()))
