"""GET /runs/{run_id}/progress: keys, buckets, phase order, elapsed time that stops at completion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from autopack.db.base import utcnow
from autopack.operator.service import elapsed_seconds
from tests.operator.helpers import T0, insert_run
from tests.runs.helpers import set_state

PROGRESS_KEYS = {"run_id", "state", "started_at", "completed_at", "elapsed_seconds", "tokens_used", "token_cap",
                 "phases_total", "phases_completed", "phases_in_progress", "phases_pending", "phases_failed",
                 "phases_skipped", "phases", "budget"}
PHASE_KEYS = {"phase_id", "name", "state", "phase_index", "tokens_used", "builder_attempts", "incident_token_cap"}


def test_unknown_run_is_404_with_the_reference_message(client):
    response = client.get("/runs/nope/progress")
    assert response.status_code == 404
    assert response.json() == {"detail": "Run nope not found"}


def test_progress_of_a_started_run(client, started_run):
    set_state(client, started_run, "F1.1", "COMPLETE", tokens_used=120, builder_attempts=2)
    set_state(client, started_run, "F1.2", "EXECUTING")
    set_state(client, started_run, "F2.1", "GATE")
    body = client.get(f"/runs/{started_run}/progress").json()
    assert set(body) == PROGRESS_KEYS
    assert body["run_id"] == started_run and body["state"] == "PHASE_EXECUTION"
    assert (body["phases_total"], body["phases_completed"], body["phases_in_progress"],
            body["phases_pending"], body["phases_failed"], body["phases_skipped"]) == (4, 1, 2, 1, 0, 0)
    assert body["tokens_used"] == 120 and body["token_cap"] == 5_000_000
    assert [p["phase_id"] for p in body["phases"]] == ["F1.1", "F1.2", "F2.1", "F2.2"]
    assert set(body["phases"][0]) == PHASE_KEYS
    assert body["phases"][0] == {"phase_id": "F1.1", "name": "Phase 1.1", "state": "COMPLETE", "phase_index": 0,
                                 "tokens_used": 120, "builder_attempts": 2, "incident_token_cap": None}
    assert body["budget"]["hold"] is None and body["budget"]["phases_started"] == 3
    assert body["budget"]["tokens_counted"] == 120 and body["budget"]["max_phases"] == 25
    assert body["completed_at"] is None
    assert 0 <= body["elapsed_seconds"] <= 60
    assert datetime.fromisoformat(body["started_at"]).utcoffset() == timedelta(0)


def test_phases_are_ordered_by_index_not_by_insertion(client):
    insert_run("ordered", phase_states=("QUEUED",) * 3, phase_names=("zero", "one", "two"))
    body = client.get("/runs/ordered/progress").json()
    assert [p["phase_index"] for p in body["phases"]] == [0, 1, 2]
    assert [p["name"] for p in body["phases"]] == ["zero", "one", "two"]


def test_elapsed_grows_while_the_run_is_open(client):
    insert_run("open", started_at=utcnow() - timedelta(seconds=100), phase_states=("QUEUED",))
    elapsed = client.get("/runs/open/progress").json()["elapsed_seconds"]
    assert 100 <= elapsed <= 130


def test_elapsed_stops_at_completed_at(client):
    insert_run("closed", started_at=T0, completed_at=T0 + timedelta(seconds=3723), state="DONE_SUCCESS",
               phase_states=("COMPLETE",))
    first = client.get("/runs/closed/progress").json()
    assert first["elapsed_seconds"] == 3723
    assert datetime.fromisoformat(first["completed_at"]) == T0 + timedelta(seconds=3723)
    assert client.get("/runs/closed/progress").json()["elapsed_seconds"] == 3723


def test_a_run_finished_through_the_api_stops_its_clock(client, started_run):
    for phase in ("F1.1", "F1.2", "F2.1"):
        set_state(client, started_run, phase, "COMPLETE")
    set_state(client, started_run, "F2.2", "FAILED")
    body = client.get(f"/runs/{started_run}/progress").json()
    assert body["state"] == "DONE_FAILED_REQUIRES_HUMAN_REVIEW"
    assert body["completed_at"] is not None
    started = datetime.fromisoformat(body["started_at"])
    completed = datetime.fromisoformat(body["completed_at"])
    assert body["elapsed_seconds"] == int((completed - started).total_seconds())
    assert (body["phases_completed"], body["phases_failed"], body["phases_pending"]) == (3, 1, 0)


def test_elapsed_seconds_rules():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert elapsed_seconds(None, None) is None
    assert elapsed_seconds(start, start + timedelta(seconds=9.9)) == 9
    assert elapsed_seconds(start, None, now=start + timedelta(minutes=2)) == 120
    assert elapsed_seconds(start, start - timedelta(seconds=5)) == 0  # clock skew never goes negative


def test_run_without_start_time(client):
    insert_run("unstarted", started_at=None)
    body = client.get("/runs/unstarted/progress").json()
    assert body["started_at"] is None and body["elapsed_seconds"] is None
    assert body["phases"] == [] and body["phases_total"] == 0
