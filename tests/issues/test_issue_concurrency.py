"""Concurrent record_issue calls: no lost updates, no duplicate rows, no 500s (both databases)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.db.models import PhaseIssue, ProjectIssueBacklog, RunIssueIndex


def test_same_key_same_phase_concurrently(start_run, record):
    run_id = start_run()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: record(run_id, "F1.1", "racy", "minor").status_code, range(16)))
    assert statuses == [200] * 16
    with session_scope(writer=False) as session:
        [issue] = session.scalars(select(PhaseIssue).where(PhaseIssue.run_id == run_id)).all()
        assert issue.occurrence_count == 16
        [entry] = session.scalars(select(RunIssueIndex).where(RunIssueIndex.run_id == run_id)).all()
        assert entry.occurrence_count == 16


def test_same_key_many_runs_concurrently(client, start_run, record):
    runs = [start_run(f"par-{i}", tiers=1, phases_per_tier=1) for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda r: record(r, "F1.1", "fleet_wide", "major").status_code, runs * 2))
    assert statuses == [200] * 12
    with session_scope(writer=False) as session:
        [backlog] = session.scalars(select(ProjectIssueBacklog)).all()
        assert backlog.occurrence_count == 12
        assert sorted(backlog.seen_in_runs) == sorted(runs)
    entry = client.get("/project/issues/backlog").json()["issues_by_key"]["fleet_wide"]
    assert entry["age_in_runs"] == 6
    assert entry["age_in_tiers"] == 6
    assert entry["status"] == "open"
