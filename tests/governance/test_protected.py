"""Protected paths: the reference's 422 JSON, a stored governance request, and nothing applied."""

from __future__ import annotations

import json

from autopack.db.models import AuditEvent, GovernanceRequest, Phase
from tests.conftest import run_payload
from tests.governance.helpers import RUN_ID, all_rows, make_patch, porcelain, sha256, snapshot, submit

JUSTIFIED = "# Tighten the models module\n# because the schema moved\n"


def touch_models(clone):
    (clone / "src/autopack/models.py").write_bytes(b"MODELS = 2\n")
    (clone / "a.txt").write_bytes(b"alpha\nBETA\ngamma\n")


def test_protected_path_patch_is_not_applied_and_becomes_a_request(gov_client, repo):
    patch = JUSTIFIED + make_patch(repo, touch_models)
    before = snapshot(repo)
    response = submit(gov_client, patch)
    assert response.status_code == 422
    detail = json.loads(response.json()["detail"])
    (request,) = all_rows(GovernanceRequest)
    assert detail == {"error_type": "protected_path_violation", "violated_paths": ["src/autopack/models.py"],
                      "justification": "Tighten the models module because the schema moved",
                      "requires_approval": True, "request_id": request.request_id}
    assert list(detail) == ["error_type", "violated_paths", "justification", "requires_approval",
                            "request_id"]
    assert snapshot(repo) == before and porcelain(repo) == []  # not even the unprotected a.txt
    assert request.patch_content == patch and request.patch_sha256 == sha256(patch)
    assert json.loads(request.requested_paths) == ["src/autopack/models.py"]
    assert (request.run_id, request.phase_id, request.risk_level) == (RUN_ID, "F1.1", "critical")
    assert request.approved is None and request.auto_approved is False and request.applied is False
    assert len(request.workspace_fingerprint) == 64
    phase = all_rows(Phase, phase_id="F1.1")[0]
    assert phase.state == "FAILED" and request.request_id in phase.last_failure_reason
    (event,) = all_rows(AuditEvent, action="governance.requested")
    assert event.target_id == request.request_id and event.details["patch_sha256"] == request.patch_sha256


def test_justification_defaults_and_subject_lines(gov_client, repo):
    patch = make_patch(repo, lambda c: (c / "config/settings.yaml").write_bytes(b"level: 2\n"))
    detail = json.loads(submit(gov_client, patch).json()["detail"])
    assert detail["justification"] == "No justification provided in patch"
    assert detail["violated_paths"] == ["config/settings.yaml"]
    assert all_rows(GovernanceRequest)[0].risk_level == "medium"
    detail = json.loads(submit(gov_client, "Subject: bump level\n" + patch, phase_id="F1.2").json()["detail"])
    assert detail["justification"] == "bump level"


def test_internal_mode_unlocks_src_autopack_but_not_core_files(gov_client, repo):
    patch = make_patch(repo, lambda c: (c / "src/autopack/tool.py").write_bytes(b"TOOL = 2\n"))
    assert submit(gov_client, patch).status_code == 200
    assert (repo / "src/autopack/tool.py").read_bytes() == b"TOOL = 2\n"
    assert all_rows(GovernanceRequest) == []


def test_payload_allowed_paths_never_unprotect_a_path(gov_client, repo):
    # The probe: a builder_result whose allowed_paths covered config/ wrote config/secrets.yaml.
    before = snapshot(repo)
    patch = make_patch(repo, lambda c: (c / "config/secrets.yaml").write_bytes(b"token: mine\n"))
    for phase_id, allowed in (("F1.1", ["config"]), ("F1.2", ["config/"]), ("F2.1", ["config\\secrets.yaml"])):
        response = submit(gov_client, patch, phase_id=phase_id, allowed_paths=allowed)
        assert response.status_code == 422, response.text
        detail = json.loads(response.json()["detail"])
        assert detail["error_type"] == "protected_path_violation"
        assert detail["violated_paths"] == ["config/secrets.yaml"]
    assert snapshot(repo) == before and porcelain(repo) == []
    assert len(all_rows(GovernanceRequest)) == 3  # each one waits for a human


def test_payload_allowed_paths_narrow_what_a_patch_may_touch(gov_client, repo):
    before = snapshot(repo)
    patch = make_patch(repo, lambda c: (c / "a.txt").write_bytes(b"alpha\nBETA\ngamma\n"))
    response = submit(gov_client, patch, allowed_paths=["docs", "src/autopack/tool.py"])
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "Failed to apply patch: patch touches paths outside the phase's allowed_paths: a.txt")
    assert snapshot(repo) == before and all_rows(GovernanceRequest) == []
    assert all_rows(Phase, phase_id="F1.1")[0].state == "FAILED"
    # An entry covers itself (a file) and everything below it (a directory), nothing that merely starts alike.
    assert submit(gov_client, patch, phase_id="F1.2", allowed_paths=["a.tx"]).status_code == 422
    assert submit(gov_client, patch, phase_id="F2.2", allowed_paths=["./a.txt"]).status_code == 200
    assert (repo / "a.txt").read_bytes() == b"alpha\nBETA\ngamma\n"


def test_protected_list_is_configurable(make_client, repo, monkeypatch):
    monkeypatch.setenv("AUTOPACK_PROTECTED_PATHS", "lines.txt, docs/")
    client = make_client()
    client.post("/runs/start", json=run_payload(RUN_ID))
    patch = make_patch(repo, lambda c: (c / "config/settings.yaml").write_bytes(b"level: 9\n"))
    assert submit(client, patch).status_code == 200  # config/ is no longer protected
    patch = make_patch(repo, lambda c: (c / "lines.txt").write_bytes(b"short\n"))
    response = submit(client, patch, phase_id="F1.2")
    assert json.loads(response.json()["detail"])["violated_paths"] == ["lines.txt"]


def test_protected_patch_that_cannot_apply_is_refused_without_a_request(gov_client, repo):
    patch = make_patch(repo, touch_models)
    (repo / "src/autopack/models.py").write_bytes(b"DIFFERENT = 1\n")
    response = submit(gov_client, patch)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Failed to apply patch: ")
    assert all_rows(GovernanceRequest) == []
