"""Every statement the core autopilot endpoints run on tenant tables is scoped by tenant_id."""

from __future__ import annotations

import re

from sqlalchemy import event

from autopack.core.database import get_engine
from tests.autopilot.core.conftest import pause, proposal, queue

TABLES = ("autopilot_actions", "autopilot_action_events", "autopilot_settings", "signal_health_readings",
          "trust_gate_audit_log")


def test_statements_on_tenant_tables_filter_by_tenant(client, acme):
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        first = queue(client, acme)["id"]
        second = queue(client, acme, pause("c-2"))["id"]
        client.get(acme.url("/status"), headers=acme.viewer)
        client.get(acme.url("/actions"), headers=acme.viewer, params={"date": "2026-01-01", "status": "queued"})
        client.get(acme.url("/actions/summary"), headers=acme.viewer)
        client.get(acme.url(f"/actions/{first}"), headers=acme.viewer)
        client.post(acme.url(f"/actions/{first}/approve"), headers=acme.operator)
        client.post(acme.url(f"/actions/{second}/dismiss"), headers=acme.operator)
        client.post(acme.url("/actions/approve-all"), headers=acme.operator, json={"action_ids": [first]})
        client.post(acme.url("/signal-health"), headers=acme.operator,
                    json={"readings": [{"platform": "meta", "emq": 1, "freshness": 1, "variance": 1, "anomaly": 1}]})
        client.get(acme.url("/signal-health"), headers=acme.viewer)
        client.post(acme.url("/actions/dry-run"), headers=acme.operator, json=proposal())
        client.put(acme.url("/config"), headers=acme.admin, json={"level": 1})
        client.post(acme.url("/freeze"), headers=acme.admin, json={"reason": "scope"})
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    checked = 0
    for statement in seen:
        flat = " ".join(statement.split()).lower()
        if not flat.startswith(("select", "update", "delete")):
            continue
        if not any(re.search(rf"\bfrom {t}\b|\bupdate {t}\b|\bjoin {t}\b", flat) for t in TABLES):
            continue
        checked += 1
        assert "tenant_id =" in flat or "tenant_id in" in flat, statement
    assert checked >= 15
