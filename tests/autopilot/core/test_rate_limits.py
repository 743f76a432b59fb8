"""Per (tenant, user) rate limits answer the 429 RATE_LIMITED envelope."""

from __future__ import annotations

from tests.autopilot.core.conftest import proposal


def test_reads_are_limited_to_60_a_minute_per_user(client, acme):
    for _ in range(60):
        assert client.get(acme.url("/status"), headers=acme.viewer).status_code == 200
    limited = client.get(acme.url("/actions"), headers=acme.viewer)  # same class, same user
    assert limited.status_code == 429
    body = limited.json()
    assert body["success"] is False and body["error"]["code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) >= 1
    assert client.get(acme.url("/status"), headers=acme.operator).status_code == 200  # another user


def test_dry_runs_are_limited_to_20_a_minute(client, acme):
    for _ in range(20):
        assert client.post(acme.url("/actions/dry-run"), headers=acme.operator, json=proposal()).status_code == 200
    limited = client.post(acme.url("/actions/dry-run"), headers=acme.operator, json=proposal())
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "RATE_LIMITED"
    # the write class has its own budget
    assert client.post(acme.url("/actions"), headers=acme.operator, json=proposal()).status_code == 201
