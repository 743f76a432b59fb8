"""The hot reads' one-statement renderings against the Python serializers, run shape by run shape.

On PostgreSQL the statements must give the serializers' bytes exactly; on SQLite (whose JSON columns
come back re-encoded) the same JSON with the same key order. The oracles are `runs.service.serialize_run`,
`operator.service.run_progress` and `list_runs`, and `dashboard.metrics.run_status`.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from autopack.core import database
from autopack.core.database import is_sqlite, session_scope
from autopack.core.responses import FastJSONResponse
from autopack.dashboard import metrics
from autopack.db.models import Phase, Run, Tier
from autopack.operator import progress
from autopack.operator import service as operator
from autopack.runs import document, service
from autopack.runs.document import SQLITE_RENDERS
from tests.conftest import run_payload
from tests.runs.test_document import ODD_TEXT, _odd_run

POSTGRES = os.environ.get("AUTOPACK_TEST_DB", "sqlite") == "postgresql"
BIG = 2**40


@pytest.fixture(autouse=True)
def _statements_render():
    if is_sqlite() and not SQLITE_RENDERS:
        pytest.skip("an old SQLite library renders with the serializers alone")


def _same(rendered: bytes, expected: bytes) -> None:
    """Identical bytes on PostgreSQL; equal JSON in the same key order everywhere."""
    if POSTGRES:
        assert rendered == expected
    got, want = json.loads(rendered), json.loads(expected)
    assert got == want
    assert json.dumps(got) == json.dumps(want)  # key order at every depth


def _check_document(run_id: str) -> dict:
    with session_scope(writer=False) as session:
        expected = orjson.dumps(service.serialize_run(session, run_id))
        _same(document.run_document(session, run_id), expected)
    _same(document.read_run_document(run_id), expected)
    return json.loads(expected)


def _check_progress(run_id: str) -> None:
    with session_scope(writer=False) as session:
        expected = FastJSONResponse(operator.run_progress(session, run_id)).body
    rendered = progress.read_progress(run_id)
    finished = json.loads(expected)["completed_at"] is not None or json.loads(expected)["started_at"] is None
    if finished:  # elapsed_seconds is fixed: the whole answer compares
        _same(rendered, expected)
        return
    got, want = json.loads(rendered), json.loads(expected)
    assert abs(got.pop("elapsed_seconds") - want.pop("elapsed_seconds")) <= 1
    assert json.dumps(got) == json.dumps(want)


def _check_status(run_id: str) -> None:
    one_statement = metrics._sqlite_run_status if is_sqlite() else metrics._postgres_run_status
    with session_scope(writer=False) as session:
        expected = metrics.run_status(session, run_id)
    got = one_statement(run_id)
    assert got == expected
    assert list(got) == list(expected)
    assert json.loads(metrics.read_run_status(run_id)) == json.loads(
        metrics.DashboardRunStatus.model_validate(expected).model_dump_json())


def _check_list() -> None:
    for limit, offset in ((20, 0), (3, 1), (100, 0), (0, -1), (1000, 10**12)):
        with session_scope(writer=False) as session:
            expected = FastJSONResponse(operator.list_runs(session, limit, offset)).body
        _same(progress.read_run_list(limit, offset), expected)


def _check_all(*run_ids: str) -> None:
    for run_id in run_ids:
        _check_document(run_id)
        _check_progress(run_id)
        _check_status(run_id)
    _check_list()


def _start(client, body: dict) -> str:
    response = client.post("/runs/start", json=body)
    assert response.status_code == 201, response.text
    return body["run"]["run_id"]


def _nullable(columns) -> dict:  # noqa: ANN001 - ORM column attributes
    return {c.key: None for c in columns if c.expression.nullable and not c.expression.primary_key}


def test_runs_without_tiers_with_empty_tiers_and_awkward_ones(client):
    bare = _start(client, {"run": {"run_id": "bare"}, "tiers": [], "phases": []})
    empty = _start(client, {"run": {"run_id": "empty-tiers"}, "tiers": [
        {"tier_id": "A", "tier_index": 2, "name": "a"}, {"tier_id": "B", "tier_index": 0, "name": ODD_TEXT}],
        "phases": []})
    odd = _start(client, _odd_run())
    _check_all(bare, empty, odd)
    assert _check_document(bare)["tiers"] == [] and _check_document(empty)["phases"] == []


def test_results_summaries_big_numbers_and_times(client):
    odd = _start(client, _odd_run())
    for phase_id, attempt in (("P0", 1), ("P2", 3)):
        response = client.post(f"/runs/{odd}/phases/{phase_id}/builder_result", json={
            "run_id": odd, "phase_id": phase_id, "status": ODD_TEXT[:64], "builder_attempts": attempt,
            "files_changed": ["a.py"], "lines_added": 2**31 - 1, "lines_removed": 0, "tokens_used": BIG})
        assert response.status_code == 200, response.text
    response = client.post(f"/runs/{odd}/phases/P4/auditor_result", json={
        "run_id": odd, "phase_id": "P4", "review_notes": ODD_TEXT, "recommendation": "approve",
        "confidence": "", "tokens_used": 5})
    assert response.status_code == 200, response.text
    _check_all(odd)
    with session_scope() as session:
        session.execute(update(Phase).where(Phase.run_id == odd).values(
            tokens_used=BIG, incident_token_cap=BIG + 1, last_builder_tokens=BIG))
        session.execute(update(Run).where(Run.id == odd).values(
            tokens_used=BIG, usage_tokens=BIG, token_cap=2**62, budget_hold="tokens", budget_approval_id=7,
            created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            started_at=datetime(2026, 1, 2, 3, 4, 5, 100000, tzinfo=UTC),
            completed_at=datetime(2026, 1, 2, 3, 4, 6, 1, tzinfo=UTC),
            budget_held_at=datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            budget_deadline_at=datetime(2030, 6, 1, tzinfo=UTC), failure_reason=ODD_TEXT, debt_status=ODD_TEXT[:64]))
    _check_all(odd)
    doc = _check_document(odd)
    assert (doc["created_at"], doc["started_at"]) == ("2026-01-02T03:04:05+00:00", "2026-01-02T03:04:05.100000+00:00")
    assert doc["completed_at"] == "2026-01-02T03:04:06.000001+00:00" and doc["tokens_used"] == BIG
    summaries = {p["phase_id"]: p["results_summary"] for p in doc["phases"]}
    assert summaries["P1"] is None and summaries["P4"]["auditor_verdict"] == "approve"
    assert summaries["P2"]["builder_tokens"] == BIG


def test_nulls_in_every_nullable_column(client):
    odd = _start(client, _odd_run())
    plain = _start(client, run_payload("plain", tiers=2, phases_per_tier=3))
    phase_columns = (*service.RESPONSE_PHASE_COLUMNS, *(c for _, c in service.RESULTS_SUMMARY_COLUMNS),
                     *operator._PROGRESS_PHASE_COLUMNS, Phase.quality_level)
    with session_scope() as session:
        session.execute(update(Run).values(**_nullable((*service.RUN_COLUMNS, *operator._PROGRESS_RUN_COLUMNS))))
        session.execute(update(Tier).values(**_nullable(service.TIER_COLUMNS)))
        session.execute(update(Phase).where(Phase.phase_id != "P0")
                        .values({**_nullable(phase_columns), "last_builder_status": ""}))
    _check_all(odd, plain)
    doc = _check_document(odd)
    assert doc["started_at"] is None and doc["budget_deadline_at"] is None
    assert [p["scope"] for p in doc["phases"]][1:] == [None] * 4
    assert all(p["results_summary"] is not None for p in doc["phases"][1:])  # "" is a reported status


def test_the_list_is_newest_first_with_ties_by_id(client):
    from tests.operator.helpers import T0, insert_run, insert_runs

    insert_runs(25)
    for run_id in ("tie-b", "tie-a", "tie-c"):
        insert_run(run_id, phase_states=("COMPLETE", "QUEUED", "SKIPPED"), phase_names=("done", ODD_TEXT),
                   created_at=T0 + timedelta(hours=1))
    _start(client, _odd_run())
    _check_list()
    ids = [r["id"] for r in json.loads(progress.read_run_list(5, 0))["runs"]]
    assert ids[0] == "odd-run" and ids[1:4] == ["tie-c", "tie-b", "tie-a"]
    assert json.loads(progress.read_run_list(5, 0))["runs"][1]["current_phase_name"] == ODD_TEXT


def test_unknown_and_unstorable_run_ids_are_not_found(client):
    for run_id in ("no-such-run", "nul\x00byte"):
        for read in (document.read_run_document, progress.read_progress, metrics.read_run_status):
            with pytest.raises(Exception, match="not found"):
                read(run_id)


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL's own read connection")
def test_a_dropped_connection_is_replaced_and_an_outage_is_503(client, started_run, monkeypatch):
    expected = document.read_run_document(started_run)
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as admin:
        pid = database._postgres_read_connection().info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert document.read_run_document(started_run) == expected  # the held connection was replaced
    assert database._postgres_read_connection().info.backend_pid != pid

    class Down:
        autocommit = True

        def execute(self, *_args):
            raise psycopg.OperationalError("connection refused")

    opened = []

    def down():
        opened.append(Down())
        return opened[-1]

    monkeypatch.setattr(database, "_postgres_read_connection", down)
    for path in (f"/runs/{started_run}", f"/runs/{started_run}/progress", "/runs?limit=20",
                 f"/dashboard/runs/{started_run}/status"):
        response = client.get(path)
        assert response.status_code == 503, (path, response.text)
        assert response.json() == {"detail": "Database unavailable, please retry"}
        assert response.headers["retry-after"] == "1"
    with pytest.raises(OperationalError):
        document.read_run_document(started_run)
    assert opened
    monkeypatch.undo()
    assert client.get(f"/runs/{started_run}").content == expected
