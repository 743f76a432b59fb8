"""update_status, finalisation, tier states and the event feed (acceptance cases 2 and 3)."""

from __future__ import annotations

from autopack.db.models import Phase, Run, RunEvent, Tier
from tests.runs.helpers import rows, set_state


def test_update_status_reports_every_phase_column(client, started_run):
    response = set_state(client, started_run, "F1.1", "EXECUTING", tokens_used=120, builder_attempts=2,
                         quality_level="needs_review", quality_blocked=True)
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Phase F1.1 updated to state EXECUTING"
    phase = body["phase"]
    assert set(phase) >= {"retry_attempt", "revision_epoch", "escalation_level", "issue_state",
                          "auditor_attempts", "last_failure_reason", "updated_at", "started_at"}
    assert (phase["state"], phase["tokens_used"], phase["builder_attempts"]) == ("EXECUTING", 120, 2)
    assert (phase["quality_level"], phase["quality_blocked"]) == ("needs_review", True)
    run = client.get(f"/runs/{started_run}").json()
    assert run["tiers"][0]["phases"][0]["state"] == "EXECUTING"
    assert run["tokens_used"] == 120
    assert run["state"] == "PHASE_EXECUTION"
    assert run["tiers"][0]["state"] == "IN_PROGRESS"
    assert run["tiers"][1]["state"] == "PENDING"


def test_states_are_case_sensitive(client, started_run):
    for bad in ("executing", "Complete", "BLOCKED", ""):
        response = set_state(client, started_run, "F1.1", bad)
        assert response.status_code == 400
        assert response.json()["detail"] == f"Invalid phase state: {bad}"
    assert rows(Phase, phase_id="F1.1")[0].state == "QUEUED"


def test_unknown_phase_and_run_are_404(client, started_run):
    response = set_state(client, started_run, "F9", "COMPLETE")
    assert response.status_code == 404
    assert response.json()["detail"] == f"Phase F9 not found in run {started_run}"
    assert set_state(client, "other", "F1.1", "COMPLETE").status_code == 404


def test_counters_overwrite_and_run_sums_phases(client, started_run):
    set_state(client, started_run, "F1.1", "EXECUTING", tokens_used=500)
    set_state(client, started_run, "F1.2", "EXECUTING", tokens_used=300)
    set_state(client, started_run, "F1.1", "EXECUTING", tokens_used=100)
    run = rows(Run)[0]
    assert run.tokens_used == 400
    tiers = {t.tier_id: t for t in rows(Tier)}
    assert tiers["T1"].tokens_used == 400


def test_all_complete_or_skipped_finalises_success(client, started_run):
    for pid, state in [("F1.1", "COMPLETE"), ("F1.2", "SKIPPED"), ("F2.1", "COMPLETE")]:
        set_state(client, started_run, pid, state)
        assert client.get(f"/runs/{started_run}").json()["completed_at"] is None
    set_state(client, started_run, "F2.2", "COMPLETE")
    run = client.get(f"/runs/{started_run}").json()
    assert run["state"] == "DONE_SUCCESS"
    assert run["completed_at"] is not None
    assert [t["state"] for t in run["tiers"]] == ["COMPLETE", "COMPLETE"]


def test_one_failure_requires_human_review(client, started_run, runs_dir):
    for pid in ("F1.1", "F1.2", "F2.1"):
        set_state(client, started_run, pid, "COMPLETE")
    set_state(client, started_run, "F2.2", "FAILED")
    run = client.get(f"/runs/{started_run}").json()
    assert run["state"] == "DONE_FAILED_REQUIRES_HUMAN_REVIEW"
    assert [t["state"] for t in run["tiers"]] == ["COMPLETE", "FAILED"]
    summary = (runs_dir / "autopack" / "runs" / "demo" / started_run / "run_summary.md").read_text()
    assert "State: DONE_FAILED_REQUIRES_HUMAN_REVIEW" in summary
    assert "Failed phases: 1" in summary


def test_all_skipped_tier_is_skipped(client, started_run):
    set_state(client, started_run, "F2.1", "SKIPPED")
    set_state(client, started_run, "F2.2", "SKIPPED")
    tiers = {t.tier_id: t.state for t in rows(Tier)}
    assert tiers == {"T1": "PENDING", "T2": "SKIPPED"}


def test_reopened_phase_reopens_the_run(client, started_run):
    for pid in ("F1.1", "F1.2", "F2.1", "F2.2"):
        set_state(client, started_run, pid, "COMPLETE")
    assert rows(Run)[0].state == "DONE_SUCCESS"
    set_state(client, started_run, "F2.2", "QUEUED")
    run = rows(Run)[0]
    assert run.state == "PHASE_EXECUTION"
    assert run.completed_at is None
    set_state(client, started_run, "F2.2", "COMPLETE")
    assert rows(Run)[0].state == "DONE_SUCCESS"


def test_every_transition_is_an_event(client, started_run):
    set_state(client, started_run, "F1.1", "EXECUTING")
    set_state(client, started_run, "F1.1", "EXECUTING")  # no change, no event
    set_state(client, started_run, "F1.1", "COMPLETE")
    phase_events = [(e.phase_id, e.from_state, e.to_state) for e in rows(RunEvent, entity="phase")]
    assert phase_events == [("F1.1", "QUEUED", "EXECUTING"), ("F1.1", "EXECUTING", "COMPLETE")]
    run_events = [(e.from_state, e.to_state) for e in rows(RunEvent, entity="run")]
    assert run_events == [(None, "RUN_CREATED"), ("RUN_CREATED", "PHASE_EXECUTION")]
    tier_events = [(e.tier_id, e.to_state) for e in rows(RunEvent, entity="tier")]
    assert tier_events == [("T1", "IN_PROGRESS")]
    assert all(e.created_at.tzinfo is not None for e in rows(RunEvent))


def test_phase_summary_is_rewritten(client, started_run, runs_dir):
    set_state(client, started_run, "F1.2", "GATE", tokens_used=77)
    text = (runs_dir / "autopack" / "runs" / "demo" / started_run / "phases" / "phase_01_F1.2.md").read_text()
    assert "State: GATE" in text and "Tokens used: 77" in text


def test_counter_bounds_are_validated(client, started_run):
    for bad in ({"tokens_used": -1}, {"tokens_used": "many"}, {"builder_attempts": 2**40},
                {"quality_blocked": "maybe"}, {"state": 5}):
        body = {"state": "EXECUTING", **bad}
        response = client.post(f"/runs/{started_run}/phases/F1.1/update_status", json=body)
        assert response.status_code == 422, bad
    assert rows(Phase, phase_id="F1.1")[0].state == "QUEUED"
