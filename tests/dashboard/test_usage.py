"""GET /dashboard/usage: windows, grouping, NULL splits, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import run_payload
from tests.dashboard.helpers import usage


def _ago(**delta) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def test_empty(client):
    assert client.get("/dashboard/usage").json() == {"providers": [], "models": []}


def test_sums_by_provider_and_model(client, started_run):
    usage(client, started_run,
          {"provider": "openai", "model": "gpt-4o", "role": "builder", "total_tokens": 1500,
           "prompt_tokens": 1000, "completion_tokens": 500},
          {"provider": "openai", "model": "gpt-4o-mini", "role": "auditor", "total_tokens": 2300,
           "prompt_tokens": 2000, "completion_tokens": 300},
          {"provider": "anthropic", "model": "claude-sonnet-4-5", "role": "builder", "total_tokens": 700,
           "prompt_tokens": 600, "completion_tokens": 100})
    body = client.get("/dashboard/usage?period=day").json()
    providers = {p["provider"]: p for p in body["providers"]}
    assert providers["openai"] == {
        "provider": "openai", "period": "day", "prompt_tokens": 3000, "completion_tokens": 800,
        "total_tokens": 3800, "cap_tokens": 5_000_000, "percent_of_cap": 3800 / 5_000_000 * 100}
    assert providers["anthropic"]["total_tokens"] == 700
    assert [(m["provider"], m["model"], m["total_tokens"]) for m in body["models"]] == [
        ("anthropic", "claude-sonnet-4-5", 700), ("openai", "gpt-4o", 1500), ("openai", "gpt-4o-mini", 2300)]


def test_null_splits_count_as_zero_while_totals_use_total_tokens(client, started_run):
    usage(client, started_run,
          {"provider": "openai", "model": "gpt-4o", "role": "builder", "total_tokens": 1000},
          {"provider": "openai", "model": "gpt-4o", "role": "builder", "total_tokens": 500,
           "prompt_tokens": 300, "completion_tokens": None})
    provider = client.get("/dashboard/usage").json()["providers"][0]
    assert (provider["prompt_tokens"], provider["completion_tokens"], provider["total_tokens"]) == (300, 0, 1500)


def test_windows(client, started_run):
    usage(client, started_run,
          {"provider": "p", "model": "m", "role": "builder", "total_tokens": 1, "created_at": _ago(hours=2)},
          {"provider": "p", "model": "m", "role": "builder", "total_tokens": 10, "created_at": _ago(days=3)},
          {"provider": "p", "model": "m", "role": "builder", "total_tokens": 100, "created_at": _ago(days=20)},
          {"provider": "p", "model": "m", "role": "builder", "total_tokens": 1000, "created_at": _ago(days=45)})

    def total(period):
        providers = client.get(f"/dashboard/usage?period={period}").json()["providers"]
        return providers[0]["total_tokens"] if providers else 0

    assert total("day") == 1
    assert total("week") == 11
    assert total("month") == 111
    # Unknown periods use a week and echo the given value, as the reference does.
    body = client.get("/dashboard/usage?period=fortnight").json()
    assert body["providers"][0]["total_tokens"] == 11 and body["providers"][0]["period"] == "fortnight"


def test_cap_from_settings(client, started_run, monkeypatch, make_client):
    monkeypatch.setenv("RUN_TOKEN_CAP", "1000")
    client = make_client()
    usage(client, started_run, {"provider": "p", "model": "m", "role": "builder", "total_tokens": 250})
    provider = client.get("/dashboard/usage").json()["providers"][0]
    assert (provider["cap_tokens"], provider["percent_of_cap"]) == (1000, 25.0)


def test_paging(client, started_run):
    usage(client, started_run, *[{"provider": f"p{i}", "model": "m", "role": "builder", "total_tokens": i}
                                 for i in range(5)])
    body = client.get("/dashboard/usage?limit=2&offset=1").json()
    assert [p["provider"] for p in body["providers"]] == ["p1", "p2"]
    assert [m["provider"] for m in body["models"]] == ["p1", "p2"]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "limit=x", "period=" + "x" * 33,
                                   "offset=99999999999"])
def test_bad_paging_is_422(client, query):
    assert client.get(f"/dashboard/usage?{query}").status_code == 422


def test_absurd_token_counts_are_summed_not_a_500(client):
    """Runners may report up to 2**62 tokens an event: sums past 64 bits still answer (SQLite rounds)."""
    assert client.post("/runs/start", json=run_payload("big", 1, 1)).status_code == 201
    event = {"provider": "p", "model": "m", "role": "builder", "total_tokens": 2**62, "prompt_tokens": 2**62}
    for _ in range(3):
        assert client.post("/runs/big/usage", json={"events": [event] * 1000}).status_code == 201
    response = client.get("/dashboard/usage?period=month")
    assert response.status_code == 200, response.text
    [provider] = response.json()["providers"]
    assert provider["total_tokens"] == pytest.approx(3000 * 2**62, rel=1e-9)
    assert provider["completion_tokens"] == 0
