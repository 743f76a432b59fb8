"""Benchmark scenario: `POST /enforcement/check` for a tenant with 20 custom rules, beside GET /hello.

The write-path benchmark (writepath.py, issue [8]) measures it on each database with a target of
0.10 x hello, inside its own hello bracket:

    fx = autopilot_check.prepare(autopack.url, db)          # user, tenant (admin), 20 rules, settings
    row = _measure(driver, autopack, autopilot_check.request_list(fx))

`measure()` gives the same row framed by hello on its own. Every check is a write: it records an
enforcement_audit_logs row and a ledger event, like the real endpoint. The Bearer token goes on every
request through lua/requests.lua (or the Python client).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from autopilot_actions import register_and_login
from benchdb import BenchDatabase, as_database
from loadgen import Driver, RequestList
from scenarios import _bracket, _measure
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


def _tenant(db: Path | BenchDatabase, user_id: int) -> int:
    """Tenants are made by superusers; the benchmark writes the two rows directly (SQLite or PostgreSQL)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with as_database(db).connect() as conn, conn.transaction():
        tenant_id = conn.scalar("INSERT INTO tenants (slug, name, created_at) VALUES (?, ?, ?) RETURNING id",
                                (f"bench-check-{secrets.token_hex(3)}", "Bench check", now))
        conn.execute("INSERT INTO tenant_memberships (tenant_id, user_id, role, created_at, updated_at) "
                     "VALUES (?, ?, 'admin', ?, ?)", (tenant_id, user_id, now, now))
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


def prepare(base_url: str, db: Path | BenchDatabase, rules: int = RULES) -> CheckFixtures:
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


def request_list(fx: CheckFixtures) -> RequestList:
    """The checks as a request list (requests.lua sends the Bearer token on each), bodies in turn."""
    return RequestList(f"POST /enforcement/check ({RULES} rules)", tuple(("POST", fx.path, b) for b in fx.bodies),
                       (("Authorization", f"Bearer {fx.token}"),))


def measure(driver: Driver, hello: Server, autopack: Server, fx: CheckFixtures,
            work_dir: Path | None = None, goal: float | None = None) -> dict:
    """Hello, the check (warm-up, then measured, with server CPU per request), hello again; ratio to hello.

    `goal`: the share of hello's throughput the check must reach (issue [8] sets 0.10), None to report only.
    """
    group = _bracket(driver, hello, lambda: {"check_20_rules": _measure(driver, autopack, request_list(fx))})
    row = group["rows"]["check_20_rules"]
    row["goal"], row["pass"] = goal, None if goal is None else row["ratio"] >= goal
    return group
