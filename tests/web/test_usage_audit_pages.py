"""Usage chart (server-rendered SVG against the cap) and the audit ledger page (superusers only)."""

from __future__ import annotations

import re

from sqlalchemy import text

from autopack.audit.service import allow_ledger_prune
from autopack.core.database import get_engine
from tests.conftest import run_payload
from tests.web.helpers import enter, sign_in, user


def test_usage_chart_per_provider_and_model_with_the_cap(client):
    assert client.post("/runs/start", json=run_payload("run-u")).status_code == 201
    events = [{"provider": "openai", "model": "gpt-4o", "role": "builder", "total_tokens": 3000},
              {"provider": "anthropic", "model": "<i>claude</i>", "role": "auditor", "total_tokens": 1000}]
    assert client.post("/runs/run-u/usage", json={"events": events}).status_code in (200, 201)
    user("alice")
    enter(client, "alice")
    page = client.get("/ui/usage?period=day")
    assert page.status_code == 200
    assert '<svg class="chart"' in page.text and "<script" not in page.text
    assert "3,000" in page.text and "1,000" in page.text and "5,000,000" in page.text  # the default cap
    widths = [int(w) for w in re.findall(r'<rect class="bar" x="\d+" y="\d+" width="(\d+)"', page.text)]
    assert widths == [160, 480, 160, 480]  # providers, then models: anthropic, openai; scaled to the largest
    assert "The cap (5,000,000 tokens) lies far right of these bars." in page.text
    big = [{"provider": "openai", "model": "gpt-4o", "role": "builder", "total_tokens": 2_000_000}]
    client.post("/runs/run-u/usage", json={"events": big})
    drawn = client.get("/ui/usage?period=day").text
    assert re.search(r'<line class="cap" x1="700"', drawn)  # 5,000,000 is now the scale: the cap at its end
    assert "&lt;i&gt;claude&lt;/i&gt;" in page.text and "<i>claude" not in page.text
    assert client.get("/ui/usage?period=year").status_code == 422
    assert "No usage in this period" not in client.get("/ui/usage?period=month").text


def test_audit_page_is_for_superusers_and_shows_the_first_broken_link(client):
    user("root", superuser=True)
    user("bob", roles=("approver",))
    enter(client, "bob")
    refused = client.get("/ui/audit")
    assert refused.status_code == 403 and "Admin privileges required" in refused.text
    assert 'href="/ui/audit"' not in client.get("/ui/runs").text
    client.cookies.clear()
    sign_in(client, "root")  # through the form: the ledger gets its login event
    page = client.get("/ui/audit")
    assert page.status_code == 200
    assert "Chains verified" in page.text and "auth.login_succeeded" in page.text
    with get_engine().begin() as conn:  # edit a sealed row behind the ledger's back
        allow_ledger_prune(conn)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE audit_events SET actor = 'user:mallory' WHERE global_seq = 1"))
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    broken = client.get("/ui/audit")
    assert "Verification failed" in broken.text
    assert re.search(r"first broken link in chain <span class=\"mono\">global</span> at sequence 1\b", broken.text)
