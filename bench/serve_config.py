"""Which `autopack serve` configuration `make run` should use: candidates side by side on SQLite.

Each candidate (worker processes, read and write threads) serves its own copy of one database; every
round measures hello, then each candidate in turn under the same loads, so all of them share the
minute's conditions: `GET /runs/{id}` (a read) and the write path's mixed workload (reads on 13
connections, writes on 3). Reported per candidate: requests/second as a share of hello's, and the
server's CPU time per request (all its processes), the figure least moved by other work on the machine.

    .venv/bin/python bench/serve_config.py [--duration 5] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import benchdb
import writepath_fixtures as wf
from loadgen import Driver, LoadSpec, Target, choose_driver
from servers import FIRST_PORT, Server, migrate_database, start_autopack, start_hello

# name: (worker processes, AUTOPACK_READ_THREADS, AUTOPACK_WRITE_THREADS); 0 is the automatic choice.
CANDIDATES = {
    "workers 1 (auto threads: read 2, write 1)": (1, 0, 0),
    "workers 2 (auto threads)": (2, 0, 0),
    "workers 1, read threads 4": (1, 4, 0),
    "workers 1, write threads 2": (1, 0, 2),
}


def _start(stack: ExitStack, work: Path, db: benchdb.BenchDatabase, name: str, after: int,
           config: tuple[int, int, int]) -> Server:
    workers, read, write = config
    os.environ["AUTOPACK_READ_THREADS"], os.environ["AUTOPACK_WRITE_THREADS"] = str(read), str(write)
    server = start_autopack(work, db, name, after, workers=workers)
    stack.callback(server.stop)
    server.wait_ready("/health", timeout=120)
    return server


def _read(driver: Driver, server: Server, run_id: str) -> dict:
    target = Target("GET /runs/{id}", "GET", (f"/runs/{run_id}",))
    driver.warm_up(server.url, target)
    cpu = server.cpu_seconds()
    row = driver.measure(server.url, target)
    return {"rps": row.rps, "cpu_us": (server.cpu_seconds() - cpu) * 1e6 / max(row.requests, 1),
            "errors": sum(row.errors.values()) + (row.status_5xx or 0)}


def _mixed(driver: Driver, server: Server, fx: wf.WriteFixtures) -> dict:
    reads, writes = wf.mixed_lists(fx)
    loads = [(reads, wf.MIXED_READ_CONNECTIONS), (writes, wf.MIXED_WRITE_CONNECTIONS)]
    driver.run_lists(server.url, loads, driver.spec.warmup)
    cpu = server.cpu_seconds()
    r, w = driver.run_lists(server.url, loads, driver.spec.duration)
    total = r.requests + w.requests
    seconds = max(r.seconds, w.seconds) or 1.0
    return {"rps": total / seconds, "cpu_us": (server.cpu_seconds() - cpu) * 1e6 / max(total, 1),
            "write_rps": w.requests / seconds, "errors": (r.status_5xx or 0) + (w.status_5xx or 0)}


def measure(driver: Driver, work: Path, rounds: int) -> dict:
    """Every candidate's read and mixed figures, per round, beside hello's."""
    with ExitStack() as stack:
        hello = start_hello(work, FIRST_PORT + 40)
        stack.callback(hello.stop)
        hello.wait_ready("/hello")
        template = benchdb.create("sqlite", work, "template")
        migrate_database(work, template, "template")
        servers, fixtures, after = {}, {}, hello.port
        for i, (name, config) in enumerate(CANDIDATES.items()):
            db = template.copy_to(f"candidate{i}")
            servers[name] = _start(stack, work, db, f"candidate{i}", after, config)
            after = servers[name].port
            fixtures[name] = wf.create_runs(servers[name].url)
        hello_target = Target("GET /hello", "GET", ("/hello",))
        out: dict = {"hello_rps": [], "rows": {name: {"read": [], "mixed": []} for name in CANDIDATES}}
        for _ in range(rounds):
            out["hello_rps"].append(driver.measure(hello.url, hello_target).rps)
            for name, server in servers.items():
                out["rows"][name]["read"].append(_read(driver, server, fixtures[name].runs["read"]))
                out["rows"][name]["mixed"].append(_mixed(driver, server, fixtures[name]))
    return out


def render(results: dict) -> str:
    """The table: medians over the rounds."""
    hello = statistics.median(results["hello_rps"])
    lines = [f"serve configurations on SQLite (hello {hello:.0f} req/s; medians of {len(results['hello_rps'])} rounds)",
             f"  {'candidate':<44}{'read req/s':>11}{'x hello':>8}{'cpu us':>8}"
             f"{'mixed req/s':>12}{'x hello':>8}{'cpu us':>8}{'writes/s':>9}{'5xx':>5}"]
    for name, row in results["rows"].items():
        med = {kind: {k: statistics.median(r[k] for r in row[kind]) for k in row[kind][0]} for kind in row}
        read, mixed = med["read"], med["mixed"]
        lines.append(f"  {name:<44}{read['rps']:>11.1f}{read['rps'] / hello:>8.3f}{read['cpu_us']:>8.0f}"
                     f"{mixed['rps']:>12.1f}{mixed['rps'] / hello:>8.3f}{mixed['cpu_us']:>8.0f}"
                     f"{mixed['write_rps']:>9.1f}{int(read['errors'] + mixed['errors']):>5}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure the candidates and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (5)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over all candidates (2)")
    args = parser.parse_args(argv)
    driver = Driver(*choose_driver("auto"), LoadSpec(duration=args.duration, warmup=1.0, connections=16))
    os.environ["AUTOPACK_AUTOPILOT_WORKER"] = "0"
    work = Path(tempfile.mkdtemp(prefix="autopack-serve-config-"))
    try:
        print(render(measure(driver, work, args.rounds)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
