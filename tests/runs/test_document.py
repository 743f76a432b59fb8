"""The GET /runs/{run_id} document: SQLite's one-statement rendering equals the Python serializer."""

from __future__ import annotations

import json
import os
import sqlite3

import orjson
import pytest
from sqlalchemy import update

from autopack.core.database import session_scope
from autopack.db.models import Run
from autopack.runs import document, service
from tests.runs.helpers import set_state

ODD_TEXT = 'quote " backslash \\ slash / tab \t newline \n ctrl \x01 \x1f del \x7f </script> é 漢字 🚀 \u202e'


def _both(run_id: str) -> tuple[dict, dict]:
    """(Python serializer, document bytes) for `run_id`, parsed (json: orjson turns 10**30 into a float)."""
    with session_scope(writer=False) as session:
        expected = json.loads(orjson.dumps(service.serialize_run(session, run_id)))
        rendered = json.loads(document.run_document(session, run_id))
    return expected, rendered


def _assert_same(run_id: str) -> dict:
    expected, rendered = _both(run_id)
    assert rendered == expected
    assert list(rendered) == list(expected)  # key order too
    for got, want in zip(rendered["tiers"], expected["tiers"], strict=True):
        assert list(got) == list(want)
    assert json.loads(document.read_run_document(run_id)) == expected  # the read-thread path
    return rendered


def _odd_run() -> dict:
    """Tiers out of order, phases interleaved across tiers, an empty tier, awkward text and JSON."""
    return {
        "run": {"run_id": "odd-run", "safety_profile": "strict"},
        "tiers": [
            {"tier_id": "T-late", "tier_index": 5, "name": ODD_TEXT, "description": ODD_TEXT},
            {"tier_id": "T-early", "tier_index": 1, "name": "early"},
            {"tier_id": "T-empty", "tier_index": 3, "name": "nothing here"},
        ],
        "phases": [
            {"phase_id": "P4", "phase_index": 4, "tier_id": "T-early", "name": "four",
             "description": "", "scope": None},
            {"phase_id": "P0", "phase_index": 0, "tier_id": "T-late", "name": ODD_TEXT,
             "description": ODD_TEXT, "task_category": "docs", "complexity": "high",
             "builder_mode": "tweak",
             "scope": {"paths": ["a/b.py", ODD_TEXT], "nested": {"f": 0.1, "big": 1.5e300, "tiny": 2e-308,
                                                                 "neg": -0.0, "int": 2 ** 62, "huge": 10 ** 30,
                                                                 "t": True, "n": None, "empty": {}},
                       "read_only_context": ["docs/x.md"]},
             "intention_refs": {"success_criteria": [0, 2], "constraints_must": []}},
            {"phase_id": "P2", "phase_index": 2, "tier_id": "T-late", "name": "two", "scope": {}},
            {"phase_id": "P1", "phase_index": 1, "tier_id": "T-early", "name": "one",
             "scope": {"list": [[], [[]], [1, "x", None]]}},
            {"phase_id": "P3", "phase_index": 3, "tier_id": "T-late", "name": "three"},
        ],
    }


def test_sqlite_rendering_equals_the_serializer_for_an_awkward_run(client):
    response = client.post("/runs/start", json=_odd_run())
    assert response.status_code == 201, response.text
    rendered = _assert_same("odd-run")
    assert [p["phase_id"] for p in rendered["phases"]] == ["P0", "P1", "P2", "P3", "P4"]
    assert [t["tier_id"] for t in rendered["tiers"]] == ["T-early", "T-empty", "T-late"]
    assert [[p["phase_id"] for p in t["phases"]] for t in rendered["tiers"]] == [["P1", "P4"], [], ["P0", "P2", "P3"]]
    assert rendered["phases"][0]["name"] == ODD_TEXT
    assert client.get("/runs/odd-run").json() == response.json()


def test_rendering_follows_the_run_through_its_life(client):
    assert client.post("/runs/start", json=_odd_run()).status_code == 201
    for phase_id, state in (("P0", "EXECUTING"), ("P0", "COMPLETE"), ("P1", "FAILED"), ("P2", "SKIPPED")):
        assert set_state(client, "odd-run", phase_id, state).status_code == 200
    _assert_same("odd-run")
    for phase_id in ("P3", "P4"):
        assert set_state(client, "odd-run", phase_id, "COMPLETE").status_code == 200
    rendered = _assert_same("odd-run")
    assert rendered["completed_at"] is not None
    assert client.get("/runs/odd-run").json() == rendered


def test_timestamps_render_like_orjson_with_and_without_microseconds(client):
    from datetime import UTC, datetime

    assert client.post("/runs/start", json=_odd_run()).status_code == 201
    with session_scope() as session:
        session.execute(update(Run).where(Run.id == "odd-run").values(
            created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            started_at=datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=UTC),
            completed_at=datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC),
            failure_reason=ODD_TEXT, debt_status="excess_minor_issues"))
    rendered = _assert_same("odd-run")
    assert rendered["created_at"] == "2026-01-02T03:04:05+00:00"
    assert rendered["started_at"] == "2026-01-02T03:04:05.000060+00:00"
    assert rendered["completed_at"] == "2026-01-02T03:04:05.123000+00:00"


def test_unknown_run_is_not_found_both_ways(client):
    assert client.get("/runs/no-such-run").status_code == 404
    with pytest.raises(Exception, match="not found"):
        document.read_run_document("no-such-run")


@pytest.mark.skipif(os.environ.get("AUTOPACK_TEST_DB", "sqlite") != "sqlite", reason="SQLite read path")
def test_a_sqlite_error_is_503_and_the_next_read_reconnects(client, started_run, monkeypatch):
    real = document._sqlite_document
    calls = []

    def flaky(conn, run_id):
        calls.append(conn)
        if len(calls) == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return real(conn, run_id)

    monkeypatch.setattr(document, "_sqlite_document", flaky)
    first = client.get(f"/runs/{started_run}")
    assert first.status_code == 503
    assert first.headers["retry-after"] == "1"
    assert client.get(f"/runs/{started_run}").status_code == 200
    assert calls[0] is not calls[1]  # the connection that failed was thrown away


def test_an_old_sqlite_library_takes_the_python_serializer(client, started_run, monkeypatch):
    expected = client.get(f"/runs/{started_run}").json()
    monkeypatch.setattr(document, "SQLITE_RENDERS", False)
    monkeypatch.setattr(document, "_sqlite_document", None)  # would fail if it were called
    assert client.get(f"/runs/{started_run}").json() == expected
    assert json.loads(document.read_run_document(started_run)) == expected


@pytest.mark.skipif(os.environ.get("AUTOPACK_TEST_DB", "sqlite") != "postgresql", reason="PostgreSQL read path")
def test_postgresql_reads_the_document_in_one_statement(client, started_run, monkeypatch):
    """The read thread's document comes from the statement alone (its own snapshot), not the serializer."""
    expected = orjson.dumps(_serializer(started_run))
    monkeypatch.setattr(service, "serialize_run", None)  # would fail if it were called
    monkeypatch.setattr(service, "_raw_rows", None)
    assert document.read_run_document(started_run) == expected
    assert client.get(f"/runs/{started_run}").content == expected


def _serializer(run_id: str) -> dict:
    with session_scope(writer=False) as session:
        return service.serialize_run(session, run_id)


def test_rendering_carries_each_phases_results_summary(client):
    """Builder and auditor results with awkward labels and counts: both renderings agree on every summary."""
    assert client.post("/runs/start", json=_odd_run()).status_code == 201
    label = ODD_TEXT[:64]
    for phase_id, attempt in (("P0", 1), ("P0", 2), ("P3", 1)):
        response = client.post(f"/runs/odd-run/phases/{phase_id}/builder_result", json={
            "run_id": "odd-run", "phase_id": phase_id, "status": label, "builder_attempts": attempt,
            "files_changed": [ODD_TEXT, "a.py"], "lines_added": 2**31 - 1, "lines_removed": 0,
            "tokens_used": 2**40})
        assert response.status_code == 200, response.text
    response = client.post("/runs/odd-run/phases/P3/auditor_result", json={
        "run_id": "odd-run", "phase_id": "P3", "review_notes": ODD_TEXT, "recommendation": label,
        "confidence": "", "tokens_used": 5})
    assert response.status_code == 200, response.text
    rendered = _assert_same("odd-run")
    summaries = {p["phase_id"]: p["results_summary"] for p in rendered["phases"]}
    assert (summaries["P0"]["builder_attempts"], summaries["P0"]["builder_status"]) == (2, label)
    assert (summaries["P0"]["lines_added"], summaries["P0"]["builder_tokens"]) == (2**31 - 1, 2**40)
    assert (summaries["P3"]["auditor_verdict"], summaries["P3"]["files_changed"]) == (label, 2)
    assert summaries["P1"] is None and summaries["P0"]["auditor_verdict"] is None
    assert client.get("/runs/odd-run").json() == rendered
