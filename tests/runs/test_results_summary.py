"""Each phase of GET /runs/{run_id} carries a summary of its latest builder result and auditor verdict."""

from __future__ import annotations

from datetime import datetime

from tests.runs.test_document import _assert_same

EMPTY = {"builder_results": 0, "builder_attempts": 0, "builder_status": None, "files_changed": 0,
         "lines_added": 0, "lines_removed": 0, "builder_tokens": 0, "builder_at": None, "auditor_results": 0,
         "auditor_verdict": None, "auditor_confidence": None, "auditor_at": None, "tokens_used": 0}


def _builder(client, run_id: str, attempt: int, **extra):
    body = {"run_id": run_id, "phase_id": "F1.1", "status": "failed", "builder_attempts": attempt,
            "files_changed": [f"src/f{i}.py" for i in range(attempt)], "lines_added": 10 * attempt,
            "lines_removed": attempt, "tokens_used": 100 * attempt, "notes": f"attempt {attempt}", **extra}
    response = client.post(f"/runs/{run_id}/phases/F1.1/builder_result", json=body)
    assert response.status_code == 200, response.text


def _summary(client, run_id: str, phase_id: str = "F1.1") -> dict:
    doc = client.get(f"/runs/{run_id}").json()
    (phase,) = [p for p in doc["phases"] if p["phase_id"] == phase_id]
    (nested,) = [p for t in doc["tiers"] for p in t["phases"] if p["phase_id"] == phase_id]
    assert nested["results_summary"] == phase["results_summary"]
    return phase["results_summary"]


def test_a_new_phase_has_an_empty_summary_in_both_renderings(client, started_run):
    assert _summary(client, started_run) == EMPTY
    assert _summary(client, started_run, "F2.2") == EMPTY
    rendered = _assert_same(started_run)
    assert list(rendered["phases"][0])[-1] == "results_summary"  # the contract's keys first, as before


def test_summary_follows_one_two_three_builder_attempts_and_the_auditor(client, started_run):
    for attempt in (1, 2, 3):
        _builder(client, started_run, attempt)
        summary = _summary(client, started_run)
        assert {k: summary[k] for k in ("builder_results", "builder_attempts", "builder_status", "files_changed",
                                        "lines_added", "lines_removed", "builder_tokens", "tokens_used")} == {
            "builder_results": attempt, "builder_attempts": attempt, "builder_status": "failed",
            "files_changed": attempt, "lines_added": 10 * attempt, "lines_removed": attempt,
            "builder_tokens": 100 * attempt, "tokens_used": 100 * attempt}
        assert summary["auditor_verdict"] is None and summary["auditor_results"] == 0
        assert datetime.fromisoformat(summary["builder_at"]).utcoffset().total_seconds() == 0
        _assert_same(started_run)
    builder_at = summary["builder_at"]

    response = client.post(f"/runs/{started_run}/phases/F1.1/auditor_result", json={
        "run_id": started_run, "phase_id": "F1.1", "review_notes": "needs tests", "recommendation": "revise",
        "confidence": "high", "tokens_used": 40})
    assert response.status_code == 200, response.text
    summary = _summary(client, started_run)
    assert (summary["auditor_results"], summary["auditor_verdict"], summary["auditor_confidence"]) == (
        1, "revise", "high")
    assert summary["builder_results"] == 3 and summary["builder_at"] == builder_at  # the builder's untouched
    assert datetime.fromisoformat(summary["auditor_at"]) >= datetime.fromisoformat(builder_at)

    _builder(client, started_run, 4, status="success", files_changed=["a.py"], lines_added=1, lines_removed=0)
    client.post(f"/runs/{started_run}/phases/F1.1/auditor_result", json={
        "run_id": started_run, "phase_id": "F1.1", "review_notes": "ok", "recommendation": "approve"})
    summary = _summary(client, started_run)
    assert {k: summary[k] for k in ("builder_results", "builder_status", "files_changed", "lines_added",
                                    "lines_removed", "auditor_results", "auditor_verdict",
                                    "auditor_confidence")} == {
        "builder_results": 4, "builder_status": "success", "files_changed": 1, "lines_added": 1,
        "lines_removed": 0, "auditor_results": 2, "auditor_verdict": "approve", "auditor_confidence": "medium"}
    assert _summary(client, started_run, "F1.2") == EMPTY  # the other phases keep theirs
    _assert_same(started_run)


def test_a_refused_result_leaves_the_summary_unchanged(client, started_run):
    _builder(client, started_run, 1)
    before = _summary(client, started_run)
    bad = client.post(f"/runs/{started_run}/phases/F1.1/builder_result", json={
        "run_id": started_run, "phase_id": "F1.1", "status": "success", "unknown": 1})
    assert bad.status_code == 422
    mismatch = client.post(f"/runs/{started_run}/phases/F1.1/auditor_result", json={
        "run_id": started_run, "phase_id": "F1.2", "review_notes": "x", "recommendation": "approve"})
    assert mismatch.status_code == 400
    assert _summary(client, started_run) == before


def test_the_client_reads_the_summary(client, started_run):
    from autopack.runs.schemas import RunResponse

    _builder(client, started_run, 2)
    run = RunResponse.model_validate(client.get(f"/runs/{started_run}").json())
    summary = run.phases[0].results_summary
    assert (summary.builder_results, summary.files_changed, summary.builder_at.utcoffset().total_seconds()) == (
        1, 2, 0)
    legacy = client.get(f"/runs/{started_run}").json()
    for phase in legacy["phases"]:
        del phase["results_summary"]
    assert RunResponse.model_validate(legacy).phases[0].results_summary is None  # an older server's answer
