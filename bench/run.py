"""Loopback load benchmark: Autopack beside a bare FastAPI hello app (issues [1], [7], [8]).

`make bench` or `make bench BENCH_ARGS=--quick`; see bench/README.md for how long each takes.
`--db sqlite|postgresql|both` (both) chooses the databases: every section that serves Autopack runs
once per database, each beside the same hello. Prints a table and writes bench/results/latest.json
(exit 1 on a failed target with --strict).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import autopilot_actions
import benchdb
import burst
import console
import executor
import live
import payloads
import production
import report
import scenarios
import seeding
import storage_scan
import writepath
from loadgen import Driver, LoadSpec, choose_driver
from servers import FIRST_PORT, Server, start_autopack, start_hello

SMALL_SCALE = 1_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per measurement, fewer repetitions")
    parser.add_argument("--duration", type=float, help="seconds per measurement (default 10, quick 3)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (16)")
    parser.add_argument("--scale-runs", type=int, default=100_000, help="runs in the large seed (100000)")
    parser.add_argument("--driver", choices=("auto", "wrk", "python"), default="auto",
                        help="load tool: wrk (installed with apt-get if missing) or the Python client")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both",
                        help="databases every Autopack section runs on, one after the other (both)")
    parser.add_argument("--soak", type=float, help="seconds of the soak per database (default 60, quick 15)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the database and server logs")
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= 256:
        parser.error("--connections must be between 1 and 256")
    if args.scale_runs <= SMALL_SCALE:
        parser.error(f"--scale-runs must be more than {SMALL_SCALE}")
    args.databases = benchdb.KINDS if args.db == "both" else (args.db,)
    if "postgresql" in args.databases and (why := benchdb.pg_reachable()):
        parser.error(f"{why}\n(start it, set AUTOPACK_BENCH_PG_URL, or run with --db sqlite)")
    return args


def load_spec(args: argparse.Namespace) -> LoadSpec:
    """Durations of the wrk runs for this mode."""
    duration = args.duration or (3.0 if args.quick else 10.0)
    return LoadSpec(duration=duration, warmup=1.0 if args.quick else 2.0, connections=args.connections)


def _meta(args: argparse.Namespace, driver: Driver) -> dict:
    spec = driver.spec
    return {
        "mode": "quick" if args.quick else "default", "driver": driver.describe(),
        "driver_kind": driver.kind, "connections": spec.connections, "duration_s": spec.duration,
        "warmup_s": spec.warmup, "scale_runs": args.scale_runs, "cpus": os.cpu_count(),
        "databases": list(args.databases),
        "load_avg_start": round(os.getloadavg()[0], 2),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def measure_all(args: argparse.Namespace, driver: Driver, work: Path) -> dict:
    """Start the servers, run every scenario, stop the servers (also on errors and Ctrl-C)."""
    results = {"meta": _meta(args, driver)}
    autopilot_actions.prepare_environment()  # execution worker and rate limits off in the servers
    with ExitStack() as stack:
        hello = _serve(stack, start_hello(work, FIRST_PORT + 40), "/hello")
        results["meta"]["hello_port"] = hello.port
        results["sections"] = {}
        for kind in args.databases:
            results["sections"][kind] = _sections(args, driver, work, stack, hello, kind)
        results["writepath"] = {}
        for kind in args.databases:
            _step(f"write path (issue [8]) on {kind}: seeding {SMALL_SCALE:,} and {args.scale_runs:,} runs, "
                  "reads, writes, mixed")
            results["writepath"][kind] = writepath.measure(driver, hello, stack, work, kind, args.scale_runs)
        soak = args.soak or (15.0 if args.quick else 60.0)
        _step(f"production (issue [13]): workers 1/2/4 on PostgreSQL, a {soak:.0f} s soak per database, "
              "run start at 500 phases")
        results["production"] = production.measure(driver, hello, stack, work, args.databases, soak, args.quick)
    _step(f"storage scan of {storage_scan.FILES:,} files beside find (issue [10])")
    results["storage_scan"] = storage_scan.measure(work)
    _step(f"operator console pages at {console.RUNS:,} runs (issue [9])")
    results["console"] = console.measure(work / "console")
    _step(f"executor over a {executor.PHASES}-phase run beside git apply (issue [12])")
    results["executor"] = executor.measure(work / "executor")
    return results


def _sections(args: argparse.Namespace, driver: Driver, work: Path, stack: ExitStack, hello: Server,
              kind: str) -> dict:
    """Issues [1] and [7] on one database: throughput, creating a run, concurrency, autopilot, live, scale."""
    db = benchdb.create(kind, work, "bench")
    stack.callback(db.drop)
    autopack = _serve(stack, start_autopack(work, db, f"autopack-{kind}"), "/health")
    out = {"database": kind, "label": db.label, "autopack_port": autopack.port}
    fx = payloads.create_fixtures(autopack.url)
    _step(f"{db.label}: throughput")
    out["throughput"] = scenarios.throughput(driver, hello, autopack, fx)
    _step(f"{db.label}: create run")
    reps, warmup = (10, 2) if args.quick else (30, 3)
    out["create_run"] = scenarios.create_run_timing(autopack.url, reps, warmup)
    _step(f"{db.label}: concurrency")
    out["concurrency"] = burst.concurrency(autopack.url, fx, rounds=3)
    _step(f"{db.label}: autopilot: GET /actions at 1,000 vs 100,000 actions, approve-all of 500")
    actions_fx = autopilot_actions.prepare(autopack.url, db)
    out["autopilot"] = autopilot_actions.measure(autopack.url, actions_fx, hello_url=hello.url,
                                                 requests=100 if args.quick else 300)
    _step(f"{db.label}: live: usage at {live.USAGE_EVENTS:,} events, update_status with {live.UPDATE_STREAMS} "
          f"streams, /health beside {live.IDLE_STREAMS} idle streams")
    live_db = benchdb.create(kind, work, "live")
    stack.callback(live_db.drop)
    live_server = _serve(stack, start_autopack(work, live_db, f"autopack-live-{kind}", hello.port), "/health")
    out["live"] = live.measure(driver, hello, live_server, live_db)
    live_server.stop()
    live_db.drop()
    _step(f"{db.label}: seeding {SMALL_SCALE:,} and {args.scale_runs:,} runs")
    autopack.stop()  # PostgreSQL copies a database only while no one is connected to it
    small_db, large_db, seeds = _seed_scale(stack, db, args.scale_runs)
    small = _serve(stack, start_autopack(work, small_db, f"autopack-small-{kind}", hello.port), "/health")
    large = _serve(stack, start_autopack(work, large_db, f"autopack-large-{kind}", small.port), "/health")
    _step(f"{db.label}: scale")
    out["scale"] = scenarios.scale(driver, hello, (SMALL_SCALE, small), (args.scale_runs, large), fx)
    out["scale"]["seed"] = seeds
    small.stop()
    large.stop()
    for done in (small_db, large_db, db):
        done.drop()
    return out


def _serve(stack: ExitStack, server: Server, ready_path: str) -> Server:
    """Register the server's stop with `stack`, then wait until it answers."""
    stack.callback(server.stop)
    server.wait_ready(ready_path)
    return server


def _seed_scale(stack: ExitStack, db: benchdb.BenchDatabase, large_runs: int) -> tuple:
    """Top the benchmark's database up to SMALL_SCALE runs; copy it twice; top one copy up further.

    Both scale servers then start on fresh copies with the same history, so only the number of
    runs stored differs between them. Returns the two copies and the seeding figures.
    """
    small = seeding.top_up(db, SMALL_SCALE)
    small_db = db.copy_to("scale_small")
    stack.callback(small_db.drop)
    large_db = db.copy_to("scale_large")
    stack.callback(large_db.drop)
    return small_db, large_db, {"small": small, "large": seeding.top_up(large_db, large_runs)}


_T0 = time.monotonic()


def _step(name: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f} s] {name} ...", file=sys.stderr, flush=True)


def _terminate(signum, _frame) -> None:
    """Turn SIGTERM into an exit that runs the clean-up (servers stopped, work dir removed)."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; with --strict, exit 1 when a target fails."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    fd_limit = live.raise_fd_limit()  # before any server starts: they and the stream holders inherit it
    _step("choosing the load driver")
    driver = Driver(*choose_driver(args.driver), load_spec(args))
    work = Path(tempfile.mkdtemp(prefix="autopack-bench-"))
    try:
        results = measure_all(args, driver, work)
        results["meta"]["fd_limit"] = fd_limit
    finally:
        if args.keep_workdir:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["meta"]["load_avg_end"] = round(os.getloadavg()[0], 2)
    results["meta"]["elapsed_s"] = round(time.monotonic() - _T0, 1)
    print(report.render(results))
    print("\n" + storage_scan.render(results["storage_scan"]))
    print("\n" + console.render(results["console"]))
    print("\n" + executor.render(results["executor"]))
    print("\n" + production.render(results["production"]))
    print(f"\nresults written to {report.write_json(results)}")
    passed = (all(report.verdicts(results).values()) and results["storage_scan"]["passed"]
              and results["executor"]["passed"]
              and production.passed(results["production"]))
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, nothing written", file=sys.stderr)
        sys.exit(130)
