"""GET /dashboard/runs/{run_id}/status: progress, budget and quality math."""

from __future__ import annotations

import pytest

from tests.dashboard.helpers import metrics, set_phase, start


def test_fresh_run(client, started_run):
    response = client.get(f"/dashboard/runs/{started_run}/status")
    assert response.status_code == 200, response.text
    body = response.json()
    budget = body.pop("budget")
    assert (budget["hold"], budget["approval_id"], budget["tokens_counted"], budget["phases_started"]) == (
        None, None, 0, 0)
    assert (budget["token_cap"], budget["max_phases"], budget["max_duration_minutes"]) == (5_000_000, 25, 120)
    assert body == {
        "run_id": started_run, "state": "RUN_CREATED",
        "current_tier_name": "Tier 1", "current_phase_name": "Phase 1.1",
        "current_tier_index": 0, "current_phase_index": 0,
        "total_tiers": 2, "total_phases": 4, "completed_tiers": 0, "completed_phases": 0,
        "percent_complete": 0.0, "tiers_percent_complete": 0.0,
        "tokens_used": 0, "token_cap": 5_000_000, "token_utilization": 0.0,
        "minor_issues_count": 0, "major_issues_count": 0,
        "quality_level": None, "quality_blocked": False, "quality_warnings": [],
        "token_efficiency": None, "incident_token_cap_exceeded": [],
    }


def test_progress_tokens_and_current_positions(client, started_run):
    set_phase(client, started_run, "F1.1", "COMPLETE", tokens_used=1_000_000)
    set_phase(client, started_run, "F1.2", "SKIPPED", tokens_used=250_000)
    set_phase(client, started_run, "F2.1", "FAILED", tokens_used=250_000)
    body = client.get(f"/dashboard/runs/{started_run}/status").json()
    assert body["completed_phases"] == 2  # COMPLETE and SKIPPED
    assert body["percent_complete"] == 50.0
    assert body["completed_tiers"] == 1 and body["tiers_percent_complete"] == 50.0
    # FAILED counts as current; tier 1 is complete, so tier 2 is current.
    assert (body["current_phase_name"], body["current_phase_index"]) == ("Phase 2.1", 2)
    assert (body["current_tier_name"], body["current_tier_index"]) == ("Tier 2", 1)
    assert body["tokens_used"] == 1_500_000  # the sum over phases
    assert body["token_utilization"] == pytest.approx(30.0)


def test_finished_run_has_no_current_positions(client):
    run_id = start(client, "fin-1", tiers=1, phases_per_tier=2)
    set_phase(client, run_id, "F1.1", "COMPLETE")
    set_phase(client, run_id, "F1.2", "COMPLETE")
    body = client.get(f"/dashboard/runs/{run_id}/status").json()
    assert body["state"] == "DONE_SUCCESS"
    assert body["current_phase_name"] is None and body["current_tier_name"] is None
    assert body["percent_complete"] == 100.0 and body["tiers_percent_complete"] == 100.0


def test_custom_token_cap(client):
    payload = {"run": {"run_id": "capped", "token_cap": 1000},
               "tiers": [{"tier_id": "T1", "tier_index": 0, "name": "T"}],
               "phases": [{"phase_id": "P1", "phase_index": 0, "tier_id": "T1", "name": "P"}]}
    assert client.post("/runs/start", json=payload).status_code == 201
    set_phase(client, "capped", "P1", "EXECUTING", tokens_used=250)
    body = client.get("/dashboard/runs/capped/status").json()
    assert (body["tokens_used"], body["token_cap"], body["token_utilization"]) == (250, 1000, 25.0)


def test_run_without_tiers_or_phases(client):
    assert client.post("/runs/start", json={"run": {"run_id": "empty"}, "tiers": [], "phases": []}).status_code == 201
    body = client.get("/dashboard/runs/empty/status").json()
    assert body["total_phases"] == 0 and body["percent_complete"] == 0.0
    assert body["tiers_percent_complete"] == 0.0 and body["current_phase_name"] is None


def test_quality_fields_follow_phases(client, started_run):
    set_phase(client, started_run, "F1.1", "COMPLETE", quality_level="ok")
    set_phase(client, started_run, "F1.2", "COMPLETE", quality_level="needs_review")
    body = client.get(f"/dashboard/runs/{started_run}/status").json()
    assert body["quality_level"] == "needs_review" and body["quality_blocked"] is False
    assert body["quality_warnings"] == ["Phase F1.2: quality needs_review"]
    set_phase(client, started_run, "F2.1", "FAILED", quality_level="blocked", quality_blocked=True)
    body = client.get(f"/dashboard/runs/{started_run}/status").json()
    assert body["quality_level"] == "blocked" and body["quality_blocked"] is True
    assert len(body["quality_warnings"]) == 2


def test_token_efficiency_embedded_once_metrics_exist(client, started_run):
    metrics(client, started_run, "F1.1", token_efficiency={
        "artifact_substitutions": 2, "tokens_saved_artifacts": 400, "budget_used": 500, "budget_cap": 1000,
        "phase_outcome": "COMPLETE"})
    metrics(client, started_run, "F1.2", token_efficiency={"budget_mode": "lexical"})
    te = client.get(f"/dashboard/runs/{started_run}/status").json()["token_efficiency"]
    assert te["total_phases"] == 2 and te["total_tokens_saved_artifacts"] == 400
    assert te["budget_utilization"] == 0.5
    assert te["phase_outcome_counts"] == {"COMPLETE": 1, "UNKNOWN": 1}


@pytest.mark.parametrize("run_id", ["missing", "nul%00id", "%F0%9F%98%80"])
def test_unknown_run_is_404(client, run_id):
    response = client.get(f"/dashboard/runs/{run_id}/status")
    assert response.status_code in (404, 422)  # the request guard refuses NUL in paths itself
    if run_id == "missing":
        assert response.json() == {"detail": "Run missing not found"}


def test_status_has_no_side_effects(client, started_run, runs_dir):
    before = sorted(p.relative_to(runs_dir) for p in runs_dir.rglob("*"))
    client.get(f"/dashboard/runs/{started_run}/status")
    client.get("/dashboard/runs/nope/status")
    assert sorted(p.relative_to(runs_dir) for p in runs_dir.rglob("*")) == before


def test_the_one_statement_status_equals_the_service(client):
    """The status is read by one statement (SQLite's or PostgreSQL's); it must give the service's document exactly."""
    from sqlalchemy import update

    from autopack.core.database import is_sqlite, session_scope
    from autopack.dashboard import metrics as status
    from autopack.db.models import Phase, Run

    one_statement = status._sqlite_run_status if is_sqlite() else status._postgres_run_status
    start(client, "oracle-a", tiers=3, phases_per_tier=3)
    set_phase(client, "oracle-a", "F1.1", "COMPLETE", tokens_used=100, quality_level="ok")
    set_phase(client, "oracle-a", "F1.2", "SKIPPED", quality_level="needs_review")
    set_phase(client, "oracle-a", "F1.3", "COMPLETE", quality_level="blocked", quality_blocked=True)
    set_phase(client, "oracle-a", "F2.1", "FAILED", tokens_used=7)
    for phase, outcome in (("F1.1", "COMPLETE"), ("F1.2", None), ("F2.1", "FAILED"), ("F2.2", "COMPLETE")):
        metrics(client, "oracle-a", phase, token_efficiency={
            "artifact_substitutions": 3, "tokens_saved_artifacts": 10**12, "budget_used": 7, "budget_cap": 9,
            "budget_mode": "lexical" if outcome is None else "semantic",
            **({"phase_outcome": outcome} if outcome else {})})
    with session_scope() as session:  # what the API sets only along longer paths: caps, holds, names
        session.execute(update(Phase).where(Phase.run_id == "oracle-a", Phase.phase_id == "F2.1")
                        .values(incident_token_cap=5, name='Quote " back\\\\slash \u00e9 \U0001F600'))
        session.execute(update(Phase).where(Phase.run_id == "oracle-a", Phase.phase_id == "F1.1")
                        .values(tokens_used=2**40))
        session.execute(update(Run).where(Run.id == "oracle-a").values(
            budget_hold="tokens", budget_approval_id=42, minor_issues_count=3, usage_tokens=2**41,
            budget_held_at=Run.created_at, budget_deadline_at=Run.created_at))
    start(client, "oracle-empty", tiers=0, phases_per_tier=0)
    start(client, "oracle-fresh")
    for run_id in ("oracle-a", "oracle-empty", "oracle-fresh"):
        with session_scope(writer=False) as session:
            expected = status.run_status(session, run_id)
        assert one_statement(run_id) == expected
        assert list(one_statement(run_id)) == list(expected)
    with pytest.raises(status.NotFound):
        one_statement("oracle-missing")
    body = client.get("/dashboard/runs/oracle-a/status").json()
    assert body["budget"]["hold"] == "tokens" and body["incident_token_cap_exceeded"][0]["phase_id"] == "F2.1"
    assert body["token_efficiency"]["phase_outcome_counts"] == {"COMPLETE": 2, "FAILED": 1, "UNKNOWN": 1}
