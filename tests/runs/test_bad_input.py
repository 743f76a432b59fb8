"""Bad input: a clear 4xx and nothing written."""

from __future__ import annotations

import pytest

from autopack.db.models import Run
from tests.conftest import run_payload
from tests.runs.helpers import count


@pytest.mark.parametrize("run_id", ["a/b", "a\\b", "..", ".hidden", "tab\there", "nul\x00", "x" * 129, "", " pad"])
def test_unsafe_run_ids_are_rejected(client, runs_dir, run_id):
    response = client.post("/runs/start", json=run_payload(run_id))
    assert response.status_code == 422
    assert count(Run) == 0
    assert not runs_dir.exists()


@pytest.mark.parametrize("field,value", [("phase_id", "../../etc"), ("tier_id", "T/1"), ("phase_id", "a\nb")])
def test_unsafe_tier_and_phase_ids_are_rejected(client, field, value):
    payload = run_payload(tiers=1, phases_per_tier=1)
    payload["phases"][0][field] = value
    if field == "tier_id":
        payload["tiers"][0]["tier_id"] = value
    assert client.post("/runs/start", json=payload).status_code == 422
    assert count(Run) == 0


@pytest.mark.parametrize("mutate", [
    lambda p: p["run"].update(token_cap=-5),
    lambda p: p["run"].update(token_cap=2**70),
    lambda p: p["run"].update(max_phases="many"),
    lambda p: p["tiers"][0].update(tier_index=2**40),
    lambda p: p["tiers"][0].update(name="n" * 256),
    lambda p: p["phases"][0].update(phase_index=-1),
    lambda p: p["phases"][0].update(scope="not-a-dict"),
    lambda p: p.update(tiers="T1"),
    lambda p: p.update(run=None),
    lambda p: p["phases"][0].pop("name"),
])
def test_wrong_types_and_ranges_are_422(client, mutate):
    payload = run_payload(tiers=1, phases_per_tier=1)
    mutate(payload)
    response = client.post("/runs/start", json=payload)
    assert response.status_code == 422, response.text
    assert count(Run) == 0


@pytest.mark.parametrize("body", ["{", "[]", "null", '"run"', "{\"run\": {\"run_id\": 5}}", "\xff\xfe"])
def test_malformed_bodies_are_422(client, body):
    response = client.post("/runs/start", content=body.encode("latin-1"),
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "detail" in response.json()
    assert count(Run) == 0


def test_oversized_body_is_413(make_client, monkeypatch):
    monkeypatch.setenv("AUTOPACK_MAX_BODY_BYTES", "2048")
    client = make_client()
    payload = run_payload()
    payload["phases"][0]["description"] = "x" * 5000
    response = client.post("/runs/start", json=payload)
    assert response.status_code == 413
    assert count(Run) == 0


def test_too_many_phases_is_422(client):
    payload = run_payload(tiers=1, phases_per_tier=2001)
    assert client.post("/runs/start", json=payload).status_code == 422


def test_record_issue_rejects_oversized_fields(client, started_run):
    url = f"/runs/{started_run}/phases/F1.1/record_issue"
    params = {"issue_key": "k" * 300, "severity": "minor", "source": "s", "category": "c"}
    assert client.post(url, params=params).status_code == 422
    params["issue_key"] = "ok"
    assert client.post(url, params=params, json={"not": "a list"}).status_code == 422
