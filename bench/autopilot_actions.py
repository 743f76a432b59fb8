"""Autopilot benchmark scenarios: `GET /actions?limit=50` at 1,000 vs 100,000 actions, and approve-all of 500.

Called from bench/run.py (not wired in by this file):

    import autopilot_actions as ap
    ap.prepare_environment()                      # before start_autopack: no execution worker, no limits
    autopack = start_autopack(work, db)           # migrates, then serves
    autopack.wait_ready("/health")
    fx = ap.prepare(autopack.url, db)             # users, tenants, 1,000 + 100,000 + 5 x 500 actions
    report["autopilot"] = ap.measure(autopack.url, fx, hello_url=hello.url)

Both list sizes live in one database (two tenants), so both are measured on the same server and file;
the list is tenant-scoped, so the tenant's own action count is what scales. Requests carry a Bearer
token, which the wrk script cannot send, so latency is sampled with a keep-alive httpx client.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from benchdb import BenchDatabase, Connection, as_database

SMALL, LARGE, APPROVE_BATCH, APPROVE_ROUNDS = 1_000, 100_000, 500, 5
TARGET_RATIO = 1.5
_TYPES = ("budget_increase", "budget_decrease", "pause_campaign", "enable_campaign")
_STATUSES = ("applied", "applied", "applied", "failed", "dismissed", "queued")
_ACTION_SQL = """INSERT INTO autopilot_actions (id, tenant_id, date, action_type, entity_type, entity_id,
    entity_name, platform, action_json, before_value, status, requires_approval, auto_approved, created_by,
    created_at, updated_at, proposed_hash, attempts)
    VALUES (?, ?, ?, ?, 'campaign', ?, ?, 'meta', ?, ?, ?, true, false, 'bench', ?, ?, ?, 0)"""


@dataclass
class AutopilotFixtures:
    """Who calls, which tenants hold how many actions, and the queued batches approve-all will take."""

    token: str
    small_tenant: int
    large_tenant: int
    approve_batches: list[list[str]] = field(default_factory=list)
    seeding: dict = field(default_factory=dict)


def prepare_environment() -> None:
    """Server settings for these scenarios (autopack_env copies os.environ): no worker applying actions."""
    os.environ["AUTOPACK_AUTOPILOT_WORKER"] = "0"
    os.environ["AUTOPACK_RATE_LIMIT_ENABLED"] = "0"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _rows(tenant_id: int, count: int, status: str | None = None) -> list[tuple]:
    """`count` actions a minute apart, ending now; statuses cycle unless one is given."""
    base = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=count)
    rows = []
    for n in range(count):
        moment = base + timedelta(minutes=n)
        body = json.dumps({"type": _TYPES[n % 4], "new_budget": 100 + n % 50})
        rows.append((str(uuid.uuid4()), tenant_id, moment.date().isoformat(), _TYPES[n % 4], str(10_000 + n % 997),
                     f"Campaign {n % 997}", body, json.dumps({"daily_budget": 100}),
                     status or _STATUSES[n % len(_STATUSES)], _stamp(moment), _stamp(moment),
                     hashlib.sha256(body.encode()).hexdigest()))
    return rows


def _tenant(conn: Connection, user_id: int, label: str) -> int:
    now = _stamp(datetime.now(UTC))
    tenant_id = conn.scalar("INSERT INTO tenants (slug, name, created_at) VALUES (?, ?, ?) RETURNING id",
                            (f"bench-{label}-{secrets.token_hex(3)}", f"Bench {label}", now))
    conn.execute("INSERT INTO tenant_memberships (tenant_id, user_id, role, created_at, updated_at) "
                 "VALUES (?, ?, 'operator', ?, ?)", (tenant_id, user_id, now, now))
    return tenant_id


def register_and_login(client: httpx.Client, prefix: str = "bench") -> tuple[int, str]:
    """A fresh user on the server under test: (user id, Bearer token)."""
    name, password = f"{prefix}{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    user = client.post("/api/auth/register", json={"username": name, "email": f"{name}@example.com",
                                                   "password": password})
    user.raise_for_status()
    token = client.post("/api/auth/login", json={"username": name, "password": password})
    token.raise_for_status()
    return user.json()["id"], token.json()["access_token"]


def operator_tenant(db: Path | BenchDatabase, user_id: int, label: str) -> int:
    """A fresh tenant with `user_id` as its operator (tenants are made by superusers: written directly)."""
    with as_database(db).connect() as conn, conn.transaction():
        return _tenant(conn, user_id, label)


def queue_pending(db: Path | BenchDatabase, tenant_id: int, count: int) -> list[str]:
    """Bulk-insert `count` queued actions awaiting approval; their ids, oldest first."""
    rows = _rows(tenant_id, count, status="queued")
    with as_database(db).connect() as conn, conn.transaction():
        conn.executemany(_ACTION_SQL, rows)
    return [row[0] for row in rows]


def prepare(base_url: str, db: Path | BenchDatabase, *, small: int = SMALL,
            large: int = LARGE) -> AutopilotFixtures:
    """Register a user, then bulk-insert two tenants' actions and the approve-all batches."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        user_id, token = register_and_login(client)
    started = time.perf_counter()
    with as_database(db).connect() as conn:
        conn.execute("BEGIN IMMEDIATE" if conn.kind == "sqlite" else "BEGIN")
        small_tenant, large_tenant = _tenant(conn, user_id, "small"), _tenant(conn, user_id, "large")
        conn.executemany(_ACTION_SQL, _rows(small_tenant, small))
        conn.executemany(_ACTION_SQL, _rows(large_tenant, large))
        batches = []
        for _ in range(APPROVE_ROUNDS):
            rows = _rows(large_tenant, APPROVE_BATCH, status="queued")
            conn.executemany(_ACTION_SQL, rows)
            batches.append([row[0] for row in rows])
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    seeding = {"actions": small + large + APPROVE_ROUNDS * APPROVE_BATCH,
               "seconds": round(time.perf_counter() - started, 2)}
    return AutopilotFixtures(token, small_tenant, large_tenant, batches, seeding)


def _latencies(client: httpx.Client, method: str, path: str, count: int, body: dict | None = None) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.request(method, path, json=body)
        out.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
    return out


def _p50(samples: list[float]) -> float:
    return round(statistics.median(samples), 3)


def measure(base_url: str, fx: AutopilotFixtures, *, requests: int = 300, hello_url: str | None = None) -> dict:
    """p50 of the list at both sizes (interleaved A B B A), approve-all timings, and ratios to hello."""
    headers = {"Authorization": f"Bearer {fx.token}"}
    path = "/api/v1/tenant/{}/autopilot/actions?limit=50"
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        for tenant in (fx.small_tenant, fx.large_tenant):
            _latencies(client, "GET", path.format(tenant), 30)  # warm-up
        half = max(1, requests // 2)
        small = _latencies(client, "GET", path.format(fx.small_tenant), half)
        large = _latencies(client, "GET", path.format(fx.large_tenant), requests)
        small += _latencies(client, "GET", path.format(fx.small_tenant), half)
        approve = []
        for batch in fx.approve_batches:
            approve += _latencies(client, "POST", f"/api/v1/tenant/{fx.large_tenant}/autopilot/actions/approve-all",
                                  1, {"action_ids": batch})
    result = {
        "list_p50_ms": {"1000": _p50(small), "100000": _p50(large)},
        "list_p99_ms": {"1000": round(sorted(small)[int(len(small) * 0.99) - 1], 3),
                        "100000": round(sorted(large)[int(len(large) * 0.99) - 1], 3)},
        "approve_all_500_ms": {"p50": _p50(approve), "max": round(max(approve), 3), "rounds": len(approve)},
        "seeding": fx.seeding,
    }
    ratio = result["list_p50_ms"]["100000"] / result["list_p50_ms"]["1000"]
    result["list_scale_ratio"] = {"value": round(ratio, 3), "target": TARGET_RATIO, "pass": ratio <= TARGET_RATIO}
    if hello_url is not None:
        with httpx.Client(base_url=hello_url, timeout=30) as client:
            _latencies(client, "GET", "/hello", 30)
            hello = _p50(_latencies(client, "GET", "/hello", requests))
        result["hello_p50_ms"] = hello
        result["p50_latency_x_hello"] = {"list@1000": round(result["list_p50_ms"]["1000"] / hello, 2),
                                    "list@100000": round(result["list_p50_ms"]["100000"] / hello, 2),
                                    "approve_all_500": round(result["approve_all_500_ms"]["p50"] / hello, 2)}
    return result
