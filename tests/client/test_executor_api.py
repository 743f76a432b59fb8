"""The client against a live server: the executor's and the operator's Autopack endpoints, one method each."""

from __future__ import annotations

import pytest

from autopack.auth.schemas import Jwks
from autopack.client import Conflict, NotFound, ServerError, ValidationFailed
from autopack.files.schemas import UploadList, UploadResponse
from autopack.health.schemas import ServiceDocument, ServiceHealth
from autopack.tenants.schemas import MemberPage, MemberRemoved, Membership, TenantPage
from tests.client.conftest import INSTANCE_KEY, user_client
from tests.conftest import run_payload


def test_health_service_and_metrics(admin):
    health = admin.health()
    assert isinstance(health, ServiceHealth) and (health.status, health.service) == ("healthy", "autopack")
    assert health.kill_switches.phase6_metrics is False
    service = admin.service_info()
    assert isinstance(service, ServiceDocument) and service.service == "Autopack" and service.links["health"]
    assert "autopack_" in admin.metrics_text()


def test_run_lifecycle_results_usage_and_issues(admin):
    run = admin.start_run(run_payload("client-run", 1, 2))
    assert (run.id, run.state, [p.phase_id for t in run.tiers for p in t.phases]) == (
        "client-run", "RUN_CREATED", ["F1.1", "F1.2"])
    moved = admin.update_phase_status("client-run", "F1.1", "EXECUTING", builder_attempts=1)
    assert moved.phase["state"] == "EXECUTING"
    built = admin.submit_builder_result("client-run", "F1.1", {
        "run_id": "client-run", "phase_id": "F1.1", "status": "success", "tokens_used": 120})
    assert built.phase_id == "F1.1"
    audited = admin.submit_auditor_result("client-run", "F1.1", {
        "run_id": "client-run", "phase_id": "F1.1", "review_notes": "fine", "recommendation": "approve"})
    assert audited.message == "Auditor result submitted"
    issue = admin.record_issue("client-run", "F1.1", "flaky-test", severity="minor", source="test",
                               category="testing", evidence_refs=["log.txt"])
    assert issue.message == "Issue flaky-test recorded"
    assert "flaky-test" in admin.run_issue_index("client-run").issues_by_key
    assert admin.project_backlog().model_dump()  # the backlog's schema reads the answer
    usage = admin.record_usage("client-run", [
        {"provider": "openai", "model": "gpt-4o", "role": "builder", "phase_id": "F1.1", "total_tokens": 300},
        {"provider": "openai", "model": "gpt-4o", "role": "auditor", "total_tokens": 200}])
    assert (usage.recorded, usage.total_tokens) == (2, 500)
    metrics = admin.record_phase_metrics("client-run", "F1.1", {"token_efficiency": {
        "artifact_substitutions": 1, "tokens_saved_artifacts": 50, "budget_mode": "semantic",
        "budget_used": 100, "budget_cap": 1000}})
    assert metrics.model_dump()
    progress = admin.run_progress("client-run")
    assert (progress.phases_total, progress.phases_in_progress, progress.phases_pending) == (2, 1, 1)
    status = admin.run_status("client-run")
    assert (status.total_phases, status.tokens_used) == (2, progress.tokens_used)
    assert admin.run_errors("client-run").total == 0
    assert admin.run_errors_summary("client-run").run_id == "client-run"
    index = admin.artifact_index("client-run")
    paths = [a.path for a in index.artifacts]
    assert "run_summary.md" in paths
    assert "client-run" in admin.artifact_file("client-run", "run_summary.md")
    assert admin.browser_artifacts("client-run").total_count == 0


def test_list_runs_pages_and_iterates_every_run(admin):
    for n in range(5):
        admin.start_run(run_payload(f"paged-{n}", 1, 1))
    first = admin.list_runs(limit=2, offset=0)
    assert (first.total, len(first.runs), first.limit) == (5, 2, 2)
    ids = [r.id for r in admin.iter_runs(page_size=2)]
    assert sorted(ids) == [f"paged-{n}" for n in range(5)]
    assert len(set(ids)) == 5


def test_approvals_request_status_pending_and_decisions(admin):
    admin.start_run(run_payload("approval-run", 1, 1))
    asked = [admin.request_approval("approval-run", "F1.1", context="delete", decision_info={"n": n})
             for n in range(3)]
    assert [a.status for a in asked] == ["pending"] * 3
    first_page = admin.pending_approvals(limit=2)
    assert (first_page.count, len(first_page.requests)) == (3, 2)
    assert sorted(r.id for r in admin.iter_pending_approvals(page_size=2)) == sorted(a.approval_id for a in asked)
    approved = admin.decide_approval(asked[0].approval_id, True, reason="looks right")
    rejected = admin.decide_approval(asked[1].approval_id, False, reason="too risky")
    assert (approved.status, rejected.status, rejected.rejected_reason) == ("approved", "rejected", "too risky")
    assert admin.approval_status(asked[2].approval_id).status == "pending"


def test_governance_create_list_read_and_decide(admin):
    admin.start_run(run_payload("gov-run", 1, 1))
    created = [admin.create_governance_request({"run_id": "gov-run", "phase_id": "F1.1",
                                                "requested_paths": [f"config/{n}.yaml"], "risk_level": "high"})
               for n in range(3)]
    page = admin.governance_pending(limit=2)
    assert (page.total, len(page.pending_requests)) == (3, 2)
    assert sorted(r.request_id for r in admin.iter_governance_pending(page_size=2)) == sorted(
        c.request_id for c in created)
    assert admin.governance_request(created[0].request_id).requested_paths == ["config/0.yaml"]
    denied = admin.decide_governance(created[0].request_id, False, reason="not now")
    assert (denied.status, denied.applied) == ("denied", False)
    assert admin.governance_pending().total == 2


def test_dashboard_reads_and_writes(admin):
    admin.start_run(run_payload("dash-run", 1, 1))
    admin.start_run(run_payload("dash-run-b", 1, 1))
    override = admin.override_model({"role": "builder", "category": "general", "complexity": "low",
                                     "model": "gpt-4o-mini", "scope": "global"})
    assert override.model == "gpt-4o-mini"
    assert any(m.model == "gpt-4o-mini" for m in admin.models())
    note = admin.add_human_note("look at phase 2", run_id="dash-run")
    assert admin.human_notes().notes[0].id == note.id
    assert admin.usage("day").providers == []
    result = admin.record_ab_result({"test_id": "t1", "control_run_id": "dash-run",
                                     "treatment_run_id": "dash-run-b", "control_commit_sha": "a" * 7,
                                     "treatment_commit_sha": "b" * 7})
    assert admin.ab_results(test_id="t1", valid_only=False).model_dump()["results"][0]["id"] == result.id
    assert admin.token_efficiency("dash-run").model_dump()
    assert admin.phase6_stats("dash-run").model_dump()


def test_a_switched_off_endpoint_is_a_server_error_with_its_detail(server):
    from autopack.client import Client

    with Client(server, api_key=INSTANCE_KEY, max_retries=0) as client:
        client.start_run(run_payload("metrics-run", 1, 1))
        with pytest.raises(ServerError) as caught:
            client.consolidated_metrics("metrics-run")
    assert caught.value.status_code == 503
    assert caught.value.request_id


def test_identity_tenants_audit_and_oauth(admin, anonymous, server):
    user = anonymous.register("carol", "carol@example.com", "correct-horse-9")
    token = anonymous.login("carol", "correct-horse-9")
    assert token.token_type == "bearer"
    assert anonymous.me().username == "carol" == user.username  # the login's token is sent from then on
    jwks = admin.jwks()
    assert isinstance(jwks, Jwks) and jwks.keys[0].kty == "RSA" and admin.key_status().keys_loaded
    tenant = admin.create_tenant("initech", "Initech")
    assert admin.get_tenant(tenant.id).slug == "initech"
    listed = admin.list_tenants()
    assert isinstance(listed, TenantPage) and [t.slug for t in listed.tenants] == ["initech"] and listed.total == 1
    member = admin.set_member(tenant.id, "viewer", username="carol")
    assert (member.role, member.username) == ("viewer", "carol")
    members = admin.tenant_members(tenant.id)
    assert isinstance(members, MemberPage) and [m.username for m in members.members] == ["carol"]
    mine = anonymous.my_membership(tenant.id)
    assert isinstance(mine, Membership) and (mine.tenant_id, mine.role) == (tenant.id, "viewer")
    removed = admin.remove_member(tenant.id, member.user_id)
    assert isinstance(removed, MemberRemoved) and (removed.removed, removed.user_id) == (True, member.user_id)
    assert admin.audit_verify().ok is True
    assert len(admin.audit_events(limit=2).events) == 2
    actions = [e.action for e in admin.iter_audit_events(page_size=2)]
    assert len(actions) >= 3 and len(actions) == len(set(e.id for e in admin.iter_audit_events(page_size=3)))
    with user_client(server, "root", superuser=True) as root:
        assert root.oauth_providers().count == 0
        stored = root.oauth_register({"provider": "acme_ads", "token_url": "http://127.0.0.1:9/token",
                                      "client_id": "id-1", "client_secret": "s3cret", "refresh_token": "r-1"})
        assert stored.provider == "acme_ads" and "s3cret" not in stored.model_dump_json()
        assert root.oauth_provider_health("acme_ads").provider == "acme_ads"
        assert root.oauth_health().model_dump()["summary"]
        assert root.oauth_refresh("acme_ads").model_dump()
        assert root.oauth_reset("acme_ads").model_dump()
        assert root.oauth_events(provider="acme_ads").model_dump()
        assert root.oauth_remove("acme_ads").model_dump()
        assert root.oauth_providers().count == 0


def test_a_bad_body_is_refused_before_it_is_sent(admin):
    with pytest.raises(ValidationFailed) as caught:
        admin.start_run({"run": {"run_id": ""}, "tiers": [], "phases": []})
    assert caught.value.status_code is None  # the server's own schema refused it here
    assert caught.value.details


def test_storage_files_and_research(admin, server_dir):
    target = server_dir / "scan-me"
    target.mkdir(exist_ok=True)
    (target / "old.log").write_text("x" * 100)
    scan = admin.start_storage_scan({"scan_type": "directory", "scan_target": str(target), "max_depth": 2})
    assert scan.scan_target == str(target.resolve())
    assert [s.id for s in admin.storage_scans()] == [scan.id]
    assert admin.storage_scan(scan.id).model_dump()["scan"]["id"] == scan.id
    assert admin.learned_rules() == [] and admin.analyze_patterns() == []
    with pytest.raises(ValidationFailed) as caught:  # no such candidate in this scan
        admin.approve_storage_scan(scan.id, {"candidate_ids": [999999], "approved_by": "ops", "decision": "approve"})
    assert (caught.value.status_code, caught.value.message) == (400, "Invalid request parameters")
    assert admin.execute_storage_scan(scan.id).model_dump()  # a dry run
    with pytest.raises(Conflict):  # a finished scan cannot be cancelled
        admin.cancel_storage_scan(scan.id)
    assert admin.restore_storage_scan(scan.id).model_dump()
    with pytest.raises(NotFound):
        admin.approve_learned_rule(999999, "ops")
    with pytest.raises(NotFound):
        admin.reject_learned_rule(999999, "ops", "no")
    assert admin.storage_recommendations().model_dump()
    assert admin.steam_games().model_dump()
    admin.start_run(run_payload("upload-run", 1, 1))
    uploaded = admin.upload_file(("notes.txt", b"hello"), run_id="upload-run")
    assert isinstance(uploaded, UploadResponse) and (uploaded.size_bytes, uploaded.run_id) == (5, "upload-run")
    files = admin.list_files(run_id="upload-run")
    assert isinstance(files, UploadList) and [f.id for f in files.files] == [uploaded.id] and files.total == 1
    research = admin.create_research_session("caching", "what to cache")
    note = admin.add_research_note(research.session_id, "use an LRU", [{"url": "https://example.com/lru"}])
    detail = admin.research_session(research.session_id)
    assert ([n.id for n in detail.notes], detail.sources[0].url) == ([note.id], "https://example.com/lru")
    assert [s.session_id for s in admin.research_sessions()] == [research.session_id]



PROTECTED_PATCH = """diff --git a/config/settings.yaml b/config/settings.yaml
new file mode 100644
--- /dev/null
+++ b/config/settings.yaml
@@ -0,0 +1 @@
+log_level: info
"""


def test_a_governed_patch_refusal_carries_its_governance_request(admin):
    admin.start_run(run_payload("maint-run", 1, 1))
    admin.update_phase_status("maint-run", "F1.1", "EXECUTING")
    with pytest.raises(ValidationFailed) as caught:
        admin.submit_builder_result("maint-run", "F1.1", {
            "run_id": "maint-run", "phase_id": "F1.1", "status": "success", "run_type": "autopack_maintenance",
            "patch_content": PROTECTED_PATCH})
    assert caught.value.status_code == 422
    request_id = caught.value.details["request_id"]  # the detail's JSON, read for the caller
    assert admin.governance_request(request_id).requested_paths == ["config/settings.yaml"]
