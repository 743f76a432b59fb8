"""POST /runs/{run_id}/phases/{phase_id}/metrics: token-efficiency and phase-6 rows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from autopack.core.database import session_scope
from autopack.db.models import Phase6Metrics, TokenEfficiencyMetrics

TOKEN_EFFICIENCY = {
    "artifact_substitutions": 3, "tokens_saved_artifacts": 1200, "budget_mode": "lexical",
    "budget_used": 8000, "budget_cap": 10000, "files_kept": 12, "files_omitted": 4,
    "phase_outcome": "COMPLETE", "embedding_cache_hits": 7, "embedding_cache_misses": 2,
    "embedding_calls_made": 2, "embedding_cap_value": 100, "embedding_fallback_reason": None,
    "deliverables_count": 5, "context_files_total": 16,
}
PHASE6 = {
    "failure_hardening_triggered": True, "failure_pattern_detected": "import_error",
    "failure_hardening_mitigated": True, "doctor_call_skipped": True,
    "doctor_tokens_avoided_estimate": 10000, "estimate_coverage_n": 12, "estimate_source": "run_local",
    "intention_context_injected": True, "intention_context_chars": 1500,
    "intention_context_source": "anchor", "plan_normalization_used": True,
    "plan_normalization_confidence": 0.75, "plan_normalization_warnings": 2,
    "plan_deliverables_count": 4, "plan_scope_size_bytes": 2048,
}


@pytest.fixture(autouse=True)
def phase6_switch_on(monkeypatch):
    """These tests record phase-6 metrics, which the kill switch gates (tests/usage/test_phase6_switch.py)."""
    monkeypatch.setenv("AUTOPACK_ENABLE_PHASE6_METRICS", "1")


def _counts() -> tuple[int, int]:
    with session_scope(writer=False) as session:
        return (session.scalar(select(func.count()).select_from(TokenEfficiencyMetrics)),
                session.scalar(select(func.count()).select_from(Phase6Metrics)))


def _post(client, run_id, phase_id, body):
    return client.post(f"/runs/{run_id}/phases/{phase_id}/metrics", json=body)


def test_both_groups_stored(client, started_run):
    response = _post(client, started_run, "F1.2", {"token_efficiency": TOKEN_EFFICIENCY, "phase6": PHASE6})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["run_id"] == started_run and body["phase_id"] == "F1.2"
    assert isinstance(body["token_efficiency_id"], int) and isinstance(body["phase6_id"], int)
    with session_scope(writer=False) as session:
        te = session.get(TokenEfficiencyMetrics, body["token_efficiency_id"])
        p6 = session.get(Phase6Metrics, body["phase6_id"])
        assert (te.run_id, te.phase_id) == (started_run, "F1.2")
        assert {k: getattr(te, k) for k in TOKEN_EFFICIENCY} == TOKEN_EFFICIENCY
        assert (p6.run_id, p6.phase_id) == (started_run, "F1.2")
        assert {k: getattr(p6, k) for k in PHASE6} == PHASE6
        assert te.created_at is not None and p6.created_at is not None


def test_token_efficiency_only_with_defaults(client, started_run):
    response = _post(client, started_run, "F1.1", {"token_efficiency": {}})
    assert response.status_code == 201, response.text
    assert response.json()["phase6_id"] is None
    with session_scope(writer=False) as session:
        te = session.get(TokenEfficiencyMetrics, response.json()["token_efficiency_id"])
        assert (te.budget_mode, te.budget_used, te.files_kept, te.phase_outcome) == ("semantic", 0, 0, None)
    assert _counts() == (1, 0)


def test_phase6_only(client, started_run):
    response = _post(client, started_run, "F2.1", {"phase6": {"doctor_call_skipped": True}})
    assert response.status_code == 201, response.text
    assert response.json()["token_efficiency_id"] is None
    with session_scope(writer=False) as session:
        p6 = session.get(Phase6Metrics, response.json()["phase6_id"])
        assert p6.doctor_call_skipped is True
        assert p6.doctor_tokens_avoided_estimate == 0
        assert p6.plan_normalization_confidence is None
    assert _counts() == (0, 1)


@pytest.mark.parametrize("body", [{}, {"token_efficiency": None, "phase6": None}])
def test_neither_group_is_422(client, started_run, body):
    response = _post(client, started_run, "F1.1", body)
    assert response.status_code == 422
    assert _counts() == (0, 0)


def test_unknown_phase_is_404(client, started_run):
    response = _post(client, started_run, "NOPE", {"phase6": {}})
    assert response.status_code == 404
    assert response.json() == {"detail": f"Phase NOPE not found in run {started_run}"}
    assert _counts() == (0, 0)


def test_unknown_run_is_404(client):
    response = _post(client, "ghost", "F1.1", {"phase6": {}})
    assert response.status_code == 404
    assert _counts() == (0, 0)


@pytest.mark.parametrize("raw", [
    b'{"phase6": {"plan_normalization_confidence": NaN}}',
    b'{"phase6": {"plan_normalization_confidence": Infinity}}',
    b'{"phase6": {"plan_normalization_confidence": -Infinity}}',
    b'{"phase6": {"doctor_tokens_avoided_estimate": Infinity}}',
    b'{"token_efficiency": {"budget_used": NaN}}',
    b'{"token_efficiency": {"files_kept": Infinity}}',
])
def test_nan_and_infinity_are_422(client, started_run, raw):
    response = client.post(f"/runs/{started_run}/phases/F1.1/metrics", content=raw,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert _counts() == (0, 0)


@pytest.mark.parametrize("body", [
    {"token_efficiency": {"budget_mode": "vibes"}},
    {"token_efficiency": {"files_kept": -1}},
    {"token_efficiency": {"unknown": 1}},
    {"phase6": {"plan_normalization_confidence": 1.5}},
    {"phase6": {"plan_normalization_confidence": -0.1}},
    {"phase6": {"estimate_source": "guess"}},
    {"phase6": {"intention_context_chars": 2**31}},
    {"phase6": {}, "extra_group": {}},
    {"phase6": "yes"},
])
def test_invalid_metrics_are_422(client, started_run, body):
    response = _post(client, started_run, "F1.1", body)
    assert response.status_code == 422, response.text
    assert _counts() == (0, 0)


def test_half_valid_body_stores_neither(client, started_run):
    body = {"token_efficiency": TOKEN_EFFICIENCY, "phase6": {"estimate_source": "guess"}}
    assert _post(client, started_run, "F1.1", body).status_code == 422
    assert _counts() == (0, 0)


def test_metrics_rows_accumulate(client, started_run):
    for _ in range(2):
        assert _post(client, started_run, "F1.1", {"token_efficiency": TOKEN_EFFICIENCY}).status_code == 201
    assert _counts() == (2, 0)


@pytest.mark.parametrize("raw", [
    b'{"phase6": {"failure_pattern_detected": "a\\u0000"}}',
    pytest.param(b'{"phase6": {"intention_context_source": "\\ud800"}}'),
    b'{"token_efficiency": {"phase_outcome": "x\\u0000"}}',
    pytest.param(b'{"token_efficiency": {"embedding_fallback_reason": "\\udfff"}}'),
])
def test_unstorable_text_is_422(client, started_run, raw):
    response = client.post(f"/runs/{started_run}/phases/F1.1/metrics", content=raw,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert _counts() == (0, 0)


@pytest.mark.parametrize("path", ["/runs/a%00b/phases/F1.1/metrics", "/runs/{run}/phases/a%00b/metrics"])
def test_impossible_ids_are_422(client, started_run, path):
    response = client.post(path.format(run=started_run), json={"phase6": {}})
    assert response.status_code == 422
    assert _counts() == (0, 0)
