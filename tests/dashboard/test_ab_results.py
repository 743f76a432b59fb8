"""A/B results: recorded through the API (measured by the server), listed and paged from the table."""

from __future__ import annotations

import pytest

from autopack.db.models import AbTestResult
from tests.dashboard.helpers import set_phase, start
from tests.runs.helpers import count

SHA = "a" * 40


def _record(client, **body):
    return client.post("/dashboard/ab-results", json={
        "test_id": "t1", "control_run_id": "ctl", "treatment_run_id": "trt", "control_commit_sha": SHA,
        "treatment_commit_sha": SHA, "control_model_hash": "h1", "treatment_model_hash": "h1", **body})


@pytest.fixture
def pair(client):
    start(client, "ctl", tiers=1, phases_per_tier=2)
    start(client, "trt", tiers=1, phases_per_tier=2)
    set_phase(client, "ctl", "F1.1", "COMPLETE", tokens_used=1000)
    set_phase(client, "ctl", "F1.2", "FAILED", tokens_used=500)
    set_phase(client, "trt", "F1.1", "COMPLETE", tokens_used=600)
    set_phase(client, "trt", "F1.2", "COMPLETE", tokens_used=400)


def test_record_measures_both_runs(client, pair):
    response = _record(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["is_valid"] is True and body["validity_errors"] == [] and body["validity_warnings"] == []
    assert (body["control_total_tokens"], body["treatment_total_tokens"], body["token_delta"]) == (1500, 1000, -500)
    assert (body["control_phases_complete"], body["control_phases_failed"], body["control_total_phases"]) == (1, 1, 2)
    assert (body["treatment_phases_complete"], body["treatment_phases_failed"]) == (2, 0)
    assert body["success_rate_delta"] == pytest.approx(0.5)
    assert isinstance(body["time_delta_seconds"], float)  # both runs finished
    assert body["created_by"] == "anonymous" and body["created_at"]
    listed = client.get("/dashboard/ab-results").json()
    assert listed["count"] == 1 and listed["results"][0] == body
    assert listed["filters"] == {"test_id": None, "valid_only": True}


def test_validity_rules(client, pair):
    bad_sha = _record(client, treatment_commit_sha="b" * 40).json()
    assert bad_sha["is_valid"] is False and "Commit SHA mismatch" in bad_sha["validity_errors"][0]
    bad_model = _record(client, treatment_model_hash="h2").json()
    assert bad_model["is_valid"] is False and "Model hash mismatch" in bad_model["validity_errors"][0]
    missing_hash = _record(client, control_model_hash="").json()
    assert missing_hash["is_valid"] is True
    assert missing_hash["validity_warnings"] == ["Model hash missing for control"]
    start(client, "trt3", tiers=1, phases_per_tier=3)
    phases = _record(client, treatment_run_id="trt3").json()
    assert phases["is_valid"] is True and "Phase count mismatch" in phases["validity_warnings"][0]
    assert phases["time_delta_seconds"] is None  # the treatment has not finished
    assert client.get("/dashboard/ab-results").json()["count"] == 2
    assert client.get("/dashboard/ab-results?valid_only=false").json()["count"] == 4


def test_filters_order_and_paging(client, pair):
    for test_id in ("t1", "t2", "t1", "t1"):
        assert _record(client, test_id=test_id).status_code == 201
    page = client.get("/dashboard/ab-results?test_id=t1&limit=2&offset=1").json()
    assert (page["count"], page["total"], page["limit"], page["offset"]) == (2, 3, 2, 1)
    ids = [r["id"] for r in client.get("/dashboard/ab-results?test_id=t1").json()["results"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert [r["id"] for r in page["results"]] == ids[1:3]
    assert client.get("/dashboard/ab-results?test_id=none").json()["results"] == []


def test_consolidated_reports_the_ab_delta(client, pair, monkeypatch):
    monkeypatch.setenv("AUTOPACK_ENABLE_CONSOLIDATED_METRICS", "1")
    _record(client)
    body = client.get("/dashboard/runs/trt/consolidated-metrics").json()
    assert (body["ab_delta_tokens_saved"], body["ab_control_run_id"], body["ab_treatment_run_id"]) == (
        500, "ctl", "trt")


@pytest.mark.parametrize("query,status,detail", [
    ("limit=1001", 400, "Limit cannot exceed 1000"),
    ("limit=0", 400, "Limit must be at least 1"),
    ("offset=-5", 400, "Offset cannot be negative"),
    ("valid_only=maybe", 422, None),
    ("limit=ten", 422, None),
    ("test_id=" + "x" * 129, 422, None),
])
def test_bad_listing_queries(client, query, status, detail):
    response = client.get(f"/dashboard/ab-results?{query}")
    assert response.status_code == status
    if detail:
        assert response.json() == {"detail": detail}


@pytest.mark.parametrize("body,status", [
    ({"treatment_run_id": "ctl"}, 400),
    ({"treatment_run_id": "missing"}, 404),
    ({"control_commit_sha": "not-hex"}, 422),
    ({"control_commit_sha": None}, 422),
    ({"test_id": ""}, 422),
    ({"test_id": "a/b"}, 422),
    ({"control_run_id": "../x"}, 422),
    ({"unexpected": 1}, 422),
    ({"control_model_hash": "h" * 129}, 422),
])
def test_bad_records_write_nothing(client, pair, body, status):
    assert _record(client, **body).status_code == status
    assert count(AbTestResult) == 0


def test_production_requires_credentials(make_client, monkeypatch, pair):
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    client = make_client()
    assert _record(client).status_code == 403
    assert count(AbTestResult) == 0
    ok = client.post(
        "/dashboard/ab-results", headers={"X-API-Key": "k-123456789"},
        json={"test_id": "t1", "control_run_id": "ctl", "treatment_run_id": "trt",
              "control_commit_sha": SHA, "treatment_commit_sha": SHA})
    assert ok.status_code == 201 and ok.json()["created_by"] == "api_key:env"


def test_created_by_is_stored_and_listed(client, pair):
    response = _record(client, created_by="ab_analysis_script")
    assert response.status_code == 201, response.text
    assert response.json()["created_by"] == "ab_analysis_script"
    listed = client.get("/dashboard/ab-results").json()["results"]
    assert [r["created_by"] for r in listed] == ["ab_analysis_script"]


@pytest.mark.parametrize("created_by", ["", "x" * 101, "a\u0000b", 5])
def test_bad_created_by_is_422(client, pair, created_by):
    assert _record(client, created_by=created_by).status_code == 422
    assert count(AbTestResult) == 0
