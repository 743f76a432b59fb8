"""POST /runs/{run_id}/usage: batches of LLM usage events stored in llm_usage_events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from autopack.core.database import session_scope
from autopack.db.models import LlmUsageEvent


def _event(**overrides) -> dict:
    return {"provider": "openai", "model": "gpt-4o", "role": "builder", **overrides}


def _rows(run_id: str | None = None) -> list[LlmUsageEvent]:
    with session_scope(writer=False) as session:
        stmt = select(LlmUsageEvent).order_by(LlmUsageEvent.id)
        if run_id is not None:
            stmt = stmt.where(LlmUsageEvent.run_id == run_id)
        return list(session.scalars(stmt))


def _count() -> int:
    with session_scope(writer=False) as session:
        return session.scalar(select(func.count()).select_from(LlmUsageEvent))


def test_batch_is_stored(client, started_run):
    stamp = "2026-01-10T12:00:00+00:00"
    events = [
        _event(phase_id="F1.1", prompt_tokens=1000, completion_tokens=200, total_tokens=1200),
        _event(provider="anthropic", model="claude", role="auditor", total_tokens=500),
        _event(role="doctor", is_doctor_call=True, doctor_model="cheap", doctor_action="retry",
               total_tokens=50, created_at=stamp),
    ]
    response = client.post(f"/runs/{started_run}/usage", json={"events": events})
    assert response.status_code == 201, response.text
    assert response.json() == {"run_id": started_run, "recorded": 3, "total_tokens": 1750}

    rows = _rows(started_run)
    assert len(rows) == 3
    first, second, third = rows
    assert (first.provider, first.model, first.role, first.phase_id) == ("openai", "gpt-4o", "builder", "F1.1")
    assert (first.prompt_tokens, first.completion_tokens, first.total_tokens) == (1000, 200, 1200)
    assert first.is_doctor_call is False and first.doctor_model is None
    assert (second.provider, second.role, second.phase_id, second.total_tokens) == ("anthropic", "auditor", None, 500)
    assert second.prompt_tokens is None and second.completion_tokens is None
    assert (third.is_doctor_call, third.doctor_model, third.doctor_action) == (True, "cheap", "retry")
    assert third.created_at == datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert abs(first.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert all(r.run_id == started_run for r in rows)


def test_total_tokens_derived_from_split(client, started_run):
    events = [_event(prompt_tokens=300, completion_tokens=45),
              _event(prompt_tokens=10, total_tokens=0),
              _event(completion_tokens=7),
              _event(prompt_tokens=5, completion_tokens=5, total_tokens=99)]
    response = client.post(f"/runs/{started_run}/usage", json={"events": events})
    assert response.status_code == 201, response.text
    assert response.json()["total_tokens"] == 345 + 10 + 7 + 99
    assert [r.total_tokens for r in _rows(started_run)] == [345, 10, 7, 99]


def test_maximum_batch_of_1000(client, started_run):
    events = [_event(total_tokens=i) for i in range(1000)]
    response = client.post(f"/runs/{started_run}/usage", json={"events": events})
    assert response.status_code == 201, response.text
    assert response.json()["recorded"] == 1000
    assert response.json()["total_tokens"] == sum(range(1000))
    assert _count() == 1000


@pytest.mark.parametrize("body", [
    {"events": []},
    {"events": [_event()] * 1001},
    {},
    [],
    {"events": [_event()], "extra": 1},
    {"events": [_event(unexpected="x")]},
    {"events": [_event(total_tokens=-1)]},
    {"events": [_event(prompt_tokens=-5)]},
    {"events": [_event(completion_tokens=-5)]},
    {"events": [_event(total_tokens=2**63)]},
    {"events": [_event(total_tokens="lots")]},
    {"events": [_event(total_tokens=1.5)]},
    {"events": [{"model": "m", "role": "builder"}]},
    {"events": [_event(provider="")]},
    {"events": [_event(role=None)]},
    {"events": [_event(doctor_model="medium")]},
    {"events": [_event(phase_id="../etc")]},
    {"events": [_event(created_at="yesterday")]},
    {"events": "not-a-list"},
])
def test_invalid_batches_are_422_and_store_nothing(client, started_run, body):
    response = client.post(f"/runs/{started_run}/usage", json=body)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)
    assert _count() == 0


def test_unknown_run_is_404(client):
    response = client.post("/runs/ghost/usage", json={"events": [_event()]})
    assert response.status_code == 404
    assert response.json() == {"detail": "Run ghost not found"}
    assert _count() == 0


def test_unknown_phase_is_400_and_nothing_stored(client, started_run):
    events = [_event(phase_id="F1.1"), _event(phase_id="NOPE"), _event(phase_id="ALSO-NOPE")]
    response = client.post(f"/runs/{started_run}/usage", json={"events": events})
    assert response.status_code == 400
    assert response.json() == {"detail": f"Unknown phase_id for run {started_run}: ALSO-NOPE, NOPE"}
    assert _count() == 0


def test_phase_of_another_run_is_unknown(client, started_run):
    other = {"run": {"run_id": "other-run"},
             "tiers": [{"tier_id": "T1", "tier_index": 0, "name": "t"}],
             "phases": [{"phase_id": "ONLY-OTHER", "phase_index": 0, "tier_id": "T1", "name": "p"}]}
    assert client.post("/runs/start", json=other).status_code == 201
    response = client.post(f"/runs/{started_run}/usage", json={"events": [_event(phase_id="ONLY-OTHER")]})
    assert response.status_code == 400
    assert _count() == 0


def test_batches_accumulate(client, started_run):
    for _ in range(3):
        assert client.post(f"/runs/{started_run}/usage",
                           json={"events": [_event(total_tokens=10)]}).status_code == 201
    assert [r.total_tokens for r in _rows(started_run)] == [10, 10, 10]


def test_production_requires_api_key(monkeypatch, make_client, started_run):
    monkeypatch.setenv("AUTOPACK_ENV", "production")
    monkeypatch.setenv("AUTOPACK_API_KEY", "usage-key-123456")
    client = make_client()
    body = {"events": [_event(total_tokens=1)]}
    response = client.post(f"/runs/{started_run}/usage", json=body)
    assert response.status_code == 403
    assert _count() == 0
    response = client.post(f"/runs/{started_run}/usage", json=body,
                           headers={"X-API-Key": "usage-key-123456"})
    assert response.status_code == 201
    assert _count() == 1


@pytest.mark.parametrize("field", ["provider", "model", "role", "doctor_action", "phase_id"])
@pytest.mark.parametrize("bad", ["\\u0000", pytest.param("\\ud800")])
def test_unstorable_text_is_422_on_both_databases(client, started_run, field, bad):
    raw = '{"events": [{"provider": "p", "model": "m", "role": "r", "' + field + '": "x' + bad + 'y"}]}'
    response = client.post(f"/runs/{started_run}/usage", content=raw.encode(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert _count() == 0


def test_impossible_run_id_is_422(client):
    response = client.post("/runs/a%00b/usage", json={"events": [_event()]})
    assert response.status_code == 422
    assert _count() == 0
