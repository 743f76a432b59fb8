"""llm_usage_hourly: the per-hour totals kept in step with llm_usage_events, in the same transaction."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from autopack.core.database import session_scope
from autopack.db.models import LlmUsageEvent
from autopack.db.models.usage import LlmUsageHourly
from autopack.usage import service
from autopack.usage.schemas import UsageBatch
from tests.conftest import run_payload

BASE = datetime(2026, 3, 4, 10, 59, 59, 999999, tzinfo=UTC)


def _event(provider="openai", model="gpt-4o", **extra) -> dict:
    return {"provider": provider, "model": model, "role": "builder", **extra}


def _post(client, run_id: str, *events: dict) -> None:
    response = client.post(f"/runs/{run_id}/usage", json={"events": list(events)})
    assert response.status_code == 201, response.text


def _grouped_events() -> dict:
    """GROUP BY (provider, model, hour) over the raw events, with NULL splits as zero."""
    sums: dict = defaultdict(lambda: [0, 0, 0, 0])
    with session_scope(writer=False) as session:
        for e in session.scalars(select(LlmUsageEvent)):
            hour = e.created_at.replace(minute=0, second=0, microsecond=0)
            acc = sums[(e.provider, e.model, hour)]
            acc[0] += e.total_tokens
            acc[1] += e.prompt_tokens or 0
            acc[2] += e.completion_tokens or 0
            acc[3] += 1
    return {k: tuple(v) for k, v in sums.items()}


def _hourly() -> dict:
    with session_scope(writer=False) as session:
        return {(h.provider, h.model, h.hour): (int(h.total_tokens), int(h.prompt_tokens),
                                                 int(h.completion_tokens), h.events)
                for h in session.scalars(select(LlmUsageHourly))}


def test_hourly_totals_equal_a_group_by_over_the_events(client, started_run):
    _post(client, started_run,
          _event(total_tokens=100, prompt_tokens=60, completion_tokens=40, created_at=BASE.isoformat()),
          _event(total_tokens=7, created_at=(BASE + timedelta(microseconds=1)).isoformat()),  # the next hour
          _event(total_tokens=5, prompt_tokens=5, completion_tokens=None, created_at=BASE.isoformat()),
          _event("anthropic", "claude", total_tokens=11, created_at="2026-03-04T12:30:00+02:00"),  # 10:30 UTC
          _event("anthropic", "claude", total_tokens=13, created_at="2026-03-04T10:00:00"),  # naive is UTC
          _event("anthropic", "claude-haiku", prompt_tokens=3, completion_tokens=4),  # now; total derived
          *[_event(f"p{i % 3}", f"m{i % 4}", total_tokens=i, prompt_tokens=i // 2,
                   created_at=(BASE - timedelta(minutes=37 * i)).isoformat()) for i in range(60)])
    # the same hours again from a second batch: the rows are added to, not duplicated
    _post(client, started_run,
          _event(total_tokens=1000, prompt_tokens=1, completion_tokens=2, created_at=BASE.isoformat()),
          _event("anthropic", "claude", total_tokens=17, completion_tokens=9,
                 created_at="2026-03-04T10:59:59.999999Z"),
          _event("p0", "m0", total_tokens=19, created_at=(BASE - timedelta(days=40)).isoformat()))

    hourly = _hourly()
    assert hourly == _grouped_events()
    assert hourly[("openai", "gpt-4o", datetime(2026, 3, 4, 10, tzinfo=UTC))] == (1105, 66, 42, 3)
    assert hourly[("anthropic", "claude", datetime(2026, 3, 4, 10, tzinfo=UTC))] == (41, 0, 9, 3)
    assert hourly[("openai", "gpt-4o", datetime(2026, 3, 4, 11, tzinfo=UTC))] == (7, 0, 0, 1)


def test_a_refused_batch_leaves_no_totals(client, started_run):
    response = client.post(f"/runs/{started_run}/usage",
                           json={"events": [_event(total_tokens=5), _event(phase_id="NOPE")]})
    assert response.status_code == 400
    assert _hourly() == {}


def test_concurrent_batches_lose_no_increment(client):
    """Writers for different runs upsert the same (provider, model, hour) rows at the same time."""
    runs = [f"hourly-{i}" for i in range(6)]
    for run_id in runs:
        assert client.post("/runs/start", json=run_payload(run_id, 1, 1)).status_code == 201
    hours = [(BASE - timedelta(hours=h)).isoformat() for h in range(4)]
    # Every batch touches every key, in an order of its own; sorted upserts must not deadlock.
    batches = {run_id: UsageBatch(events=[
        _event(f"p{k % 2}", f"m{k // 2 % 3}", total_tokens=1, prompt_tokens=1, created_at=hours[k // 6])
        for k in (range(24) if n % 2 else reversed(range(24)))]) for n, run_id in enumerate(runs)}
    rounds, errors = 5, []
    barrier = threading.Barrier(len(runs))

    def writer(run_id: str) -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                with session_scope() as session:
                    service.record_usage(session, run_id, batches[run_id])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(run_id,)) for run_id in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    hourly = _hourly()
    assert hourly == _grouped_events()
    assert len(hourly) == 24  # 2 providers x 3 models x 4 hours, one event each per batch
    assert sum(v[3] for v in hourly.values()) == len(runs) * rounds * 24
    assert {v[0] for v in hourly.values()} == {len(runs) * rounds}
