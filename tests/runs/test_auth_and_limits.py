"""API key checks and the POST /runs/start rate limit."""

from __future__ import annotations

from autopack.db.models import Run
from tests.conftest import run_payload
from tests.runs.helpers import count, set_state


def test_start_is_limited_to_ten_per_minute(client):
    for i in range(10):
        assert client.post("/runs/start", json=run_payload(f"r{i}")).status_code == 201
    response = client.post("/runs/start", json=run_payload("r10"))
    assert response.status_code == 429
    assert response.json()["detail"] == "Rate limit exceeded: 10 per 1 minute"
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-RateLimit-Limit"] == "10"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert count(Run) == 10


def test_limit_is_per_client_ip(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_RUNS_START_RATE_LIMIT", "2/minute")
    first = make_client(client=("10.0.0.1", 1234))
    second = make_client(client=("10.0.0.2", 1234))
    assert [first.post("/runs/start", json=run_payload(f"a{i}")).status_code for i in range(3)] == [201, 201, 429]
    assert second.post("/runs/start", json=run_payload("b0")).status_code == 201


def test_forwarded_for_only_from_trusted_proxies(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_RUNS_START_RATE_LIMIT", "1/minute")
    monkeypatch.setenv("AUTOPACK_TRUSTED_PROXIES", "10.9.0.0/16")
    proxy = make_client(client=("10.9.0.5", 1))
    assert proxy.post("/runs/start", json=run_payload("p1"), headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 201
    assert proxy.post("/runs/start", json=run_payload("p2"), headers={"X-Forwarded-For": "2.2.2.2"}).status_code == 201
    assert proxy.post("/runs/start", json=run_payload("p3"), headers={"X-Forwarded-For": "2.2.2.2"}).status_code == 429
    untrusted = make_client(client=("8.8.8.8", 1))
    assert untrusted.post("/runs/start", json=run_payload("u1"), headers={"X-Forwarded-For": "3.3.3.3"}).status_code == 201
    assert untrusted.post("/runs/start", json=run_payload("u2"), headers={"X-Forwarded-For": "4.4.4.4"}).status_code == 429


def test_configured_key_is_required_to_start(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    client = make_client()
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer k-123456789"}):
        response = client.post("/runs/start", json=run_payload(), headers=headers)
        assert response.status_code == 403
        assert response.json()["detail"] == "Invalid or missing API key. Set X-API-Key header."
    assert count(Run) == 0
    ok = client.post("/runs/start", json=run_payload(), headers={"X-API-Key": "k-123456789"})
    assert ok.status_code == 201
    assert ok.json()["id"] == "demo-20260110-120000"


def test_rejected_auth_does_not_spend_the_rate_limit(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    monkeypatch.setenv("AUTOPACK_RUNS_START_RATE_LIMIT", "1/minute")
    client = make_client()
    for _ in range(3):
        assert client.post("/runs/start", json=run_payload()).status_code == 403
    assert client.post("/runs/start", json=run_payload(), headers={"X-API-Key": "k-123456789"}).status_code == 201


def test_production_requires_key_on_writes_not_reads(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    client = make_client()
    run_id = client.post("/runs/start", json=run_payload(), headers={"X-API-Key": "k-123456789"}).json()["id"]
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    prod = make_client()
    assert set_state(prod, run_id, "F1.1", "COMPLETE").status_code == 403
    ok = prod.post(f"/runs/{run_id}/phases/F1.1/update_status", json={"state": "COMPLETE"},
                   headers={"X-API-Key": "k-123456789"})
    assert ok.status_code == 200
    assert prod.get(f"/runs/{run_id}").status_code == 200
    assert prod.get("/health").status_code == 200


def test_development_without_key_is_open(client):
    assert client.post("/runs/start", json=run_payload()).status_code == 201
