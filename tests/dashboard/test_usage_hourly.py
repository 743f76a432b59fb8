"""GET /dashboard/usage from the hourly totals: the same answer as a sum over the raw events.

The oracle is the endpoint's earlier computation (one index range of raw events per pair), kept here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from autopack.core.database import session_scope
from autopack.core.settings import get_settings
from autopack.dashboard import metrics
from autopack.db.models import LlmUsageEvent
from tests.dashboard.helpers import usage

NOW = datetime(2026, 5, 20, 14, 23, 45, 678901, tzinfo=UTC)  # mid-hour: every window starts mid-hour


def _oracle(period: str, limit: int, offset: int) -> dict:
    """The earlier GET /dashboard/usage: raw events since `period` ago, per (provider, model)."""
    since = NOW - metrics.PERIODS.get(period, metrics.PERIODS["week"])
    e = LlmUsageEvent
    with session_scope(writer=False) as session:
        pair = select(e.provider, e.model).order_by(e.provider, e.model).limit(1)
        pairs, row = [], session.execute(pair).first()
        while row is not None:
            pairs.append((row.provider, row.model))
            row = (session.execute(pair.where(e.provider == row.provider, e.model > row.model)).first()
                   or session.execute(pair.where(e.provider > row.provider)).first())
        sums = select(func.sum(e.total_tokens), func.sum(e.prompt_tokens), func.sum(e.completion_tokens))
        by_model = []
        for provider, model in pairs:
            total, prompt, completion = session.execute(
                sums.where(e.provider == provider, e.model == model, e.created_at >= since)).one()
            if total is not None:
                by_model.append((provider, model, int(total), int(prompt or 0), int(completion or 0)))
    by_provider: dict[str, list[int]] = {}
    for provider, _, total, prompt, completion in by_model:
        s = by_provider.setdefault(provider, [0, 0, 0])
        s[0] += total
        s[1] += prompt
        s[2] += completion
    cap = get_settings().run_token_cap
    providers = [{"provider": p, "period": period, "prompt_tokens": pr, "completion_tokens": c,
                  "total_tokens": t, "cap_tokens": cap, "percent_of_cap": t / cap * 100}
                 for p, (t, pr, c) in by_provider.items()]
    models = [{"provider": p, "model": m, "prompt_tokens": pr, "completion_tokens": c, "total_tokens": t}
              for p, m, t, pr, c in by_model]
    return {"providers": providers[offset:offset + limit], "models": models[offset:offset + limit]}


def _at(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture
def frozen(monkeypatch):
    """The endpoint's clock stopped at NOW."""
    monkeypatch.setattr(metrics, "utcnow", lambda: NOW)


def _seed(client, run_id: str) -> None:
    events, n = [], 0
    for period in (timedelta(days=1), timedelta(weeks=1), timedelta(days=30)):
        since = NOW - period
        first_hour = since.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        # around the window's start, inside its partial first hour, at the first whole hour and after
        for moment in (since - timedelta(microseconds=1), since, since + timedelta(microseconds=1),
                       first_hour - timedelta(microseconds=1), first_hour, first_hour + timedelta(minutes=7),
                       since - timedelta(hours=1), since + timedelta(hours=5, minutes=3)):
            n += 1
            split = {} if n % 4 == 0 else {"prompt_tokens": n * 3, "completion_tokens": None if n % 5 == 0 else n}
            events.append({"provider": ("openai", "anthropic", "Zeta", "mistral")[n % 4],
                           "model": ("m-a", "m-B", "m-c")[n % 3], "role": "builder",
                           "total_tokens": 1000 + n, **split, "created_at": _at(moment)})
    # only inside one partial first hour: a pair the whole hours of that window never see
    events.append({"provider": "late", "model": "only-head", "role": "builder", "total_tokens": 5,
                   "created_at": _at(NOW - timedelta(days=30) + timedelta(minutes=10))})
    # dated in the future (counted, as the window has no upper bound), and long ago (never counted)
    events.append({"provider": "openai", "model": "m-a", "role": "builder", "total_tokens": 77,
                   "created_at": _at(NOW + timedelta(days=3))})
    events.append({"provider": "openai", "model": "m-a", "role": "builder", "total_tokens": 99,
                   "created_at": _at(NOW - timedelta(days=400))})
    usage(client, run_id, *events[: len(events) // 2])
    usage(client, run_id, *events[len(events) // 2:])


@pytest.mark.parametrize("period", ["day", "week", "month", "fortnight"])
def test_answer_equals_the_sum_over_raw_events(client, started_run, frozen, period):
    _seed(client, started_run)
    for limit, offset in ((1000, 0), (2, 1), (1, 4), (3, 100)):
        expected = _oracle(period, limit, offset)
        body = client.get(f"/dashboard/usage?period={period}&limit={limit}&offset={offset}").json()
        assert body == expected
    assert _oracle(period, 1000, 0)["models"]  # the windows are not empty


def test_partial_hour_is_exact(client, started_run, frozen):
    since = NOW - timedelta(days=1)
    usage(client, started_run,
          {"provider": "p", "model": "m", "role": "b", "total_tokens": 1,
           "created_at": _at(since - timedelta(microseconds=1))},
          {"provider": "p", "model": "m", "role": "b", "total_tokens": 10, "created_at": _at(since)},
          {"provider": "p", "model": "m", "role": "b", "total_tokens": 100,
           "created_at": _at(since.replace(minute=0, second=0, microsecond=0))})
    assert client.get("/dashboard/usage?period=day").json()["providers"][0]["total_tokens"] == 10
