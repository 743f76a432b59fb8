"""GET /runs/{run_id}/issues/index and GET /project/issues/backlog: content, aging, pagination."""

from __future__ import annotations

import pytest


def test_index_unknown_run_is_empty_and_has_no_side_effect(client, runs_dir):
    response = client.get("/runs/ghost-run/issues/index")
    assert response.status_code == 200
    assert response.json() == {"run_id": "ghost-run", "issues_by_key": {}, "total": 0,
                               "limit": 1000, "offset": 0}
    assert not (runs_dir / "ghost-run").exists()
    assert not (runs_dir / "ghost-run" / "issues").exists()


def test_backlog_empty_and_has_no_side_effect(client, runs_dir):
    response = client.get("/project/issues/backlog")
    assert response.status_code == 200
    assert response.json() == {"project_id": "Autopack", "issues_by_key": {}, "total": 0,
                               "limit": 1000, "offset": 0}
    assert not (runs_dir / "dummy").exists()
    assert not runs_dir.exists() or list(runs_dir.iterdir()) == []
    assert not (runs_dir.parent / "docs").exists()


def test_reads_after_records_create_nothing_new(client, start_run, record, runs_dir):
    run_id = start_run()
    assert record(run_id, "F1.1", "k").status_code == 200
    before = sorted(p.relative_to(runs_dir.parent) for p in runs_dir.parent.rglob("*"))
    assert client.get(f"/runs/{run_id}/issues/index").status_code == 200
    assert client.get("/runs/other-run/issues/index").status_code == 200
    assert client.get("/project/issues/backlog").status_code == 200
    after = sorted(p.relative_to(runs_dir.parent) for p in runs_dir.parent.rglob("*"))
    assert after == before


def test_index_lists_recorded_issues(client, start_run, record):
    run_id = start_run()
    record(run_id, "F1.1", "a", "minor", category="lint")
    record(run_id, "F2.2", "a", "minor", category="lint")
    record(run_id, "F1.2", "b", "major", category="tests")
    body = client.get(f"/runs/{run_id}/issues/index").json()
    assert body["run_id"] == run_id
    assert body["total"] == 2
    assert list(body["issues_by_key"]) == ["a", "b"]
    a = body["issues_by_key"]["a"]
    assert a == {"category": "lint", "severity": "minor", "effective_severity": "minor",
                 "first_phase_index": 0, "last_phase_index": 3, "occurrence_count": 2,
                 "seen_in_tiers": ["T1", "T2"], "seen_in_phases": ["F1.1", "F2.2"]}
    assert body["issues_by_key"]["b"]["severity"] == "major"
    assert body["issues_by_key"]["b"]["occurrence_count"] == 1


def test_index_pagination(client, start_run, record):
    run_id = start_run()
    keys = [f"k{i}" for i in range(5)]
    for key in keys:
        assert record(run_id, "F1.1", key).status_code == 200
    page = client.get(f"/runs/{run_id}/issues/index", params={"limit": 2, "offset": 1}).json()
    assert list(page["issues_by_key"]) == ["k1", "k2"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    tail = client.get(f"/runs/{run_id}/issues/index", params={"limit": 10, "offset": 4}).json()
    assert list(tail["issues_by_key"]) == ["k4"]
    past = client.get(f"/runs/{run_id}/issues/index", params={"offset": 99}).json()
    assert past["issues_by_key"] == {} and past["total"] == 5


def test_backlog_pagination(client, start_run, record):
    run_id = start_run()
    for key in ("x", "y", "z"):
        assert record(run_id, "F1.1", key).status_code == 200
    page = client.get("/project/issues/backlog", params={"limit": 1, "offset": 2}).json()
    assert list(page["issues_by_key"]) == ["z"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 2)
    assert list(client.get("/project/issues/backlog").json()["issues_by_key"]) == ["x", "y", "z"]


@pytest.mark.parametrize("path", ["/runs/r1/issues/index", "/project/issues/backlog"])
@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 10001}, {"limit": -1}, {"offset": -1},
                                    {"limit": "ten"}, {"offset": 2**31}])
def test_pagination_bounds(client, path, params):
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "query"


@pytest.mark.parametrize("path", ["/runs/r1/issues/index", "/project/issues/backlog"])
def test_pagination_limits_accepted_at_the_edges(client, path):
    assert client.get(path, params={"limit": 1}).json()["limit"] == 1
    assert client.get(path, params={"limit": 10000}).json()["limit"] == 10000


def test_backlog_entry_fields(client, start_run, record):
    run_id = start_run()
    record(run_id, "F1.1", "dup_code", "minor", category="quality")
    body = client.get("/project/issues/backlog").json()
    entry = body["issues_by_key"]["dup_code"]
    assert set(entry) == {"category", "base_severity", "age_in_runs", "age_in_tiers",
                          "first_seen_run_id", "last_seen_run_id", "last_seen_at", "seen_in_tiers",
                          "status"}
    assert entry["category"] == "quality"
    assert entry["base_severity"] == "minor"
    assert (entry["age_in_runs"], entry["age_in_tiers"]) == (1, 1)
    assert entry["first_seen_run_id"] == entry["last_seen_run_id"] == run_id
    assert entry["status"] == "open"
    assert entry["last_seen_at"].endswith("+00:00")


def test_backlog_repeats_in_one_tier_do_not_age(client, start_run, record):
    """Our fix of the reference quirk: ages count distinct runs and tiers, not records."""
    run_id = start_run()
    for _ in range(4):
        assert record(run_id, "F1.1", "same", "minor").status_code == 200
    assert record(run_id, "F1.2", "same", "minor").status_code == 200  # same tier T1
    entry = client.get("/project/issues/backlog").json()["issues_by_key"]["same"]
    assert (entry["age_in_runs"], entry["age_in_tiers"]) == (1, 1)
    assert entry["status"] == "open"


def test_minor_needs_cleanup_after_second_tier(client, start_run, record):
    run_id = start_run()
    first = record(run_id, "F1.1", "spread", "minor").json()["project_backlog_entry"]
    assert first["status"] == "open"
    second = record(run_id, "F2.1", "spread", "minor").json()["project_backlog_entry"]
    assert (second["age_in_runs"], second["age_in_tiers"]) == (1, 2)
    assert second["status"] == "needs_cleanup"
    entry = client.get("/project/issues/backlog").json()["issues_by_key"]["spread"]
    assert entry["status"] == "needs_cleanup"


def test_backlog_ages_count_distinct_runs(client, start_run, record):
    runs = [start_run(f"run-{i}", tiers=1, phases_per_tier=1) for i in range(3)]
    for run_id in runs:
        record(run_id, "F1.1", "recurring", "minor")
        record(run_id, "F1.1", "recurring", "minor")  # twice per run: still one run
    entry = client.get("/project/issues/backlog").json()["issues_by_key"]["recurring"]
    assert entry["age_in_runs"] == 3
    assert entry["first_seen_run_id"] == "run-0"
    assert entry["last_seen_run_id"] == "run-2"
    assert entry["status"] == "needs_cleanup"


def test_major_stays_open_however_old(client, start_run, record):
    runs = [start_run(f"big-{i}") for i in range(3)]
    for run_id in runs:
        for phase in ("F1.1", "F2.1"):
            assert record(run_id, phase, "serious", "major").status_code == 200
    entry = client.get("/project/issues/backlog").json()["issues_by_key"]["serious"]
    assert entry["age_in_runs"] == 3
    assert entry["age_in_tiers"] >= 2
    assert entry["base_severity"] == "major"
    assert entry["status"] == "open"


def test_backlog_spans_runs_while_index_is_per_run(client, start_run, record):
    a, b = start_run("run-a"), start_run("run-b")
    record(a, "F1.1", "only_a")
    record(b, "F1.1", "only_b")
    assert list(client.get(f"/runs/{a}/issues/index").json()["issues_by_key"]) == ["only_a"]
    assert list(client.get(f"/runs/{b}/issues/index").json()["issues_by_key"]) == ["only_b"]
    backlog = client.get("/project/issues/backlog").json()
    assert sorted(backlog["issues_by_key"]) == ["only_a", "only_b"]
    assert backlog["total"] == 2
