"""Token-efficiency, phase-6 and consolidated metrics, computed from stored telemetry."""

from __future__ import annotations

import pytest

from tests.dashboard.helpers import metrics, set_phase, start, usage

TE_A = {"artifact_substitutions": 3, "tokens_saved_artifacts": 1200, "budget_mode": "semantic",
        "budget_used": 800, "budget_cap": 1000, "files_kept": 5, "files_omitted": 2, "phase_outcome": "COMPLETE"}
TE_B = {"artifact_substitutions": 1, "tokens_saved_artifacts": 300, "budget_mode": "lexical",
        "budget_used": 200, "budget_cap": 1000, "files_kept": 1, "files_omitted": 4}
P6_A = {"failure_hardening_triggered": True, "failure_pattern_detected": "import_error",
        "doctor_call_skipped": True, "doctor_tokens_avoided_estimate": 10000, "estimate_coverage_n": 12,
        "estimate_source": "run_local", "intention_context_injected": True, "intention_context_chars": 1500,
        "plan_normalization_used": True}
P6_B = {"failure_pattern_detected": "import_error", "doctor_tokens_avoided_estimate": 5000,
        "estimate_coverage_n": 3, "estimate_source": "global", "intention_context_injected": True,
        "intention_context_chars": 500}


@pytest.fixture(autouse=True)
def phase6_switch_on(monkeypatch):
    """These tests record phase-6 metrics, which the kill switch gates (tests/usage/test_phase6_switch.py)."""
    monkeypatch.setenv("AUTOPACK_ENABLE_PHASE6_METRICS", "1")


@pytest.fixture
def enabled(monkeypatch):
    monkeypatch.setenv("AUTOPACK_ENABLE_CONSOLIDATED_METRICS", "1")


def _telemetry(client, run_id):
    metrics(client, run_id, "F1.1", token_efficiency=TE_A, phase6=P6_A)
    metrics(client, run_id, "F1.2", token_efficiency=TE_B, phase6=P6_B)
    usage(client, run_id,
          {"provider": "openai", "model": "gpt-4o", "role": "builder", "phase_id": "F1.1",
           "total_tokens": 1000, "prompt_tokens": 700, "completion_tokens": 300},
          {"provider": "openai", "model": "gpt-4o", "role": "doctor", "phase_id": "F1.1",
           "total_tokens": 400, "prompt_tokens": 400, "is_doctor_call": True, "doctor_model": "cheap"},
          {"provider": "anthropic", "model": "claude", "role": "auditor", "phase_id": "F1.2",
           "total_tokens": 600, "prompt_tokens": 500, "completion_tokens": 100},
          {"provider": "anthropic", "model": "claude", "role": "agent:plan", "total_tokens": 50})


def test_token_efficiency_without_metrics_is_zero(client, started_run):
    body = client.get(f"/dashboard/runs/{started_run}/token-efficiency").json()
    assert body["run_id"] == started_run and body["total_phases"] == 0
    assert body["budget_utilization"] == 0.0 and body["avg_tokens_saved_per_phase"] == 0.0


def test_token_efficiency_aggregates(client, started_run):
    _telemetry(client, started_run)
    body = client.get(f"/dashboard/runs/{started_run}/token-efficiency").json()
    assert body == {
        "run_id": started_run, "total_phases": 2, "total_artifact_substitutions": 4,
        "total_tokens_saved_artifacts": 1500, "total_budget_used": 1000, "total_budget_cap": 2000,
        "total_files_kept": 6, "total_files_omitted": 6, "semantic_mode_count": 1, "lexical_mode_count": 1,
        "avg_artifact_substitutions_per_phase": 2.0, "avg_tokens_saved_per_phase": 750.0,
        "budget_utilization": 0.5}


def test_phase6_aggregates(client, started_run):
    empty = client.get(f"/dashboard/runs/{started_run}/phase6-stats").json()
    assert empty["total_phases"] == 0 and empty["failure_patterns_detected"] == {}
    assert empty["plan_normalization_used"] is False
    _telemetry(client, started_run)
    body = client.get(f"/dashboard/runs/{started_run}/phase6-stats").json()
    assert body == {
        "run_id": started_run, "total_phases": 2, "failure_hardening_triggered_count": 1,
        "failure_patterns_detected": {"import_error": 2}, "doctor_calls_skipped_count": 1,
        "total_doctor_tokens_avoided_estimate": 15000,
        "estimate_coverage_stats": {"global": {"count": 1, "total_n": 3}, "run_local": {"count": 1, "total_n": 12}},
        "intention_context_injected_count": 2, "total_intention_context_chars": 2000,
        "avg_intention_context_chars_per_phase": 1000.0, "plan_normalization_used": True}


@pytest.mark.parametrize("path", ["token-efficiency", "phase6-stats"])
def test_legacy_stats_unknown_run(client, path):
    response = client.get(f"/dashboard/runs/missing/{path}")
    assert response.status_code == 404 and response.json() == {"detail": "Run not found"}


@pytest.mark.parametrize("value", [None, "0", "true", "TRUE", "yes", "on", "", " 1"])
def test_consolidated_kill_switch_off(client, started_run, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("AUTOPACK_ENABLE_CONSOLIDATED_METRICS", raising=False)
    else:
        monkeypatch.setenv("AUTOPACK_ENABLE_CONSOLIDATED_METRICS", value)
    response = client.get(f"/dashboard/runs/{started_run}/consolidated-metrics")
    assert response.status_code == 503
    assert response.json() == {"detail": "Consolidated metrics disabled. Set "
                                         "AUTOPACK_ENABLE_CONSOLIDATED_METRICS=1 to enable."}


def test_consolidated_computed(client, started_run, enabled):
    _telemetry(client, started_run)
    set_phase(client, started_run, "F1.1", "COMPLETE")
    set_phase(client, started_run, "F1.2", "SKIPPED")
    response = client.get(f"/dashboard/runs/{started_run}/consolidated-metrics")
    assert response.status_code == 200, response.text
    body = response.json()
    contract = {k: body[k] for k in body if k not in ("phases", "pagination")}
    assert contract == {
        "run_id": started_run, "total_tokens_spent": 2050, "total_prompt_tokens": 1600,
        "total_completion_tokens": 400, "doctor_tokens_spent": 400,
        "artifact_tokens_avoided": 1500, "artifact_substitutions_count": 4,
        "doctor_tokens_avoided_estimate": 15000, "doctor_calls_skipped_count": 1,
        "estimate_coverage_n": 12, "estimate_source": "run_local",
        "ab_delta_tokens_saved": None, "ab_control_run_id": None, "ab_treatment_run_id": None,
        "total_phases": 4, "completed_phases": 1}
    assert len(contract) == 16
    assert body["pagination"] == {"limit": 1000, "offset": 0, "total": 4}
    first = body["phases"][0]
    assert first == {"phase_id": "F1.1", "phase_index": 0, "name": "Phase 1.1", "state": "COMPLETE",
                     "tokens_spent": 1400, "prompt_tokens": 1100, "completion_tokens": 300,
                     "doctor_tokens_spent": 400, "artifact_tokens_avoided": 1200,
                     "artifact_substitutions_count": 3, "doctor_tokens_avoided_estimate": 10000,
                     "doctor_calls_skipped_count": 1}
    assert body["phases"][1]["tokens_spent"] == 600
    assert body["phases"][3]["tokens_spent"] == 0 and body["phases"][3]["state"] == "QUEUED"


def test_consolidated_empty_run(client, started_run, enabled):
    body = client.get(f"/dashboard/runs/{started_run}/consolidated-metrics").json()
    assert body["total_tokens_spent"] == 0 and body["estimate_source"] is None
    assert body["estimate_coverage_n"] is None and len(body["phases"]) == 4


def test_consolidated_paging(client, enabled):
    run_id = start(client, "paged", tiers=1, phases_per_tier=5)
    page = client.get(f"/dashboard/runs/{run_id}/consolidated-metrics?limit=2&offset=1").json()
    assert [p["phase_id"] for p in page["phases"]] == ["F1.2", "F1.3"]
    assert page["pagination"] == {"limit": 2, "offset": 1, "total": 5}
    assert page["total_phases"] == 5  # the totals ignore the page
    beyond = client.get(f"/dashboard/runs/{run_id}/consolidated-metrics?offset=99999999999999999999").json()
    assert beyond["phases"] == []


@pytest.mark.parametrize("query,status,detail", [
    ("limit=10001", 400, "Limit cannot exceed 10000"),
    ("offset=-1", 400, "Offset cannot be negative"),
    ("limit=0", 400, "Limit must be at least 1"),
    ("limit=abc", 422, None),
])
def test_consolidated_bad_paging(client, started_run, enabled, query, status, detail):
    response = client.get(f"/dashboard/runs/{started_run}/consolidated-metrics?{query}")
    assert response.status_code == status
    if detail:
        assert response.json() == {"detail": detail}


def test_consolidated_unknown_run(client, enabled):
    response = client.get("/dashboard/runs/missing/consolidated-metrics")
    assert response.status_code == 404 and response.json() == {"detail": "Run not found: missing"}


def test_consolidated_switch_is_checked_first(client):
    assert client.get("/dashboard/runs/missing/consolidated-metrics?limit=20000").status_code == 503


def test_production_auth(make_client, started_run, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    client = make_client()
    for path in ("token-efficiency", "phase6-stats"):
        denied = client.get(f"/dashboard/runs/{started_run}/{path}")
        assert denied.status_code == 403
        assert denied.json() == {"detail": "Invalid or missing API key. Set X-API-Key header."}
        assert client.get(f"/dashboard/runs/{started_run}/{path}",
                          headers={"X-API-Key": "k-123456789"}).status_code == 200
    assert client.get(f"/dashboard/runs/{started_run}/status").status_code == 200
    assert client.get("/dashboard/models").status_code == 200
    assert client.get("/dashboard/usage").status_code == 200
    assert client.get("/dashboard/ab-results").status_code == 200
    for path, body in (("/dashboard/human-notes", {"note": "hi"}),
                       ("/dashboard/models/override", {"role": "builder", "category": "tests",
                                                       "complexity": "low", "model": "m", "scope": "global"})):
        assert client.post(path, json=body).status_code == 403
        assert client.post(path, json=body, headers={"X-API-Key": "k-123456789"}).status_code == 200


def test_dev_with_key_configured_guards_legacy_stats(make_client, started_run, monkeypatch):
    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    client = make_client()
    assert client.get(f"/dashboard/runs/{started_run}/token-efficiency").status_code == 403
    assert client.get(f"/dashboard/runs/{started_run}/status").status_code == 200
