"""The progress answer and the run list are one document, two renderings: the one statement (SQLite's or
PostgreSQL's) equals the service's."""

from __future__ import annotations

import json

import pytest

from autopack.core.database import is_sqlite, session_scope
from autopack.core.responses import FastJSONResponse
from autopack.operator import service
from autopack.operator.progress import read_progress
from autopack.runs.document import SQLITE_RENDERS
from tests.conftest import run_payload
from tests.operator.helpers import insert_run


def _both(run_id: str) -> tuple[dict, dict]:
    with session_scope(writer=False) as session:
        expected = FastJSONResponse(service.run_progress(session, run_id)).body
    return json.loads(read_progress(run_id)), json.loads(expected)


def test_every_shape_renders_the_same(client):
    if is_sqlite() and not SQLITE_RENDERS:
        pytest.skip("an old SQLite library renders with the service")
    payload = run_payload("doc", tiers=2, phases_per_tier=3)
    payload["phases"][0]["name"] = 'quote " back\\slash \u202e emoji \U0001f600 \x01'
    payload["phases"][1]["incident_token_cap"] = 10
    payload["run"]["token_cap"] = 100
    assert client.post("/runs/start", json=payload).status_code == 201
    client.post("/runs/doc/phases/F1.2/update_status", json={"state": "EXECUTING", "tokens_used": 150})
    client.post("/runs/doc/phases/F2.1/update_status", json={"state": "FAILED"})
    insert_run("done", phase_states=("COMPLETE", "SKIPPED", "FAILED"), state="DONE_SUCCESS",
               completed_at=None)
    insert_run("empty")
    for run_id in ("doc", "done", "empty"):
        fast, slow = _both(run_id)
        assert abs((fast.pop("elapsed_seconds") or 0) - (slow.pop("elapsed_seconds") or 0)) <= 1
        assert fast == slow
        assert list(fast) == list(slow)  # key order too
    assert _both("doc")[0]["budget"]["hold"] == "token_cap"


def test_unknown_run_is_404(client):
    response = client.get("/runs/nope/progress")
    assert response.status_code == 404 and response.json() == {"detail": "Run nope not found"}


def test_the_run_list_renders_the_same(client):
    if is_sqlite() and not SQLITE_RENDERS:
        pytest.skip("an old SQLite library renders with the service")
    from autopack.operator.progress import read_run_list
    from tests.operator.helpers import insert_runs

    payload = run_payload("listed", tiers=2, phases_per_tier=3)
    payload["phases"][0]["name"] = 'quote " \\ \U0001f600'
    assert client.post("/runs/start", json=payload).status_code == 201
    client.post("/runs/listed/phases/F1.1/update_status", json={"state": "COMPLETE", "tokens_used": 5})
    insert_run("all-done", phase_states=("COMPLETE", "SKIPPED"), state="DONE_SUCCESS")
    insert_runs(30)
    for limit, offset in ((20, 0), (5, 3), (100, 0), (0, -4), (1000, 10**12), (20, 31)):
        with session_scope(writer=False) as session:
            expected = FastJSONResponse(service.list_runs(session, limit, offset)).body
        assert read_run_list(limit, offset) == expected, (limit, offset)
