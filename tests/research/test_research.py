"""Research sessions in the database: the reference's shapes, notes and sources, the production gate, a restart."""

from __future__ import annotations

from datetime import datetime

from autopack.core import database

QUARANTINED = ("Research API is quarantined and disabled in production. Set RESEARCH_API_ENABLED=true to enable "
               "(not recommended for production).")


def test_sessions_notes_and_sources(client):
    assert client.get("/research/sessions").json() == []
    created = client.post("/research/sessions", json={"topic": "Caching", "description": "Compare caches"})
    assert created.status_code == 201
    body = created.json()
    assert body["session_id"].startswith("session_") and body["status"] == "active"
    assert body["topic"] == "Caching" and body["description"] == "Compare caches"
    stamp = datetime.fromisoformat(body["created_at"])
    assert stamp.utcoffset() is not None and stamp.year >= 2026  # a real time, not the reference's constant
    second = client.post("/research/sessions", json={"topic": "B", "description": ""}).json()
    assert int(second["session_id"].split("_")[1]) == int(body["session_id"].split("_")[1]) + 1
    assert [s["session_id"] for s in client.get("/research/sessions").json()] == [body["session_id"],
                                                                                   second["session_id"]]
    assert [s["session_id"] for s in client.get("/research/sessions?limit=1&offset=1").json()] == [
        second["session_id"]]

    note = client.post(f"/research/sessions/{body['session_id']}/notes",
                       json={"content": "Redis wins", "sources": [{"url": "https://redis.io", "title": "Redis"}]})
    assert note.status_code == 201 and note.json()["sources"][0]["url"] == "https://redis.io"
    detail = client.get(f"/research/sessions/{body['session_id']}").json()
    assert [n["content"] for n in detail["notes"]] == ["Redis wins"] and detail["notes_total"] == 1
    assert detail["sources"] == note.json()["sources"]
    assert detail["updated_at"] >= detail["created_at"]

    for missing in ("session_999999", "nope", "session_", "session_-1", "session_1e3"):
        response = client.get(f"/research/sessions/{missing}")
        assert response.status_code == 404 and response.json()["detail"] == "Session not found"
    assert client.post("/research/sessions/nope/notes", json={"content": "x"}).status_code == 404
    bad_url = client.post(f"/research/sessions/{body['session_id']}/notes",
                          json={"content": "x", "sources": [{"url": "javascript:alert(1)"}]})
    assert bad_url.status_code == 422
    assert client.post("/research/sessions", json={"topic": "only"}).status_code == 422
    assert client.get(f"/research/sessions/{body['session_id']}").json()["notes_total"] == 1


def test_production_answers_503_unless_enabled(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "research-key")
    closed = make_client()
    for method, path in (("get", "/research/sessions"), ("post", "/research/sessions"),
                         ("get", "/research/sessions/session_1"), ("post", "/research/sessions/session_1/notes")):
        response = getattr(closed, method)(path, headers={"X-API-Key": "research-key"})
        assert response.status_code == 503 and response.json()["detail"] == QUARANTINED
    monkeypatch.setenv("RESEARCH_API_ENABLED", "true")
    opened = make_client()
    assert opened.post("/research/sessions", json={"topic": "t", "description": "d"}).status_code in (401, 403)
    ok = opened.post("/research/sessions", json={"topic": "t", "description": "d"},
                     headers={"X-API-Key": "research-key"})
    assert ok.status_code == 201
    monkeypatch.setenv("AUTOPACK_ENV", "development")
    monkeypatch.setenv("RESEARCH_API_ENABLED", "no")  # set and not truthy: off even in development
    assert make_client().get("/research/sessions").status_code == 503


def test_sessions_survive_a_restart(make_client):
    first = make_client()
    created = first.post("/research/sessions", json={"topic": "Durable", "description": "kept"}).json()
    first.post(f"/research/sessions/{created['session_id']}/notes", json={"content": "first note"})
    first.__exit__(None, None, None)  # the app stops; a new one starts on a new engine
    database.reset_engine()
    again = make_client().get(f"/research/sessions/{created['session_id']}").json()
    assert again["topic"] == "Durable" and again["created_at"] == created["created_at"]
    assert [n["content"] for n in again["notes"]] == ["first note"]
