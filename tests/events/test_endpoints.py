"""The three streams in-process: backlog with once=1, resuming, who may read which stream."""

from __future__ import annotations

from tests.auth.helpers import bearer, make_user
from tests.autopilot.core.conftest import create_tenant, pause
from tests.conftest import run_payload
from tests.events.sse import parse


def _run_with_events(client, run_id: str = "stream-run") -> None:
    client.post("/runs/start", json=run_payload(run_id, 1, 2))
    client.post(f"/runs/{run_id}/phases/F1.1/update_status", json={"state": "EXECUTING"})
    client.post(f"/runs/{run_id}/phases/F1.1/update_status", json={"state": "COMPLETE"})


def test_once_returns_the_backlog_and_closes(client):
    _run_with_events(client)
    _run_with_events(client, "other-run")
    response = client.get("/runs/stream-run/events", params={"once": 1})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse(response.text)
    assert [e["data"]["run_id"] for e in events] == ["stream-run"] * len(events)
    assert [e["event"] for e in events][:2] == ["run.state_changed", "phase.state_changed"]
    assert [int(e["id"]) for e in events] == [e["data"]["id"] for e in events]
    assert [e["data"]["id"] for e in events] == sorted(e["data"]["id"] for e in events)
    phase_moves = [e["data"]["payload"]["to"] for e in events if e["event"] == "phase.state_changed"]
    assert phase_moves == ["EXECUTING", "COMPLETE"]


def test_resume_after_an_id_from_the_header_or_the_query(client):
    _run_with_events(client)
    ids = [e["data"]["id"] for e in parse(client.get("/runs/stream-run/events?once=1").text)]
    by_header = client.get("/runs/stream-run/events?once=1", headers={"Last-Event-ID": str(ids[1])})
    assert [e["data"]["id"] for e in parse(by_header.text)] == ids[2:]
    by_query = client.get(f"/runs/stream-run/events?once=1&last_event_id={ids[0]}")
    assert [e["data"]["id"] for e in parse(by_query.text)] == ids[1:]
    both = client.get(f"/runs/stream-run/events?once=1&last_event_id={ids[0]}",
                      headers={"Last-Event-ID": str(ids[-1])})
    assert parse(both.text) == []  # the header (a reconnecting browser's) wins
    assert client.get("/runs/stream-run/events?once=1", headers={"Last-Event-ID": "x"}).status_code == 400


def test_unknown_run_is_404_before_any_stream(client):
    response = client.get("/runs/nope/events")
    assert response.status_code == 404
    assert response.json() == {"detail": "Run nope not found"}


def test_a_viewer_reads_its_tenant_stream_and_not_another_tenants(client):
    acme, globex = create_tenant("acme"), create_tenant("globex")
    assert client.post(acme.url("/actions"), json=pause(), headers=acme.operator).status_code in (200, 201)
    client.post(globex.url("/actions"), json=pause("g-1"), headers=globex.operator)
    mine = client.get(f"/api/v1/tenant/{acme.id}/autopilot/events?once=1", headers=acme.viewer)
    assert mine.status_code == 200
    events = parse(mine.text)
    assert events and {e["data"]["tenant_id"] for e in events} == {acme.id}
    assert "autopilot.action.queued" in [e["event"] for e in events]
    foreign = client.get(f"/api/v1/tenant/{acme.id}/autopilot/events?once=1", headers=globex.viewer)
    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "ACCESS_DENIED"
    assert client.get(f"/api/v1/tenant/{acme.id}/autopilot/events?once=1").status_code == 401


def test_all_events_are_for_superusers_only(client):
    _run_with_events(client)
    assert client.get("/events?once=1").status_code == 401
    plain = bearer(make_user("plain")[1])
    assert client.get("/events?once=1", headers=plain).status_code == 403
    boss = bearer(make_user("boss", superuser=True)[1])
    response = client.get("/events?once=1", headers=boss)
    assert response.status_code == 200
    assert {e["data"]["run_id"] for e in parse(response.text)} == {"stream-run"}


def test_a_stream_ends_after_its_longest_life(client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_EVENTS_MAX_STREAM_SECONDS", "0.5")
    from autopack.core.settings import get_settings

    get_settings.cache_clear()
    _run_with_events(client)
    import time

    started = time.monotonic()
    response = client.get("/runs/stream-run/events")  # no once: only the lifetime ends it
    assert 0.4 < time.monotonic() - started < 5
    assert parse(response.text) == parse(client.get("/runs/stream-run/events?once=1").text)
