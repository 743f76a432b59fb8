"""GET /runs: clamped pagination, totals, newest-first order, phase counts, bounded query count."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from autopack.core import database
from tests.conftest import run_payload
from tests.operator.helpers import T0, insert_run, insert_runs
from tests.runs.helpers import set_state

SUMMARY_KEYS = {"id", "state", "created_at", "started_at", "completed_at", "tokens_used", "token_cap",
                "phases_total", "phases_completed", "phases_in_progress", "phases_pending",
                "phases_failed", "phases_skipped", "current_phase_name"}


def test_empty_list(client):
    response = client.get("/runs")
    assert response.status_code == 200
    assert response.json() == {"runs": [], "total": 0, "limit": 20, "offset": 0}


def test_default_page_is_twenty_newest_first_with_total(client):
    ids = insert_runs(25)
    body = client.get("/runs").json()
    assert body["total"] == 25
    assert body["limit"] == 20 and body["offset"] == 0
    assert [r["id"] for r in body["runs"]] == list(reversed(ids))[:20]


def test_offset_pages_through_without_overlap(client):
    ids = insert_runs(7)
    seen = []
    for offset in range(0, 7, 3):
        body = client.get(f"/runs?limit=3&offset={offset}").json()
        assert body["total"] == 7 and body["limit"] == 3 and body["offset"] == offset
        seen += [r["id"] for r in body["runs"]]
    assert seen == list(reversed(ids))
    past = client.get("/runs?limit=3&offset=50").json()
    assert past["runs"] == [] and past["total"] == 7


@pytest.mark.parametrize("query, limit, offset", [
    ("limit=0", 1, 0), ("limit=-5", 1, 0), ("limit=500", 100, 0), ("limit=100", 100, 0),
    ("limit=1", 1, 0), ("offset=-3", 20, 0), ("limit=0&offset=-1", 1, 0),
    ("offset=99999999999999999999", 20, 2**31 - 1),
])
def test_out_of_range_values_are_clamped_as_the_reference_does(client, query, limit, offset):
    insert_runs(3)
    response = client.get(f"/runs?{query}")
    assert response.status_code == 200
    body = response.json()
    assert (body["limit"], body["offset"]) == (limit, offset)
    assert len(body["runs"]) == min(limit, max(0, 3 - offset))


def test_limit_above_100_returns_at_most_100(client):
    insert_runs(130)
    body = client.get("/runs?limit=1000").json()
    assert body["limit"] == 100 and len(body["runs"]) == 100 and body["total"] == 130


@pytest.mark.parametrize("query", ["limit=abc", "offset=1.5", "limit=", "offset=x"])
def test_non_integers_are_422(client, query):
    assert client.get(f"/runs?{query}").status_code == 422


def test_equal_timestamps_have_a_stable_order_by_id(client):
    for run_id in ("b", "a", "c"):
        insert_run(run_id, created_at=T0)
    insert_run("older", created_at=T0 - timedelta(days=1))
    expected = ["c", "b", "a", "older"]
    assert [r["id"] for r in client.get("/runs").json()["runs"]] == expected
    pages = [client.get(f"/runs?limit=1&offset={i}").json()["runs"][0]["id"] for i in range(4)]
    assert pages == expected


def test_summary_fields_and_phase_counts(client):
    insert_run("mixed", phase_states=("COMPLETE", "COMPLETE", "SKIPPED", "GATE", "EXECUTING", "QUEUED",
                                      "FAILED", "CI_RUNNING"),
               phase_names=("a", "b", "c", "the gate one"), tokens_used=77)
    insert_run("bare", created_at=T0 - timedelta(hours=1))
    runs = {r["id"]: r for r in client.get("/runs").json()["runs"]}
    mixed = runs["mixed"]
    assert set(mixed) == SUMMARY_KEYS
    assert mixed["state"] == "RUN_CREATED"
    assert mixed["tokens_used"] == 77 and mixed["token_cap"] == 1000
    assert mixed["phases_total"] == 8
    assert mixed["phases_completed"] == 2
    assert mixed["phases_in_progress"] == 3  # EXECUTING, GATE, CI_RUNNING
    assert mixed["phases_pending"] == 1
    assert mixed["phases_failed"] == 1 and mixed["phases_skipped"] == 1
    assert mixed["current_phase_name"] == "the gate one"  # first by index not COMPLETE/SKIPPED
    bare = runs["bare"]
    assert bare["phases_total"] == 0 and bare["current_phase_name"] is None
    assert bare["completed_at"] is None


def test_current_phase_is_none_when_everything_is_done(client):
    insert_run("done", phase_states=("COMPLETE", "SKIPPED"), state="DONE_SUCCESS", completed_at=T0)
    run = client.get("/runs").json()["runs"][0]
    assert run["current_phase_name"] is None
    assert run["phases_completed"] == 1 and run["phases_skipped"] == 1


def test_timestamps_carry_their_utc_offset(client):
    insert_run("t", completed_at=T0 + timedelta(minutes=5))
    run = client.get("/runs").json()["runs"][0]
    for key in ("created_at", "started_at", "completed_at"):
        parsed = datetime.fromisoformat(run[key])
        assert parsed.utcoffset() == timedelta(0), key
    assert datetime.fromisoformat(run["completed_at"]) == T0 + timedelta(minutes=5)


def test_runs_started_through_the_api_are_listed_with_their_progress(client, started_run):
    assert set_state(client, started_run, "F1.1", "COMPLETE").status_code == 200
    assert set_state(client, started_run, "F1.2", "EXECUTING").status_code == 200
    run = client.get("/runs").json()["runs"][0]
    assert run["id"] == started_run
    assert (run["phases_total"], run["phases_completed"], run["phases_in_progress"], run["phases_pending"]) == \
        (4, 1, 1, 2)
    assert run["current_phase_name"] == "Phase 1.2"
    assert run["state"] == "PHASE_EXECUTION"


def _statements_during(client, url: str) -> int:
    count = 0

    def counter(*_args, **_kwargs):
        nonlocal count
        count += 1

    engine = database.get_engine()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return count


def test_query_count_does_not_grow_with_the_page(client):
    for i in range(30):
        insert_run(f"n{i:02d}", created_at=T0 + timedelta(seconds=i), phase_states=("COMPLETE", "QUEUED"))
    small = _statements_during(client, "/runs?limit=1")
    large = _statements_during(client, "/runs?limit=30")
    assert small == large
    assert large <= 6  # count, page, grouped phase counts, current phases (+ transaction bookkeeping)


def test_list_has_no_side_effects_on_disk(client, runs_dir):
    insert_runs(3)
    assert client.get("/runs").status_code == 200
    assert not runs_dir.exists()


def test_list_does_not_shadow_run_lifecycle_routes(client):
    assert client.post("/runs/start", json=run_payload("x-1")).status_code == 201
    assert client.get("/runs/x-1").status_code == 200
    assert client.get("/runs").json()["total"] == 1
