"""GET /runs/{run_id}/phases/{phase_id}/results: every builder and auditor result of a phase, paged."""

from __future__ import annotations

import pytest

from autopack.phases.schemas import PhaseResultsPage

PATCH = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
SECRET_NOTE = "token=sk-live-abcdef123456 and https://bob:hunter2@example.com/x"


def _builder(client, run_id: str, attempt: int, phase_id: str = "F1.1", **extra) -> None:
    body = {"run_id": run_id, "phase_id": phase_id, "status": "failed", "builder_attempts": attempt,
            "patch_content": PATCH, "files_changed": ["x.py"], "lines_added": 1, "lines_removed": 1,
            "tokens_used": 10 * attempt, "notes": f"attempt {attempt}", **extra}
    response = client.post(f"/runs/{run_id}/phases/{phase_id}/builder_result", json=body)
    assert response.status_code == 200, response.text


def _auditor(client, run_id: str, recommendation: str, **extra) -> None:
    response = client.post(f"/runs/{run_id}/phases/F1.1/auditor_result", json={
        "run_id": run_id, "phase_id": "F1.1", "review_notes": f"verdict {recommendation}",
        "recommendation": recommendation, **extra})
    assert response.status_code == 200, response.text


def _results(client, run_id: str, **params):
    return client.get(f"/runs/{run_id}/phases/F1.1/results", params=params)


def test_lists_builder_and_auditor_results_in_submission_order(client, started_run):
    _builder(client, started_run, 1)
    _auditor(client, started_run, "revise", confidence="low", issues_found=[
        {"issue_key": "k1", "severity": "minor", "category": "tests", "description": "no tests",
         "evidence_refs": ["a.py:3"]}],
             suggested_patches=[{"description": "add one", "patch_content": PATCH, "files_affected": ["x.py"]}])
    _builder(client, started_run, 2, status="success", probe_results=[
        {"probe_type": "pytest", "exit_code": 1, "stdout": "out", "stderr": "err", "duration_seconds": 0.5}])
    _builder(client, started_run, 1, phase_id="F1.2")  # another phase's: not listed

    response = _results(client, started_run)
    assert response.status_code == 200
    page = response.json()
    PhaseResultsPage.model_validate(page)
    assert (page["run_id"], page["phase_id"], page["total"], page["limit"], page["offset"]) == (
        started_run, "F1.1", 3, 20, 0)
    first, review, second = page["results"]
    assert [first["kind"], review["kind"], second["kind"]] == ["builder", "auditor", "builder"]
    assert {k: first[k] for k in ("attempt", "status", "files_changed", "file_paths", "lines_added",
                                  "lines_removed", "tokens_used", "patch_bytes", "notes")} == {
        "attempt": 1, "status": "failed", "files_changed": 1, "file_paths": ["x.py"], "lines_added": 1,
        "lines_removed": 1, "tokens_used": 10, "patch_bytes": len(PATCH), "notes": "attempt 1"}
    assert len(first["patch_sha256"]) == 64 and "patch_content" not in first
    assert first["created_at"].endswith("+00:00")
    assert {k: review[k] for k in ("attempt", "recommendation", "confidence", "review_notes")} == {
        "attempt": 1, "recommendation": "revise", "confidence": "low", "review_notes": "verdict revise"}
    assert review["issues_found"] == [{"issue_key": "k1", "severity": "minor", "source": "cursor_self_doubt",
                                       "category": "tests", "evidence_refs": ["a.py:3"],
                                       "description": "no tests"}]
    # Sizes, not the texts: patches and probe outputs stay out of a public read.
    assert review["suggested_patches"] == [{"description": "add one", "files_affected": ["x.py"],
                                            "patch_bytes": len(PATCH)}]
    assert second["probe_results"] == [{"probe_type": "pytest", "exit_code": 1, "duration_seconds": 0.5,
                                        "stdout_bytes": 3, "stderr_bytes": 3}]
    assert PATCH not in response.text and '"out"' not in response.text


def test_pages_follow_limit_and_offset_and_count_every_result(client, started_run):
    for attempt in (1, 2, 3):
        _builder(client, started_run, attempt)
        _auditor(client, started_run, "revise")
    seen = []
    for offset in (0, 2, 4, 6):
        page = _results(client, started_run, limit=2, offset=offset).json()
        assert (page["total"], page["limit"], page["offset"]) == (6, 2, offset)
        seen += [(e["kind"], e["attempt"], e["id"]) for e in page["results"]]
    assert [k for k, _, _ in seen] == ["builder", "auditor"] * 3
    assert [a for k, a, _ in seen if k == "builder"] == [1, 2, 3]
    assert len(set(seen)) == 6
    assert _results(client, started_run, offset=100).json()["results"] == []


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"},
                                    {"full": "maybe"}])
def test_bad_paging_is_422(client, started_run, params):
    assert _results(client, started_run, **params).status_code == 422


def test_unknown_run_or_phase_is_404(client, started_run):
    response = client.get("/runs/no-such-run/phases/F1.1/results")
    assert (response.status_code, response.json()) == (404, {"detail": "Run no-such-run not found"})
    response = client.get(f"/runs/{started_run}/phases/F9/results")
    assert (response.status_code, response.json()) == (404, {"detail": f"Phase F9 not found in run {started_run}"})
    assert client.get("/runs/a%00b/phases/F1.1/results").status_code in {400, 404, 422}
    assert client.get(f"/runs/{started_run}/phases/a%00b/results").status_code in {400, 404, 422}


def test_a_phase_without_results_is_an_empty_page(client, started_run):
    assert _results(client, started_run).json() == {"run_id": started_run, "phase_id": "F1.1", "results": [],
                                                    "total": 0, "limit": 20, "offset": 0}


def test_free_text_is_redacted(client, started_run):
    _builder(client, started_run, 1, notes=SECRET_NOTE)
    _auditor(client, started_run, "approve", review_notes=SECRET_NOTE)
    text = _results(client, started_run).text
    assert "sk-live-abcdef123456" not in text and "hunter2" not in text
    assert "[REDACTED]" in text


def test_production_reads_like_get_run_and_full_needs_read_access(make_client, monkeypatch):
    from tests.conftest import run_payload

    monkeypatch.setenv("AUTOPACK_API_KEY", "k-123456789")
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    client = make_client()
    key = {"X-API-Key": "k-123456789"}
    run_id = client.post("/runs/start", json=run_payload(), headers=key).json()["id"]
    _builder_as(client, run_id, key)

    # Anonymous, or with a wrong key: answered exactly as GET /runs/{run_id} answers them (it is public).
    for headers in ({}, {"X-API-Key": "wrong"}):
        assert client.get(f"/runs/{run_id}", headers=headers).status_code == 200
        page = client.get(f"/runs/{run_id}/phases/F1.1/results", headers=headers)
        assert page.status_code == 200 and page.json()["total"] == 1
        assert "patch_content" not in page.text
        # full=true shows what only operators read: refused as the operator surface refuses them.
        refused = client.get(f"/runs/{run_id}/phases/F1.1/results", params={"full": "true"}, headers=headers)
        operator = client.get(f"/runs/{run_id}/progress", headers=headers)
        assert (refused.status_code, refused.json()) == (operator.status_code, operator.json())
        assert refused.status_code in {401, 403}
    full = client.get(f"/runs/{run_id}/phases/F1.1/results", params={"full": "true"}, headers=key).json()
    assert full["results"][0]["probe_results"][0]["stdout"] == "out"


def test_full_shows_patch_texts_and_probe_outputs(client, started_run):
    _builder(client, started_run, 1, probe_results=[{"probe_type": "ruff", "exit_code": 0, "stdout": SECRET_NOTE}])
    _auditor(client, started_run, "revise",
             suggested_patches=[{"description": "d", "patch_content": PATCH, "files_affected": []}])
    builder, auditor = _results(client, started_run, full="true").json()["results"]
    assert auditor["suggested_patches"][0]["patch_content"] == PATCH
    assert builder["probe_results"][0]["stderr"] == ""
    assert "hunter2" not in builder["probe_results"][0]["stdout"]  # outputs are redacted too


def _builder_as(client, run_id: str, headers: dict) -> None:
    response = client.post(f"/runs/{run_id}/phases/F1.1/builder_result", headers=headers, json={
        "run_id": run_id, "phase_id": "F1.1", "status": "success", "probe_results": [
            {"probe_type": "pytest", "exit_code": 0, "stdout": "out"}]})
    assert response.status_code == 200, response.text


def test_rows_written_by_other_tools_are_listed_not_500(client, started_run):
    """JSON columns holding something else than lists of objects (a reference tool's rows)."""
    from sqlalchemy import insert

    from autopack.core.database import session_scope
    from autopack.db.models import AuditorResultRecord, BuilderResultRecord

    with session_scope() as session:
        session.execute(insert(BuilderResultRecord), [dict(
            run_id=started_run, phase_id="F1.1", run_type="x", status="s", files_changed={"a": 1},
            probe_results=[1, "x", {"exit_code": "NaN", "duration_seconds": None}], suggested_issues={})])
        session.execute(insert(AuditorResultRecord), [dict(
            run_id=started_run, phase_id="F1.1", review_notes="r", recommendation="approve",
            issues_found=[{"evidence_refs": "not a list", "description": 7}],
            suggested_patches=[{"patch_content": None}])])
    response = _results(client, started_run)
    assert response.status_code == 200, response.text
    builder, auditor = PhaseResultsPage.model_validate(response.json()).results
    assert (builder.files_changed, builder.file_paths) == (0, [])
    assert [(p.exit_code, p.duration_seconds) for p in builder.probe_results] == [(0, 0.0)]
    assert (auditor.issues_found[0].evidence_refs, auditor.issues_found[0].description) == ([], "7")
    assert auditor.suggested_patches[0].patch_bytes == 0
