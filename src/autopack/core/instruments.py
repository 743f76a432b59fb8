"""Process metrics the core plumbing updates (prometheus-client); `GET /metrics` exposes them.

With `PROMETHEUS_MULTIPROC_DIR` set (`autopack serve --workers N` sets it), prometheus-client keeps
every value in a memory-mapped file per process and a scrape adds the processes up; the variable must
be in the environment before prometheus_client is first imported, which is why the CLI sets it
before uvicorn starts the workers. Gauges say how processes combine (`livesum`: the sum over live
processes). Database gauges (runs by state, pending approvals, ...) are not here: they are counted at
scrape time (`autopack.metrics.service`).
"""

from __future__ import annotations

import atexit
import os

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.pool import Pool

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"  # the route label of a request no route matched (raw paths would be unbounded)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "autopack_http_requests", "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "autopack_http_request_duration_seconds", "Time to answer a request, by method and route template.",
    ["method", "route"], buckets=LATENCY_BUCKETS)
HTTP_IN_FLIGHT = Gauge(
    "autopack_http_requests_in_flight", "Requests being answered now.", multiprocess_mode="livesum")
RATE_LIMIT_REJECTIONS = Counter(
    "autopack_rate_limit_rejections", "Requests refused with 429 by a rate limit or a lockout, by scope.",
    ["scope"])
WORKER_TICKS = Counter("autopack_worker_ticks", "Background worker ticks run, by worker.", ["worker"])
WORKER_TICK_FAILURES = Counter(
    "autopack_worker_tick_failures", "Background worker ticks that raised, by worker.", ["worker"])
DB_POOL_CHECKED_OUT = Gauge(
    "autopack_db_pool_checked_out_connections", "Database connections checked out of the pool now.",
    multiprocess_mode="livesum")


def multiprocess_dir() -> str | None:
    """The shared metrics directory of a multi-process server, or None in a single process."""
    return os.environ.get(MULTIPROC_ENV) or None


@event.listens_for(Pool, "checkout")
def _checked_out(*_args) -> None:
    DB_POOL_CHECKED_OUT.inc()


@event.listens_for(Pool, "checkin")
def _checked_in(*_args) -> None:
    DB_POOL_CHECKED_OUT.dec()


@event.listens_for(Pool, "detach")
def _detached(*_args) -> None:
    # A detached connection (the SQLite fast read keeps one per thread) never checks in.
    DB_POOL_CHECKED_OUT.dec()


def _forget_this_process() -> None:
    # A worker that exits must not leave its live gauges (in flight, pool) in the sums.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(os.getpid())


if multiprocess_dir():
    atexit.register(_forget_this_process)
