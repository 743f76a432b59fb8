"""The JSON mirror files, and issues recorded through builder_result and auditor_result."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from autopack.db.models import PhaseIssue


def _load(path):
    assert path.is_file(), f"missing {path}"
    return json.loads(path.read_text(encoding="utf-8"))


def test_mirror_files_are_written(client, start_run, record, runs_dir):
    run_id = start_run()
    assert record(run_id, "F1.2", "slow_query", "major", category="perf", evidence_refs=["log:1"]).status_code == 200
    assert record(run_id, "F1.2", "slow_query", "major", category="perf").status_code == 200
    assert record(run_id, "F2.1", "typo", "minor", category="docs").status_code == 200
    issues_dir = runs_dir / run_id / "issues"

    phase_doc = _load(issues_dir / "phase_01_F1.2_issues.json")
    assert phase_doc["phase_id"] == "F1.2"
    assert phase_doc["tier_id"] == "T1"
    assert phase_doc["major_issue_count"] == 1
    assert phase_doc["minor_issue_count"] == 0
    assert phase_doc["issue_state"] == "has_major_issues"
    [issue] = phase_doc["issues"]
    assert issue["issue_key"] == "slow_query"
    assert issue["occurrence_count"] == 2
    assert issue["evidence_refs"] == ["log:1"]

    other = _load(issues_dir / "phase_02_F2.1_issues.json")
    assert other["issue_state"] == "has_minor_issues"
    assert not (issues_dir / "phase_00_F1.1_issues.json").exists()

    index = _load(issues_dir / "run_issue_index.json")
    assert index["run_id"] == run_id
    assert set(index["issues_by_key"]) == {"slow_query", "typo"}
    assert index["issues_by_key"]["slow_query"]["occurrence_count"] == 2
    assert index == {"run_id": run_id,
                     "issues_by_key": client.get(f"/runs/{run_id}/issues/index").json()["issues_by_key"]}

    backlog_path = runs_dir.resolve() / ".project" / "project_issue_backlog.json"
    assert backlog_path == get_settings().project_backlog_path
    backlog = _load(backlog_path)
    assert backlog["project_id"] == "Autopack"
    assert set(backlog["issues_by_key"]) == {"slow_query", "typo"}
    assert backlog["issues_by_key"]["typo"]["base_severity"] == "minor"
    seen_at = datetime.fromisoformat(backlog["issues_by_key"]["typo"]["last_seen_at"])
    assert seen_at.utcoffset() == timedelta(0)
    assert "T" in backlog["issues_by_key"]["typo"]["last_seen_at"]  # ISO 8601, not str(datetime)
    assert backlog["issues_by_key"] == client.get("/project/issues/backlog").json()["issues_by_key"]


def test_mirror_files_are_utf8_indented_json(start_run, record, runs_dir):
    run_id = start_run()
    assert record(run_id, "F1.1", "unicodé", category="naïve").status_code == 200
    path = runs_dir / run_id / "issues" / "run_issue_index.json"
    raw = path.read_text(encoding="utf-8")
    assert "unicodé" in raw and "naïve" in raw
    assert raw.startswith("{\n  ")


def test_phase_file_name_sanitises_phase_id(client, runs_dir):
    payload = {"run": {"run_id": "odd-run"},
               "tiers": [{"tier_id": "T1", "tier_index": 0, "name": "Tier"}],
               "phases": [{"phase_id": "F 1", "phase_index": 7, "tier_id": "T1", "name": "Odd"}]}
    assert client.post("/runs/start", json=payload).status_code == 201
    response = client.post("/runs/odd-run/phases/F 1/record_issue",
                           params={"issue_key": "k", "severity": "minor", "source": "s", "category": "c"})
    assert response.status_code == 200, response.text
    assert (runs_dir / "odd-run" / "issues" / "phase_07_F_1_issues.json").is_file()


def test_rejected_record_writes_no_files(client, start_run, record, runs_dir):
    run_id = start_run()
    assert record(run_id, "NOPE", "k").status_code == 404
    assert client.post(f"/runs/{run_id}/phases/F1.1/record_issue", params={"issue_key": "k"}).status_code == 422
    assert not (runs_dir / run_id).exists()
    assert not (runs_dir.resolve().parent / "docs").exists()


def _builder(run_id: str, phase_id: str, **extra) -> dict:
    return {"run_id": run_id, "phase_id": phase_id, "status": "success", **extra}


def test_builder_suggested_issues_are_recorded(client, start_run, runs_dir):
    run_id = start_run()
    body = _builder(run_id, "F1.1", suggested_issues=[
        {"issue_key": "missing_tests", "severity": "minor", "category": "testing",
         "evidence_refs": ["src/a.py"], "description": "no tests for a"},
        {"issue_key": "unsafe_eval", "severity": "major", "source": "builder", "category": "security"},
        {"issue_key": "missing_tests", "severity": "minor", "category": "testing"},
    ])
    response = client.post(f"/runs/{run_id}/phases/F1.1/builder_result", json=body)
    assert response.status_code == 200, response.text

    index = client.get(f"/runs/{run_id}/issues/index").json()["issues_by_key"]
    assert set(index) == {"missing_tests", "unsafe_eval"}
    assert index["missing_tests"]["occurrence_count"] == 2
    backlog = client.get("/project/issues/backlog").json()["issues_by_key"]
    assert backlog["unsafe_eval"]["base_severity"] == "major"

    with session_scope(writer=False) as session:
        rows = {r.issue_key: r for r in session.scalars(
            select(PhaseIssue).where(PhaseIssue.run_id == run_id, PhaseIssue.phase_id == "F1.1"))}
        assert rows["missing_tests"].source == "cursor_self_doubt"  # the schema default
        assert rows["missing_tests"].evidence_refs == ["src/a.py"]
        assert rows["missing_tests"].description == "no tests for a"
        assert rows["unsafe_eval"].source == "builder"

    run = client.get(f"/runs/{run_id}").json()
    assert (run["minor_issues_count"], run["major_issues_count"]) == (1, 1)
    tier = next(t for t in run["tiers"] if t["tier_id"] == "T1")
    assert (tier["minor_issues_count"], tier["major_issues_count"]) == (1, 1)
    phase_doc = _load(runs_dir / run_id / "issues" / "phase_00_F1.1_issues.json")
    assert phase_doc["issue_state"] == "has_major_issues"


def test_invalid_builder_result_records_no_issue(client, start_run):
    run_id = start_run()
    body = _builder(run_id, "F1.1", suggested_issues=[{"issue_key": "k", "severity": "minor",
                                                       "category": "c"}], unexpected=True)
    assert client.post(f"/runs/{run_id}/phases/F1.1/builder_result", json=body).status_code == 422
    assert client.get(f"/runs/{run_id}/issues/index").json()["total"] == 0
    assert client.get("/project/issues/backlog").json()["total"] == 0


def test_auditor_issues_found_are_recorded(client, start_run, runs_dir):
    run_id = start_run()
    body = {"run_id": run_id, "phase_id": "F2.2", "review_notes": "two problems",
            "recommendation": "revise",
            "issues_found": [
                {"issue_key": "race_condition", "severity": "major", "source": "auditor",
                 "category": "concurrency", "evidence_refs": ["worker.py:10"]},
                {"issue_key": "naming", "severity": "minor", "category": "style"},
            ]}
    response = client.post(f"/runs/{run_id}/phases/F2.2/auditor_result", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Auditor result submitted"}

    index = client.get(f"/runs/{run_id}/issues/index").json()["issues_by_key"]
    assert index["race_condition"]["seen_in_phases"] == ["F2.2"]
    assert index["race_condition"]["seen_in_tiers"] == ["T2"]
    assert index["naming"]["severity"] == "minor"
    run = client.get(f"/runs/{run_id}").json()
    assert (run["minor_issues_count"], run["major_issues_count"]) == (1, 1)
    tier = next(t for t in run["tiers"] if t["tier_id"] == "T2")
    assert (tier["minor_issues_count"], tier["major_issues_count"]) == (1, 1)
    phase_doc = _load(runs_dir / run_id / "issues" / "phase_03_F2.2_issues.json")
    assert [i["issue_key"] for i in phase_doc["issues"]] == ["race_condition", "naming"]
    assert phase_doc["issues"][0]["evidence_refs"] == ["worker.py:10"]


def test_builder_and_record_issue_share_dedup(client, start_run, record):
    run_id = start_run()
    assert record(run_id, "F1.1", "shared_key", "minor").status_code == 200
    body = _builder(run_id, "F1.1", suggested_issues=[
        {"issue_key": "shared_key", "severity": "minor", "category": "c"}])
    assert client.post(f"/runs/{run_id}/phases/F1.1/builder_result", json=body).status_code == 200
    index = client.get(f"/runs/{run_id}/issues/index").json()
    assert index["total"] == 1
    assert index["issues_by_key"]["shared_key"]["occurrence_count"] == 2
    assert client.get(f"/runs/{run_id}").json()["minor_issues_count"] == 1


@pytest.mark.parametrize("kind", ["builder_result", "auditor_result"])
def test_nul_in_a_suggested_issue_is_422(make_client, start_run, kind):
    client = make_client(raise_server_exceptions=False)
    run_id = start_run()
    issue = {"issue_key": "k\x00", "severity": "minor", "category": "c"}
    if kind == "builder_result":
        body = _builder(run_id, "F1.1", suggested_issues=[issue])
    else:
        body = {"run_id": run_id, "phase_id": "F1.1", "review_notes": "n", "recommendation": "approve",
                "issues_found": [issue]}
    response = client.post(f"/runs/{run_id}/phases/F1.1/{kind}", json=body)
    assert response.status_code == 422
    assert client.get(f"/runs/{run_id}/issues/index").json()["total"] == 0
