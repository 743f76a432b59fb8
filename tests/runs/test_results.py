"""builder_result and auditor_result (acceptance case 4, DECISIONS §3.1)."""

from __future__ import annotations

from autopack.core.settings import get_settings
from autopack.db.models import AuditorResultRecord, BuilderResultRecord, Phase
from tests.runs.helpers import count, rows

PATCH = "diff --git a/x.py b/x.py\nindex 000..111 100644\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"


def builder(run_id, phase_id="F1.1", **extra):
    return {"run_id": run_id, "phase_id": phase_id, "status": "success", **extra}


def post_builder(client, run_id, body, phase_id="F1.1"):
    return client.post(f"/runs/{run_id}/phases/{phase_id}/builder_result", json=body)


def test_successful_patch_moves_phase_to_gate(client, started_run):
    response = post_builder(client, started_run, builder(started_run, patch_content=PATCH, tokens_used=900,
                                                         builder_attempts=2, files_changed=["x.py"]))
    assert response.status_code == 200
    assert response.json() == {"message": "Builder result submitted successfully", "phase_id": "F1.1",
                               "run_id": started_run, "phase_state": "GATE"}
    phase = rows(Phase, phase_id="F1.1")[0]
    assert (phase.state, phase.tokens_used, phase.builder_attempts) == ("GATE", 900, 2)
    (record,) = rows(BuilderResultRecord)
    assert record.files_changed == ["x.py"] and record.patch_bytes == len(PATCH)
    assert len(record.patch_sha256) == 64


def test_minimal_payload_without_patch_changes_no_state(client, started_run):
    response = post_builder(client, started_run, builder(started_run))
    assert response.status_code == 200
    assert response.json()["phase_state"] == "QUEUED"


def test_failed_status_keeps_state_and_records_usage(client, started_run):
    body = builder(started_run, status="failed", patch_content=PATCH, tokens_used=50, builder_attempts=3)
    assert post_builder(client, started_run, body).json()["phase_state"] == "QUEUED"
    phase = rows(Phase, phase_id="F1.1")[0]
    assert (phase.tokens_used, phase.builder_attempts) == (50, 3)
    assert client.get(f"/runs/{started_run}").json()["tokens_used"] == 50


def test_legacy_payload_with_extra_keys_is_422(client, started_run):
    body = builder(started_run, status="SUCCESS", success=True, output="x", files_modified=[], metadata={})
    response = post_builder(client, started_run, body)
    assert response.status_code == 422
    assert "extra" in response.text
    assert count(BuilderResultRecord) == 0


def test_builder_validation(client, started_run):
    missing_status = {"run_id": started_run, "phase_id": "F1.1"}
    assert post_builder(client, started_run, missing_status).status_code == 422
    bad_tokens = builder(started_run, tokens_used="not-a-number")
    assert post_builder(client, started_run, bad_tokens).status_code == 422
    nan_duration = '{"run_id":"%s","phase_id":"F1.1","status":"success","duration_minutes":NaN}' % started_run
    response = client.post(f"/runs/{started_run}/phases/F1.1/builder_result", content=nan_duration,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert count(BuilderResultRecord) == 0


def test_builder_path_payload_mismatch_is_400(client, started_run):
    response = post_builder(client, started_run, builder(started_run, phase_id="F1.2"))
    assert response.status_code == 400
    assert "must match" in response.json()["detail"]


def test_builder_unknown_phase_is_404(client, started_run):
    response = post_builder(client, started_run, builder(started_run, phase_id="F9"), phase_id="F9")
    assert response.status_code == 404
    assert response.json()["detail"] == "Phase F9 not found"


def test_maintenance_patch_is_applied_by_the_governed_path(client, started_run, tmp_path, monkeypatch):
    # An empty workspace: x.py does not exist, so the governed apply fails and says why (details and
    # every apply path are covered in tests/governance/).
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    monkeypatch.setenv("REPO_PATH", str(workspace))
    get_settings.cache_clear()
    for number, run_type in enumerate(("autopack_maintenance", "autopack_upgrade", "self_repair")):
        body = builder(started_run, run_type=run_type, patch_content=PATCH, tokens_used=10 + number)
        response = post_builder(client, started_run, body)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("Failed to apply patch: ")
        assert "x.py" in response.json()["detail"]
    phase = rows(Phase, phase_id="F1.1")[0]
    # Unlike the reference, the failure and the submission are committed, not rolled back.
    assert (phase.state, phase.tokens_used) == ("FAILED", 12)
    assert phase.last_failure_reason == response.json()["detail"]
    assert count(BuilderResultRecord) == 3
    assert sorted(p.name for p in workspace.iterdir()) == []


def test_maintenance_without_patch_is_recorded(client, started_run):
    body = builder(started_run, run_type="autopack_maintenance", tokens_used=10)
    assert post_builder(client, started_run, body).status_code == 200
    assert count(BuilderResultRecord) == 1


def auditor(run_id, phase_id="F1.1", **extra):
    return {"run_id": run_id, "phase_id": phase_id, "review_notes": "looks fine",
            "recommendation": "approve", **extra}


def test_auditor_result_is_persisted(client, started_run):
    body = auditor(started_run, confidence="high", auditor_attempts=2, tokens_used=40,
                   suggested_patches=[{"description": "nit", "patch_content": PATCH, "files_affected": ["x.py"]}],
                   unknown_key="ignored")
    response = client.post(f"/runs/{started_run}/phases/F1.1/auditor_result", json=body)
    assert response.status_code == 200
    assert response.json() == {"message": "Auditor result submitted"}
    (record,) = rows(AuditorResultRecord)
    assert (record.recommendation, record.confidence, record.review_notes) == ("approve", "high", "looks fine")
    assert record.suggested_patches[0]["files_affected"] == ["x.py"]
    phase = rows(Phase, phase_id="F1.1")[0]
    assert (phase.auditor_attempts, phase.tokens_used) == (2, 40)


def test_auditor_keeps_maximum_counters(client, started_run):
    client.post(f"/runs/{started_run}/phases/F1.1/update_status", json={"state": "GATE", "tokens_used": 500})
    client.post(f"/runs/{started_run}/phases/F1.1/auditor_result",
                json=auditor(started_run, tokens_used=100, auditor_attempts=3))
    client.post(f"/runs/{started_run}/phases/F1.1/auditor_result",
                json=auditor(started_run, tokens_used=100, auditor_attempts=1))
    phase = rows(Phase, phase_id="F1.1")[0]
    assert (phase.tokens_used, phase.auditor_attempts) == (500, 3)
    assert count(AuditorResultRecord) == 2


def test_auditor_mismatch_missing_and_unknown(client, started_run):
    response = client.post(f"/runs/{started_run}/phases/F1.2/auditor_result", json=auditor(started_run))
    assert response.status_code == 400
    assert response.json()["detail"] == "Path parameters (run_id, phase_id) must match AuditorResult payload"
    incomplete = {"run_id": started_run, "phase_id": "F1.1", "review_notes": "x"}
    assert client.post(f"/runs/{started_run}/phases/F1.1/auditor_result", json=incomplete).status_code == 422
    response = client.post(f"/runs/{started_run}/phases/F9/auditor_result", json=auditor(started_run, "F9"))
    assert response.status_code == 404
    assert count(AuditorResultRecord) == 0
