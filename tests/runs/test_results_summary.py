"""Each phase of GET /runs/{run_id} carries a summary of its latest builder result and auditor verdict."""

from __future__ import annotations

from tests.runs.test_document import _assert_same


def _builder(client, run_id: str, attempt: int, **extra):
    body = {"run_id": run_id, "phase_id": "F1.1", "status": "failed", "builder_attempts": attempt,
            "files_changed": [f"src/f{i}.py" for i in range(attempt)], "lines_added": 10 * attempt,
            "lines_removed": attempt, "tokens_used": 100 * attempt, "notes": f"attempt {attempt}", **extra}
    response = client.post(f"/runs/{run_id}/phases/F1.1/builder_result", json=body)
    assert response.status_code == 200, response.text


def _auditor(client, run_id: str, recommendation: str):
    response = client.post(f"/runs/{run_id}/phases/F1.1/auditor_result", json={
        "run_id": run_id, "phase_id": "F1.1", "review_notes": "notes", "recommendation": recommendation,
        "tokens_used": 40})
    assert response.status_code == 200, response.text


def _summary(client, run_id: str, phase_id: str = "F1.1") -> dict | None:
    doc = client.get(f"/runs/{run_id}").json()
    (phase,) = [p for p in doc["phases"] if p["phase_id"] == phase_id]
    (nested,) = [p for t in doc["tiers"] for p in t["phases"] if p["phase_id"] == phase_id]
    assert nested["results_summary"] == phase["results_summary"]
    return phase["results_summary"]


def test_a_phase_without_results_has_a_null_summary_in_both_renderings(client, started_run):
    assert _summary(client, started_run) is None
    # Attempts set by update_status alone are not a reported result.
    assert client.post(f"/runs/{started_run}/phases/F2.2/update_status",
                       json={"state": "EXECUTING", "builder_attempts": 2}).status_code == 200
    assert _summary(client, started_run, "F2.2") is None
    rendered = _assert_same(started_run)
    assert list(rendered["phases"][0])[-1] == "results_summary"  # the contract's keys first, as before


def test_summary_follows_one_two_three_builder_attempts_and_the_auditor(client, started_run):
    for attempt in (1, 2, 3):
        _builder(client, started_run, attempt)
        assert _summary(client, started_run) == {
            "builder_attempts": attempt, "builder_status": "failed", "files_changed": attempt,
            "lines_added": 10 * attempt, "lines_removed": attempt, "builder_tokens": 100 * attempt,
            "auditor_verdict": None}
        _assert_same(started_run)

    _auditor(client, started_run, "revise")
    summary = _summary(client, started_run)
    assert summary["auditor_verdict"] == "revise"
    assert (summary["builder_attempts"], summary["files_changed"], summary["builder_tokens"]) == (3, 3, 300)

    _builder(client, started_run, 4, status="success", files_changed=["a.py"], lines_added=1, lines_removed=0)
    assert _summary(client, started_run)["auditor_verdict"] == "revise"  # the verdict stays until the next
    _auditor(client, started_run, "approve")
    assert _summary(client, started_run) == {
        "builder_attempts": 4, "builder_status": "success", "files_changed": 1, "lines_added": 1,
        "lines_removed": 0, "builder_tokens": 400, "auditor_verdict": "approve"}
    assert _summary(client, started_run, "F1.2") is None  # the other phases keep theirs
    _assert_same(started_run)


def test_an_auditor_result_alone_makes_a_summary(client, started_run):
    _auditor(client, started_run, "escalate")
    assert _summary(client, started_run) == {
        "builder_attempts": 0, "builder_status": None, "files_changed": 0, "lines_added": 0, "lines_removed": 0,
        "builder_tokens": 0, "auditor_verdict": "escalate"}
    _assert_same(started_run)


def test_a_refused_result_leaves_the_summary_unchanged(client, started_run):
    _builder(client, started_run, 1)
    before = _summary(client, started_run)
    bad = client.post(f"/runs/{started_run}/phases/F1.1/builder_result", json={
        "run_id": started_run, "phase_id": "F1.1", "status": "success", "unknown": 1})
    assert bad.status_code == 422
    too_long = client.post(f"/runs/{started_run}/phases/F1.1/builder_result", json={
        "run_id": started_run, "phase_id": "F1.1", "status": "s" * 65})
    assert too_long.status_code == 422  # the column's width: a 422, not a database error
    mismatch = client.post(f"/runs/{started_run}/phases/F1.1/auditor_result", json={
        "run_id": started_run, "phase_id": "F1.2", "review_notes": "x", "recommendation": "approve"})
    assert mismatch.status_code == 400
    assert _summary(client, started_run) == before


def test_the_client_schema_reads_the_summary(client, started_run):
    from autopack.runs.schemas import RunResponse

    _builder(client, started_run, 2)
    run = RunResponse.model_validate(client.get(f"/runs/{started_run}").json())
    assert (run.phases[0].results_summary.files_changed, run.phases[1].results_summary) == (2, None)
    legacy = client.get(f"/runs/{started_run}").json()
    for phase in legacy["phases"]:
        del phase["results_summary"]
    assert RunResponse.model_validate(legacy).phases[0].results_summary is None  # an older server's answer


def test_tokens_that_would_overflow_the_runs_total_are_refused_with_nothing_changed(client):
    """Each phase may report up to 2**62 tokens; a change taking the run's sum past 2**63 - 1 is a 422."""
    from tests.conftest import run_payload

    payload = run_payload("overflow-1", tiers=1, phases_per_tier=3)
    payload["run"]["token_cap"] = 2**62
    assert client.post("/runs/start", json=payload).status_code == 201
    for phase in ("F1.1", "F1.2", "F1.3"):  # all started before the cap is reached: they may still report
        assert client.post(f"/runs/overflow-1/phases/{phase}/update_status",
                           json={"state": "EXECUTING"}).status_code == 200
    for phase, tokens in (("F1.1", 2**62), ("F1.2", 2**62 - 1)):  # the run's total reaches 2**63 - 1 exactly
        response = client.post(f"/runs/overflow-1/phases/{phase}/update_status",
                               json={"state": "COMPLETE", "tokens_used": tokens})
        assert response.status_code == 200, response.text
    for path, body in (("update_status", {"state": "COMPLETE", "tokens_used": 1}),
                       ("builder_result", {"phase_id": "F1.3", "run_id": "overflow-1", "status": "success",
                                           "tokens_used": 1})):
        response = client.post(f"/runs/overflow-1/phases/F1.3/{path}", json=body)
        assert response.status_code == 422, response.text
        assert "largest number stored" in response.json()["detail"]
    assert client.get("/dashboard/runs/overflow-1/status").json()["tokens_used"] == 2**63 - 1
    phase = client.get("/runs/overflow-1").json()["tiers"][0]["phases"][2]
    assert (phase["state"], phase["results_summary"]) == ("EXECUTING", None)  # no result stored
