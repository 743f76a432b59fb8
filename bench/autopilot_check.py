"""Benchmark scenario: `POST /enforcement/check` for a tenant with 20 custom rules, beside GET /hello.

Called from bench/run.py (not wired in by this file), inside `measure_all` once `autopack`, `hello` and
`driver` exist (the servers' environment already disables rate limits):

    import autopilot_check
    fx = autopilot_check.prepare(autopack.url, db)          # user, tenant (admin), 20 rules, settings
    results["autopilot_check"] = autopilot_check.measure(driver, hello, autopack, fx)

The result has `rows["check_20_rules"]` with rps, p50_ms, p99_ms and `ratio` (rps / hello's mean rps,
hello measured before and after), as scenarios.throughput reports its rows. Every check is a write:
it records an enforcement_audit_logs row and a ledger event, like the real endpoint.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pyclient
from autopilot_actions import register_and_login
from loadgen import LUA_SCRIPT, MAX_REQUESTS, Driver, LoadResult
from scenarios import HELLO, _measure
from servers import Server

RULE_TYPES = ("budget_exceeded", "roas_below_threshold", "cpa_above_threshold", "daily_spend_limit",
              "frequency_cap_exceeded", "campaign_pause_required")
MODES = ("advisory", "advisory", "soft_block", "hard_block")
RULES = 20


@dataclass
class CheckFixtures:
    """The caller's token, the tenant, and the rotation of check bodies."""

    token: str
    tenant_id: int
    bodies: tuple[str, ...]

    @property
    def path(self) -> str:
        """The check endpoint of the tenant."""
        return f"/api/v1/tenant/{self.tenant_id}/autopilot/enforcement/check"


def _tenant(db: Path, user_id: int) -> int:
    """Tenants are made by superusers; the benchmark writes the two rows directly (SQLite)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with closing(sqlite3.connect(db, timeout=60, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        tenant_id = conn.execute("INSERT INTO tenants (slug, name, created_at) VALUES (?, ?, ?)",
                                 (f"bench-check-{secrets.token_hex(3)}", "Bench check", now)).lastrowid
        conn.execute("INSERT INTO tenant_memberships (tenant_id, user_id, role, created_at, updated_at) "
                     "VALUES (?, ?, 'admin', ?, ?)", (tenant_id, user_id, now, now))
        conn.execute("COMMIT")
    return tenant_id


def _bodies() -> tuple[str, ...]:
    """Four proposals: within limits, over the % limit, a decrease with poor metrics, a pause."""
    def body(action_type: str, entity: str, new: float | None, current: float, metrics: dict) -> str:
        proposed = {"daily_budget": new} if new is not None else {}
        return json.dumps({"action_type": action_type, "entity_type": "campaign", "entity_id": entity,
                           "proposed_value": proposed, "current_value": {"daily_budget": current},
                           "metrics": metrics})
    return (body("budget_increase", "c-1", 550.0, 500.0, {"roas": 2.5, "cpa": 20.0}),
            body("budget_increase", "c-2", 900.0, 500.0, {"roas": 1.8, "cpa": 35.0}),
            body("budget_decrease", "c-3", 300.0, 500.0, {"roas": 0.7, "cpa": 90.0}),
            body("pause_campaign", "c-4", None, 500.0, {}))


def prepare(base_url: str, db: Path, rules: int = RULES) -> CheckFixtures:
    """A user who is admin of a fresh tenant with `rules` custom rules of every type and mode."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        user_id, token = register_and_login(client, "bcheck")
        tenant_id = _tenant(db, user_id)
        client.headers["Authorization"] = f"Bearer {token}"
        base = f"/api/v1/tenant/{tenant_id}/autopilot/enforcement"
        client.put(f"{base}/settings", json={"max_campaign_budget": 5000.0,
                                             "max_daily_budget": 20000.0}).raise_for_status()
        for n in range(rules):
            rule_type = RULE_TYPES[n % len(RULE_TYPES)]
            threshold = {"roas_below_threshold": 1.0, "cpa_above_threshold": 75.0,
                         "campaign_pause_required": 0.5, "frequency_cap_exceeded": 10.0}.get(rule_type, 800.0 + n)
            client.post(f"{base}/rules", json={"rule_id": f"bench-{n:02d}", "rule_type": rule_type,
                                                "threshold_value": threshold,
                                                "enforcement_mode": MODES[n % len(MODES)]}).raise_for_status()
    return CheckFixtures(token, tenant_id, _bodies())


def _headers_script(work_dir: Path) -> Path:
    """rotate.lua, also sending wrk's `-H` headers (the shared script builds its own header table)."""
    script = work_dir / "rotate_with_headers.lua"
    text = LUA_SCRIPT.read_text().replace(
        "local headers = {}", "local headers = {}\n  for k, v in pairs(wrk.headers) do headers[k] = v end", 1)
    script.write_text(text)
    return script


def _run(driver: Driver, base_url: str, fx: CheckFixtures, seconds: float, work_dir: Path) -> LoadResult:
    label = f"POST /enforcement/check ({RULES} rules)"
    if driver.kind == "wrk":
        cmd = [driver.wrk_path, "-t1", f"-c{driver.spec.connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "5s", "-H", f"Authorization: Bearer {fx.token}", "-s", str(_headers_script(work_dir)),
               base_url, "--", "POST", str(len(fx.bodies)), *fx.bodies, fx.path]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=seconds + 60,
                              stdin=subprocess.DEVNULL)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout[-500:]}")
        raw = json.loads(line.split(" ", 1)[1])
        secs = raw["duration_us"] / 1e6
        return LoadResult(label, raw["requests"], round(secs, 3), raw["requests"] / secs, raw["p50_us"] / 1000,
                          raw["p99_us"] / 1000, raw["max_us"] / 1000, {k: v for k, v in raw["errors"].items() if v})
    host = urlsplit(base_url).netloc
    requests = [r.replace(b"\r\n\r\n", f"\r\nAuthorization: Bearer {fx.token}\r\n\r\n".encode(), 1)
                for r in pyclient.build_requests(host, "POST", (fx.path,), fx.bodies)]
    stats = asyncio.run(pyclient._hammer(base_url, requests, driver.spec.connections, seconds, MAX_REQUESTS))
    rps = stats.requests / stats.seconds if stats.seconds else 0.0
    return LoadResult(label, stats.requests, round(stats.seconds, 3), rps, stats.percentile_ms(50),
                      stats.percentile_ms(99), stats.percentile_ms(100), {k: v for k, v in stats.errors.items() if v})


def measure(driver: Driver, hello: Server, autopack: Server, fx: CheckFixtures,
            work_dir: Path | None = None) -> dict:
    """Hello, the check (warm-up, then measured, with server CPU per request), hello again; ratio to hello."""
    work_dir = work_dir or autopack.log.parent
    before = _measure(driver, hello, HELLO)
    if driver.spec.warmup > 0:
        _run(driver, autopack.url, fx, driver.spec.warmup, work_dir)
    cpu_before = autopack.cpu_seconds()
    row = _run(driver, autopack.url, fx, driver.spec.duration, work_dir).as_dict()
    cpu = autopack.cpu_seconds() - cpu_before
    row["cpu_us_per_request"] = cpu * 1e6 / row["requests"] if row["requests"] else 0.0
    after = _measure(driver, hello, HELLO)
    hello_rps = (before["rps"] + after["rps"]) / 2
    row["ratio"] = row["rps"] / hello_rps if hello_rps else 0.0
    row["goal"], row["pass"] = None, None  # reported only: the issue sets no target for the check
    return {"hello_before": before, "hello_after": after, "hello_rps": hello_rps,
            "rows": {"check_20_rules": row}}
