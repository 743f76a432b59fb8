"""POST /runs/start and GET /runs/{run_id} (reference §2.1, acceptance cases 1)."""

from __future__ import annotations

from autopack.db.models import Phase, Run, RunEvent, Tier
from tests.conftest import run_payload
from tests.runs.helpers import count, rows

RUN_KEYS = {
    "id", "state", "safety_profile", "run_scope", "created_at", "started_at", "completed_at",
    "tokens_used", "ci_runs_used", "minor_issues_count", "major_issues_count",
    "promotion_eligible_to_main", "debt_status", "failure_reason", "tiers", "phases",
}
BUDGET_KEYS = {  # added to the reference's shape: the run's budgets and its hold
    "token_cap", "max_phases", "max_duration_minutes", "usage_tokens", "budget_hold",
    "budget_approval_id", "budget_deadline_at",
}
PHASE_KEYS = {
    "id", "phase_id", "run_id", "tier_id", "name", "description", "state", "task_category",
    "complexity", "builder_mode", "phase_index", "scope", "intention_refs",
}
PHASE_ADDED_KEYS = {"results_summary"}  # added to the reference's shape: what the executor last reported


def test_start_returns_the_reference_shape(client):
    response = client.post("/runs/start", json=run_payload())
    assert response.status_code == 201
    body = response.json()
    assert set(body) == RUN_KEYS | BUDGET_KEYS
    assert body["state"] == "RUN_CREATED"
    assert (body["token_cap"], body["max_phases"], body["max_duration_minutes"]) == (5_000_000, 25, 120)
    assert body["budget_hold"] is None and body["usage_tokens"] == 0
    assert body["promotion_eligible_to_main"] == "false"
    assert body["completed_at"] is None
    assert body["started_at"].endswith("+00:00")
    assert [t["tier_id"] for t in body["tiers"]] == ["T1", "T2"]
    assert set(body["tiers"][0]) == {"id", "tier_id", "name", "state", "tier_index", "cleanliness",
                                     "minor_issues_count", "major_issues_count", "phases"}
    assert [p["phase_id"] for p in body["tiers"][0]["phases"]] == ["F1.1", "F1.2"]
    assert [p["phase_id"] for p in body["phases"]] == ["F1.1", "F1.2", "F2.1", "F2.2"]
    first = body["phases"][0]
    assert set(first) == PHASE_KEYS | PHASE_ADDED_KEYS
    assert first["results_summary"] is None  # nothing reported yet
    assert first["tier_id"] == body["tiers"][0]["id"]  # integer FK, not "T1"
    assert first["state"] == "QUEUED"


def test_get_matches_start(client, started_run):
    response = client.get(f"/runs/{started_run}")
    assert response.status_code == 200
    assert response.json()["id"] == started_run
    assert len(response.json()["phases"]) == 4


def test_get_unknown_run_is_404(client):
    response = client.get("/runs/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Run nope not found"}


def test_defaults_caps_and_minor_issue_budget(client):
    payload = run_payload(tiers=1, phases_per_tier=3)
    payload["run"].update({"token_cap": 0, "max_phases": None, "max_duration_minutes": 0})
    assert client.post("/runs/start", json=payload).status_code == 201
    (run,) = rows(Run)
    assert (run.token_cap, run.max_phases, run.max_duration_minutes) == (5_000_000, 25, 120)
    assert run.max_minor_issues_total == 9


def test_run_without_phases_has_no_minor_budget(client):
    payload = {"run": {"run_id": "empty"}}
    body = client.post("/runs/start", json=payload).json()
    assert body["tiers"] == [] and body["phases"] == []
    assert rows(Run)[0].max_minor_issues_total is None


def test_duplicate_run_is_400(client, started_run):
    response = client.post("/runs/start", json=run_payload())
    assert response.status_code == 400
    assert response.json()["detail"] == f"Run {started_run} already exists"
    assert count(Phase) == 4


def test_unknown_tier_leaves_nothing_behind(client, runs_dir):
    payload = run_payload(tiers=1, phases_per_tier=2)
    payload["phases"][1]["tier_id"] = "T9"
    response = client.post("/runs/start", json=payload)
    assert response.status_code == 400
    assert response.json()["detail"] == "Phase F1.2 references unknown tier T9"
    assert client.get("/runs/demo-20260110-120000").status_code == 404
    assert (count(Run), count(Tier), count(Phase), count(RunEvent)) == (0, 0, 0, 0)
    assert not runs_dir.exists()


def test_duplicate_ids_inside_payload_are_400(client):
    payload = run_payload(tiers=1, phases_per_tier=2)
    payload["phases"][1]["phase_id"] = "F1.1"
    response = client.post("/runs/start", json=payload)
    assert response.status_code == 400
    assert "Duplicate phase_id" in response.json()["detail"]
    payload = run_payload(tiers=2, phases_per_tier=1)
    payload["tiers"][1]["tier_id"] = "T1"
    assert client.post("/runs/start", json=payload).status_code == 400
    assert count(Run) == 0


def test_scope_normalisation_and_intention_refs(client):
    payload = run_payload(tiers=1, phases_per_tier=1)
    payload["phases"][0]["scope"] = {
        "paths": ["src/a.py"],
        "read_only_context": ["docs/x.md", {"path": "b.py", "reason": "ctx"}, {"reason": "no path"}, 7],
    }
    payload["phases"][0]["intention_refs"] = {"success_criteria": [0, 2]}
    payload["phases"][0]["change_size"] = "large"  # extra keys are ignored, as the reference
    body = client.post("/runs/start", json=payload).json()
    phase = body["phases"][0]
    assert phase["scope"] == {"paths": ["src/a.py"], "read_only_context": [
        {"path": "docs/x.md", "reason": ""}, {"path": "b.py", "reason": "ctx"}]}
    assert phase["intention_refs"] == {"success_criteria": [0, 2], "constraints_must": [],
                                       "constraints_must_not": [], "constraints_preferences": []}


def test_intention_refs_forbid_extra_keys(client):
    payload = run_payload(tiers=1, phases_per_tier=1)
    payload["phases"][0]["intention_refs"] = {"bogus": [1]}
    response = client.post("/runs/start", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "extra_forbidden"
    assert count(Run) == 0


def test_creation_event_is_recorded(client, started_run):
    (event,) = rows(RunEvent)
    assert (event.entity, event.from_state, event.to_state) == ("run", None, "RUN_CREATED")
    assert event.actor == "anonymous"


def test_run_layout_on_disk(client, started_run, runs_dir):
    base = runs_dir / "autopack" / "runs" / "demo" / started_run
    assert (base / "run_summary.md").read_text().startswith(f"# Run Summary: {started_run}")
    assert (base / "tiers" / "tier_00_Tier_1.md").exists()
    assert (base / "phases" / "phase_00_F1.1.md").exists()
    assert (base / "issues").is_dir()
    assert not list(base.rglob("*.tmp"))


def test_layout_collapses_and_chooses_project(client, runs_dir):
    client.post("/runs/start", json={"run": {"run_id": "mini"}})
    assert (runs_dir / "autopack" / "runs" / "mini" / "run_summary.md").exists()
    client.post("/runs/start", json={"run": {"run_id": "fileorg-x-1234567890"}})
    assert (runs_dir / "file-organizer-app-v1" / "runs" / "fileorg-x" / "fileorg-x-1234567890"
            / "run_summary.md").exists()


def test_two_hundred_phases(client):
    payload = run_payload("big", tiers=5, phases_per_tier=40)
    body = client.post("/runs/start", json=payload).json()
    assert len(body["phases"]) == 200
    assert sum(len(t["phases"]) for t in body["tiers"]) == 200
    assert [p["phase_index"] for p in body["phases"]] == list(range(200))
