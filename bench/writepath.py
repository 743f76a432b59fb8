"""The write path, and the reads that lag (issue [8]): measured on SQLite and on PostgreSQL alike.

For one database kind: a fresh database is migrated and topped up to 1,000 runs by bulk SQL, copied,
and the copy topped up to `--scale-runs` (100,000); one Autopack serves each. Then, every figure as a
share of hello's throughput (hello measured before and after each of the two groups) with the
server's CPU per request beside it:

- reads: `GET /runs?limit=20` on both databases (small, large, large, small; half the duration each),
  `GET /runs/{id}/progress` and `GET /dashboard/runs/{id}/status` of a 5x10 run;
- writes: update_status, builder_result, auditor_result, usage (10 events), the enforcement check
  with 20 rules, `POST /actions` and `POST /actions/{id}/approve` (each request approves an action
  queued beforehand, a bounded pool), and the mixed workload: two wrk processes at once, reads on 13
  connections and writes on 3 (about 4:1 by connections; the request counts are reported).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import autopilot_actions
import autopilot_check
import benchdb
import httpx
import seeding
import writepath_fixtures as wf
from loadgen import Driver, LoadResult, RequestList, Target
from scenarios import SCALE_GOAL, _abba, _bracket, _compare, _measure  # noqa: F401 - SCALE_GOAL: the list's 1.2x
from servers import Server, migrate_database, start_autopack

SMALL_RUNS = 1_000
# Share of hello's requests/second each figure must reach (issue [8]).
GOALS = {"runs_list@small": 0.20, "runs_list@large": 0.20, "progress": 0.25, "dashboard_status": 0.25,
         "update_status": 0.10, "builder_result": 0.05, "auditor_result": 0.05, "usage": 0.05,
         "check_20_rules": 0.10, "actions_create": 0.05, "actions_approve": 0.05}
TAIL_GOAL = 10.0  # update_status: p99 at most 10 x its p50
# Queued actions for approve: (warm-up, measurement) per second of each; both capped. More approvals
# than the pool holds would approve twice (409s, counted as errors and flagged).
APPROVE_PER_SECOND, APPROVE_CAP = 600, 12_000


def _serve(stack: ExitStack, server: Server) -> Server:
    stack.callback(server.stop)
    server.wait_ready("/health")
    return server


def _prepare_databases(stack: ExitStack, work: Path, kind: str, scale_runs: int) -> tuple:
    """The small database (1,000 runs) and its copy topped up to `scale_runs`, both dropped at the end."""
    db = benchdb.create(kind, work, "writepath")
    stack.callback(db.drop)
    migrate_database(work, db, f"wp-{kind}")
    seed = {"small": seeding.top_up(db, SMALL_RUNS)}
    large = db.copy_to("large")
    stack.callback(large.drop)
    seed["large"] = seeding.top_up(large, scale_runs)
    return db, large, seed


def _reads(driver: Driver, fx: wf.WriteFixtures, small: Server, large: Server) -> dict[str, dict]:
    listing = Target("GET /runs?limit=20", "GET", ("/runs?limit=20",))
    rows = {}
    rows["runs_list@small"], rows["runs_list@large"] = _abba(driver, small, large, listing)
    read = fx.runs["read"]
    rows["progress"] = _measure(driver, small, Target("GET /runs/{id}/progress (5x10)", "GET",
                                                      (f"/runs/{read}/progress",)))
    rows["dashboard_status"] = _measure(driver, small, Target("GET /dashboard/runs/{id}/status (5x10)", "GET",
                                                              (f"/dashboard/runs/{read}/status",)))
    return rows


def _operator(server: Server, db: benchdb.BenchDatabase, pool: int) -> tuple[int, str, list[str]]:
    """A user operating a fresh tenant with `pool` queued actions: (tenant, token, action ids)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        user_id, token = autopilot_actions.register_and_login(client, "bwp")
    tenant = autopilot_actions.operator_tenant(db, user_id, "wp")
    return tenant, token, autopilot_actions.queue_pending(db, tenant, pool)


def _approve(driver: Driver, server: Server, tenant: int, token: str, ids: list[str], warm: int) -> dict:
    """Warm up on the first `warm` queued actions, measure on the rest; each action approved once."""
    if driver.spec.warmup > 0:
        driver.warm_up(server.url, wf.approve_list(tenant, token, ids[:warm]))
    target = wf.approve_list(tenant, token, ids[warm:])
    cpu_before = server.cpu_seconds()
    row = driver.measure(server.url, target).as_dict()
    _cpu(row, server.cpu_seconds() - cpu_before)
    row["pool"] = len(target.requests)
    row["pool_exhausted"] = row["requests"] > row["pool"]
    return row


def _cpu(row: dict, cpu_seconds: float) -> None:
    row["cpu_us_per_request"] = cpu_seconds * 1e6 / row["requests"] if row["requests"] else 0.0


def _mixed(driver: Driver, server: Server, fx: wf.WriteFixtures) -> dict:
    """Reads on 13 connections and writes on 3, at once (two load processes), after a warm-up."""
    reads, writes = wf.mixed_lists(fx)
    loads: list[tuple[RequestList, int]] = [(reads, wf.MIXED_READ_CONNECTIONS), (writes, wf.MIXED_WRITE_CONNECTIONS)]
    if driver.spec.warmup > 0:
        driver.run_lists(server.url, loads, driver.spec.warmup)
    cpu_before = server.cpu_seconds()
    read, write = driver.run_lists(server.url, loads, driver.spec.duration)
    cpu = server.cpu_seconds() - cpu_before
    return _mixed_summary(read, write, cpu)


def _mixed_summary(read: LoadResult, write: LoadResult, cpu_seconds: float) -> dict:
    seconds = max(read.seconds, write.seconds)
    total = read.requests + write.requests
    return {
        "label": "mixed 4:1 (reads 13 conn + writes 3 conn)", "reads": read.as_dict(), "writes": write.as_dict(),
        "requests": total, "seconds": seconds, "rps": total / seconds if seconds else 0.0,
        "reads_per_write": read.requests / write.requests if write.requests else None,
        "read_p99_ms": read.p99_ms, "write_p99_ms": write.p99_ms,
        "write_p99_over_read_p99": write.p99_ms / read.p99_ms if read.p99_ms else None,
        "cpu_us_per_request": cpu_seconds * 1e6 / total if total else 0.0,
    }


def _writes(driver: Driver, server: Server, fx: wf.WriteFixtures, check_fx, operator: tuple,
            warm: int, mixed: dict) -> dict[str, dict]:
    tenant, token, ids = operator
    rows = {
        "update_status": _measure(driver, server, wf.update_target(fx)),
        "builder_result": _measure(driver, server, wf.builder_list(fx)),
        "auditor_result": _measure(driver, server, wf.auditor_list(fx)),
        "usage": _measure(driver, server, wf.usage_list(fx)),
        "check_20_rules": _measure(driver, server, autopilot_check.request_list(check_fx)),
        "actions_create": _measure(driver, server, wf.actions_list(tenant, token)),
        "actions_approve": _approve(driver, server, tenant, token, ids, warm),
    }
    mixed.update(_mixed(driver, server, fx))
    return rows


def _verdicts(group: dict) -> None:
    for key, row in group["rows"].items():
        row["goal"] = GOALS.get(key)
        row["pass"] = None if row["goal"] is None else row["ratio"] >= row["goal"]


def measure(driver: Driver, hello: Server, stack: ExitStack, work: Path, kind: str, scale_runs: int) -> dict:
    """Every figure of issue [8] on one database kind ("sqlite" or "postgresql")."""
    db, large_db, seed = _prepare_databases(stack, work, kind, scale_runs)
    small = _serve(stack, start_autopack(work, db, f"wp-{kind}", hello.port))
    large = _serve(stack, start_autopack(work, large_db, f"wp-{kind}-large", small.port))
    fx = wf.create_runs(small.url)
    wf.create_runs(large.url)  # the same newest runs on both sides of the list comparison
    reads = _bracket(driver, hello, lambda: _reads(driver, fx, small, large))
    large.stop()
    large_db.drop()
    check_fx = autopilot_check.prepare(small.url, db)
    warm = min(APPROVE_CAP // 4, int(APPROVE_PER_SECOND * driver.spec.warmup) + 200)
    pool = min(APPROVE_CAP, warm + int(APPROVE_PER_SECOND * driver.spec.duration) + 500)
    operator = _operator(small, db, pool)
    mixed: dict = {}
    writes = _bracket(driver, hello, lambda: _writes(driver, small, fx, check_fx, operator, warm, mixed))
    mixed["ratio"] = mixed["rps"] / writes["hello_rps"] if writes["hello_rps"] else 0.0
    small.stop()
    db.drop()
    for group in (reads, writes):
        _verdicts(group)
    update = writes["rows"]["update_status"]
    tail = update["p99_ms"] / update["p50_ms"] if update["p50_ms"] else float("inf")
    return {
        "database": kind, "label": db.label, "seed": seed, "runs": {"small": SMALL_RUNS, "large": scale_runs},
        "reads": reads, "writes": writes, "mixed": mixed,
        "runs_list_scale": _compare(reads["rows"]["runs_list@small"], reads["rows"]["runs_list@large"]),
        "update_tail": {"p99_over_p50": tail, "goal": TAIL_GOAL, "pass": tail <= TAIL_GOAL},
    }
