"""GET /metrics: Prometheus text, request metrics per route template, access in production."""

from __future__ import annotations

import pytest

from autopack.core.workers import PollingWorker
from tests.metrics.helpers import samples, value


def _scrape(client, **kwargs) -> dict:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def test_requests_are_labelled_by_route_template(client, started_run):
    before = _scrape(client)
    for _ in range(3):
        assert client.get(f"/runs/{started_run}").status_code == 200  # answered by the fast path
    assert client.get("/runs/no-such-run").status_code == 404
    assert client.get("/health").status_code == 200
    assert client.get("/no/such/path/abc123").status_code == 404
    after = _scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("autopack_http_requests_total", method="GET", route="/runs/{run_id}", status="200") == 3
    assert delta("autopack_http_requests_total", method="GET", route="/runs/{run_id}", status="404") == 1
    assert delta("autopack_http_requests_total", method="GET", route="/health", status="200") == 1
    assert delta("autopack_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert delta("autopack_http_request_duration_seconds_count", method="GET", route="/runs/{run_id}") == 4
    assert delta("autopack_http_request_duration_seconds_bucket", method="GET", route="/health",
                 le="+Inf") == 1
    # No raw path (ids) ever becomes a label.
    labels = {v for (_, pairs) in after for (_, v) in pairs}
    assert started_run not in " ".join(labels) and "abc123" not in " ".join(labels)
    assert value(after, "autopack_http_requests_in_flight") >= 0
    assert ("autopack_db_pool_checked_out_connections", ()) in after


def test_unknown_methods_are_one_label(client):
    client.request("BREW", "/health")
    found = _scrape(client)
    assert value(found, "autopack_http_requests_total", method="other", route="/health", status="405") >= 1


def test_worker_ticks_and_failures_are_counted(client):
    calls = []

    def tick():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("transient")

    worker = PollingWorker("metrics-test-worker", tick, 60)
    before = _scrape(client)
    for _ in range(3):
        worker.run_once()
    after = _scrape(client)
    ticks = ("autopack_worker_ticks_total", "autopack_worker_tick_failures_total")
    assert [value(after, n, worker="metrics-test-worker") - value(before, n, worker="metrics-test-worker")
            for n in ticks] == [3, 1]


def test_rate_limit_rejections_are_counted(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_RUNS_START_RATE_LIMIT", "1/minute")
    client = make_client()
    before = _scrape(client)
    statuses = [client.post("/runs/start", json={}).status_code for _ in range(3)]
    assert statuses.count(429) == 2
    after = _scrape(client)
    name = "autopack_rate_limit_rejections_total"
    assert sum(v for (n, _), v in after.items() if n == name) - sum(
        v for (n, _), v in before.items() if n == name) == 2


@pytest.mark.parametrize(("public", "status"), [(None, 403), ("0", 403), ("true", 403), ("1", 200)])
def test_production_needs_credentials_unless_public(make_client, monkeypatch, public, status):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "metrics-key")
    if public is None:
        monkeypatch.delenv("AUTOPACK_METRICS_PUBLIC", raising=False)
    else:
        monkeypatch.setenv("AUTOPACK_METRICS_PUBLIC", public)
    client = make_client()
    assert client.get("/metrics").status_code == status
    assert client.get("/metrics", headers={"X-API-Key": "metrics-key"}).status_code == 200
    assert client.get("/metrics", headers={"X-API-Key": "wrong"}).status_code == (200 if public == "1" else 403)


def test_development_is_open_even_with_a_key(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "metrics-key")
    assert make_client().get("/metrics").status_code == 200


def test_routes_of_included_routers_are_labelled_with_their_prefix(client):
    """The route as served: the autopilot's routes carry their routers' prefix, fast path or not."""
    before = _scrape(client)
    check = "/api/v1/tenant/7/autopilot/enforcement/check"
    assert client.post(check, json={}).status_code == 401  # the fast path's own answer (no credentials)
    assert client.get("/api/v1/tenant/7/autopilot/actions").status_code == 401  # the router's
    after = _scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("autopack_http_requests_total", method="POST",
                 route="/api/v1/tenant/{tenant_id}/autopilot/enforcement/check", status="401") == 1
    assert delta("autopack_http_requests_total", method="GET",
                 route="/api/v1/tenant/{tenant_id}/autopilot/actions", status="401") == 1
    assert delta("autopack_http_requests_total", method="POST", route="/enforcement/check", status="401") == 0
