"""POST /runs/{run_id}/phases/{phase_id}/record_issue: inputs, dedup, counts and issue state."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.db.models import Phase, PhaseIssue, Run, Tier

RUN = "demo-20260110-120000"


def _run(client, run_id: str = RUN) -> dict:
    response = client.get(f"/runs/{run_id}")
    assert response.status_code == 200, response.text
    return response.json()


def _tier(run: dict, tier_id: str) -> dict:
    return next(t for t in run["tiers"] if t["tier_id"] == tier_id)


def _phase_row(run_id: str, phase_id: str) -> tuple[int, int, str]:
    with session_scope(writer=False) as session:
        phase = session.scalars(
            select(Phase).where(Phase.run_id == run_id, Phase.phase_id == phase_id)
        ).one()
        return phase.minor_issues_count, phase.major_issues_count, phase.issue_state


def test_record_issue_response_shape(start_run, record):
    run_id = start_run()
    response = record(run_id, "F1.1", "lint_warning", "minor", source="builder", category="style",
                      task_category="refactor", complexity="medium", evidence_refs=["ev1", "ev2"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Issue lint_warning recorded"
    assert set(body) == {"message", "phase_file", "run_index_entry", "project_backlog_entry"}

    phase_file = body["phase_file"]
    assert phase_file["phase_id"] == "F1.1"
    assert phase_file["tier_id"] == "T1"
    assert phase_file["minor_issue_count"] == 1
    assert phase_file["major_issue_count"] == 0
    assert phase_file["issue_state"] == "has_minor_issues"
    [issue] = phase_file["issues"]
    assert issue == {
        "issue_key": "lint_warning", "severity": "minor", "effective_severity": "minor",
        "source": "builder", "category": "style", "task_category": "refactor",
        "complexity": "medium", "expected_fail": False, "occurrence_count": 1,
        "first_seen_run": run_id, "last_seen_run": run_id, "evidence_refs": ["ev1", "ev2"],
    }

    entry = body["run_index_entry"]
    assert entry == {
        "category": "style", "severity": "minor", "effective_severity": "minor",
        "first_phase_index": 0, "last_phase_index": 0, "occurrence_count": 1,
        "seen_in_tiers": ["T1"], "seen_in_phases": ["F1.1"],
    }

    backlog = body["project_backlog_entry"]
    assert backlog["category"] == "style"
    assert backlog["base_severity"] == "minor"
    assert backlog["age_in_runs"] == 1
    assert backlog["age_in_tiers"] == 1
    assert backlog["first_seen_run_id"] == run_id
    assert backlog["last_seen_run_id"] == run_id
    assert backlog["status"] == "open"
    assert backlog["last_seen_at"].endswith("+00:00") or backlog["last_seen_at"].endswith("Z")


def test_evidence_refs_are_optional(start_run, record):
    run_id = start_run()
    response = record(run_id, "F1.1", "no_evidence")
    assert response.status_code == 200, response.text
    assert response.json()["phase_file"]["issues"][0]["evidence_refs"] == []


@pytest.mark.parametrize("missing", ["issue_key", "severity", "source", "category"])
def test_each_required_query_param_is_required(client, start_run, missing):
    run_id = start_run()
    params = {"issue_key": "k", "severity": "minor", "source": "s", "category": "c"}
    del params[missing]
    response = client.post(f"/runs/{run_id}/phases/F1.1/record_issue", params=params)
    assert response.status_code == 422
    locs = [err["loc"] for err in response.json()["detail"]]
    assert locs == [["query", missing]]
    assert response.json()["detail"][0]["type"] == "missing"
    assert _phase_row(run_id, "F1.1") == (0, 0, "no_issues")


def test_all_required_params_missing_lists_each(client, start_run):
    run_id = start_run()
    response = client.post(f"/runs/{run_id}/phases/F1.1/record_issue")
    assert response.status_code == 422
    locs = sorted(tuple(err["loc"]) for err in response.json()["detail"])
    assert locs == sorted(("query", n) for n in ("issue_key", "severity", "source", "category"))


def test_evidence_refs_must_be_an_array_of_strings(client, start_run):
    run_id = start_run()
    params = {"issue_key": "k", "severity": "minor", "source": "s", "category": "c"}
    response = client.post(f"/runs/{run_id}/phases/F1.1/record_issue", params=params,
                           json={"evidence_refs": ["a"]})
    assert response.status_code == 422
    response = client.post(f"/runs/{run_id}/phases/F1.1/record_issue", params=params, json=[1, {"x": 2}])
    assert response.status_code == 422
    assert _phase_row(run_id, "F1.1") == (0, 0, "no_issues")


def test_unknown_phase_is_404(start_run, record):
    run_id = start_run()
    response = record(run_id, "NOPE", "k")
    assert response.status_code == 404
    assert response.json() == {"detail": f"Phase NOPE not found in run {run_id}"}


def test_unknown_run_is_404(record):
    response = record("no-such-run", "F1.1", "k")
    assert response.status_code == 404
    assert response.json() == {"detail": "Phase F1.1 not found in run no-such-run"}


def test_repeated_key_increments_occurrence_without_double_counting(client, start_run, record):
    run_id = start_run()
    first = record(run_id, "F1.1", "flaky_test", "minor", evidence_refs=["a"])
    second = record(run_id, "F1.1", "flaky_test", "minor", evidence_refs=["a", "b"])
    assert first.status_code == second.status_code == 200
    body = second.json()
    [issue] = body["phase_file"]["issues"]
    assert issue["occurrence_count"] == 2
    assert issue["evidence_refs"] == ["a", "b"]
    assert body["phase_file"]["minor_issue_count"] == 1
    assert body["run_index_entry"]["occurrence_count"] == 2
    assert body["run_index_entry"]["seen_in_phases"] == ["F1.1"]

    run = _run(client, run_id)
    assert run["minor_issues_count"] == 1
    assert _tier(run, "T1")["minor_issues_count"] == 1
    assert _phase_row(run_id, "F1.1") == (1, 0, "has_minor_issues")
    with session_scope(writer=False) as session:
        rows = session.scalars(select(PhaseIssue).where(PhaseIssue.run_id == run_id)).all()
        assert [(r.issue_key, r.occurrence_count) for r in rows] == [("flaky_test", 2)]


def test_distinct_keys_are_counted_separately(client, start_run, record):
    run_id = start_run()
    for key in ("a", "b", "c"):
        assert record(run_id, "F1.1", key, "minor").status_code == 200
    assert record(run_id, "F1.1", "d", "major").status_code == 200
    assert record(run_id, "F1.1", "a", "minor").status_code == 200  # repeat, not a new issue
    assert _phase_row(run_id, "F1.1") == (3, 1, "has_major_issues")


def test_counts_propagate_phase_tier_run(client, start_run, record):
    run_id = start_run()
    assert record(run_id, "F1.1", "m1", "minor").status_code == 200
    assert record(run_id, "F1.2", "m2", "minor").status_code == 200
    assert record(run_id, "F1.2", "M1", "major").status_code == 200
    assert record(run_id, "F2.1", "M2", "major").status_code == 200
    assert record(run_id, "F2.1", "M2", "major").status_code == 200  # repeat

    run = _run(client, run_id)
    assert (run["minor_issues_count"], run["major_issues_count"]) == (2, 2)
    t1, t2 = _tier(run, "T1"), _tier(run, "T2")
    assert (t1["minor_issues_count"], t1["major_issues_count"]) == (2, 1)
    assert (t2["minor_issues_count"], t2["major_issues_count"]) == (0, 1)
    assert _phase_row(run_id, "F1.1") == (1, 0, "has_minor_issues")
    assert _phase_row(run_id, "F1.2") == (1, 1, "has_major_issues")
    assert _phase_row(run_id, "F2.1") == (0, 1, "has_major_issues")
    assert _phase_row(run_id, "F2.2") == (0, 0, "no_issues")
    with session_scope(writer=False) as session:
        db_run = session.get(Run, run_id)
        assert (db_run.minor_issues_count, db_run.major_issues_count) == (2, 2)
        tiers = {t.tier_id: (t.minor_issues_count, t.major_issues_count)
                 for t in session.scalars(select(Tier).where(Tier.run_id == run_id))}
        assert tiers == {"T1": (2, 1), "T2": (0, 1)}


def test_same_key_in_two_phases_counts_once_per_phase(client, start_run, record):
    run_id = start_run()
    assert record(run_id, "F1.1", "shared", "minor").status_code == 200
    body = record(run_id, "F2.1", "shared", "minor").json()
    entry = body["run_index_entry"]
    assert entry["occurrence_count"] == 2
    assert entry["first_phase_index"] == 0
    assert entry["last_phase_index"] == 2
    assert entry["seen_in_tiers"] == ["T1", "T2"]
    assert entry["seen_in_phases"] == ["F1.1", "F2.1"]
    run = _run(client, run_id)
    assert run["minor_issues_count"] == 2  # run counts are the sum over phases
    assert _tier(run, "T1")["minor_issues_count"] == 1
    assert _tier(run, "T2")["minor_issues_count"] == 1


@pytest.mark.parametrize("severity", ["high", "critical", "Minor", "MAJOR", "info"])
def test_other_severities_are_stored_but_not_counted(client, start_run, record, severity):
    run_id = start_run()
    response = record(run_id, "F1.1", "odd", severity)
    assert response.status_code == 200, response.text
    phase_file = response.json()["phase_file"]
    assert phase_file["issues"][0]["severity"] == severity
    assert phase_file["issues"][0]["effective_severity"] == severity
    assert (phase_file["minor_issue_count"], phase_file["major_issue_count"]) == (0, 0)
    assert phase_file["issue_state"] == "no_issues"
    run = _run(client, run_id)
    assert (run["minor_issues_count"], run["major_issues_count"]) == (0, 0)
    assert _phase_row(run_id, "F1.1") == (0, 0, "no_issues")


def test_issue_state_derivation(start_run, record):
    run_id = start_run()
    assert _phase_row(run_id, "F1.1") == (0, 0, "no_issues")
    assert record(run_id, "F1.1", "h", "high").json()["phase_file"]["issue_state"] == "no_issues"
    assert record(run_id, "F1.1", "m", "minor").json()["phase_file"]["issue_state"] == "has_minor_issues"
    assert record(run_id, "F1.1", "M", "major").json()["phase_file"]["issue_state"] == "has_major_issues"
    # more minors do not demote the state
    assert record(run_id, "F1.1", "m2", "minor").json()["phase_file"]["issue_state"] == "has_major_issues"
    assert _phase_row(run_id, "F1.1") == (2, 1, "has_major_issues")


def test_recording_does_not_touch_other_runs(client, start_run, record):
    a = start_run("alpha")
    b = start_run("beta")
    assert record(a, "F1.1", "k", "major").status_code == 200
    assert _run(client, b)["major_issues_count"] == 0
    assert _run(client, a)["major_issues_count"] == 1
    index_b = client.get(f"/runs/{b}/issues/index").json()
    assert index_b["issues_by_key"] == {}


def test_overlong_issue_key_is_422(start_run, record):
    run_id = start_run()
    response = record(run_id, "F1.1", "k" * 256)
    assert response.status_code == 422
    assert _phase_row(run_id, "F1.1") == (0, 0, "no_issues")


def test_empty_issue_key_is_422(start_run, record):
    run_id = start_run()
    response = record(run_id, "F1.1", "")
    assert response.status_code == 422


@pytest.mark.parametrize("field, value", [("issue_key", "k\x00"), ("category", "c\x00"),
                                          ("task_category", "t\x00"), ("complexity", "\x00")])
def test_nul_in_query_param_is_422_on_both_databases(client, start_run, field, value):
    run_id = start_run()
    params = {"issue_key": "k", "severity": "minor", "source": "s", "category": "c", field: value}
    response = client.post(f"/runs/{run_id}/phases/F1.1/record_issue", params=params)
    assert response.status_code == 422, response.text
    assert _phase_row(run_id, "F1.1") == (0, 0, "no_issues")
    assert client.get(f"/runs/{run_id}/issues/index").json()["total"] == 0


@pytest.mark.parametrize("raw", [
    b'["ok", "a\\u0000b"]',
    pytest.param(b'["a\\ud800b"]'),
])
def test_unstorable_evidence_ref_is_422(client, start_run, raw):
    run_id = start_run()
    response = client.post(f"/runs/{run_id}/phases/F1.1/record_issue",
                           params={"issue_key": "k", "severity": "minor", "source": "s", "category": "c"},
                           content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert client.get("/project/issues/backlog").json()["total"] == 0


def test_index_of_an_impossible_run_id_is_422(client):
    response = client.get("/runs/a%00b/issues/index")
    assert response.status_code == 422


def test_evidence_refs_bounds(client, start_run, record):
    run_id = start_run()
    assert record(run_id, "F1.1", "many", evidence_refs=[f"e{i}" for i in range(200)]).status_code == 200
    assert record(run_id, "F1.1", "too_many", evidence_refs=[f"e{i}" for i in range(201)]).status_code == 422
    assert record(run_id, "F1.1", "too_long", evidence_refs=["x" * 2001]).status_code == 422
    assert client.get(f"/runs/{run_id}/issues/index").json()["total"] == 1
