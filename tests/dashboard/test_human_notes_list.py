"""GET /dashboard/human-notes: stored notes, newest first, paged, with the total."""

from __future__ import annotations

import pytest


def _add(client, note, run_id=None):
    response = client.post("/dashboard/human-notes", json={"note": note, "run_id": run_id})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def test_lists_newest_first_with_paging(client, started_run):
    ids = [_add(client, "first"), _add(client, "second", started_run), _add(client, "third")]
    body = client.get("/dashboard/human-notes").json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 100, 0)
    assert [n["id"] for n in body["notes"]] == ids[::-1]
    second = body["notes"][1]
    assert (second["note"], second["run_id"], second["created_by"]) == ("second", started_run, "anonymous")
    assert second["created_at"]
    page = client.get("/dashboard/human-notes?limit=1&offset=1").json()
    assert page["total"] == 3 and [n["note"] for n in page["notes"]] == ["second"]
    assert client.get("/dashboard/human-notes?offset=10").json()["notes"] == []


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "limit=x"])
def test_bad_paging_is_422(client, query):
    assert client.get(f"/dashboard/human-notes?{query}").status_code == 422


def test_production_needs_a_key(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "notes-key")
    client = make_client()
    assert client.get("/dashboard/human-notes").status_code == 403
    assert client.get("/dashboard/human-notes", headers={"X-API-Key": "notes-key"}).status_code == 200
