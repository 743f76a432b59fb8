"""Migration 0020 fills llm_usage_hourly from the stored events; the application then adds to the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from autopack.core.migrate import upgrade
from autopack.db.base import UTCDateTime
from autopack.db.models.usage import LlmUsageHourly
from autopack.usage.service import add_hourly_totals

T0 = datetime(2026, 2, 3, 4, 0, 0, tzinfo=UTC)
TS = UTCDateTime(timezone=True)
events = sa.table("llm_usage_events", *(sa.column(n) for n in (
    "provider", "model", "role", "total_tokens", "prompt_tokens", "completion_tokens", "is_doctor_call")),
    sa.column("created_at", TS))


@pytest.fixture
def engine(scratch_engine):
    """A database of its own (the session's database is already at the newest revision)."""
    return scratch_engine


def _row(provider, model, moment, total, prompt=None, completion=None) -> dict:
    return {"provider": provider, "model": model, "role": "builder", "total_tokens": total,
            "prompt_tokens": prompt, "completion_tokens": completion, "is_doctor_call": False,
            "created_at": moment}


def _hourly(engine) -> dict:
    with engine.connect() as conn:
        return {(r.provider, r.model, r.hour): (int(r.total_tokens), int(r.prompt_tokens),
                                                 int(r.completion_tokens), r.events)
                for r in conn.execute(sa.select(LlmUsageHourly))}


def test_backfill_groups_the_events_by_hour(engine):
    upgrade(engine, "0018")
    with engine.begin() as conn:
        conn.execute(events.insert(), [
            _row("openai", "gpt", T0, 10, 6, 4),
            _row("openai", "gpt", T0 + timedelta(minutes=59, seconds=59, microseconds=999999), 20, 5),
            _row("openai", "gpt", T0 + timedelta(hours=1), 40, None, 7),
            _row("openai", "gpt", T0 - timedelta(microseconds=1), 80),
            _row("anthropic", "claude", T0 + timedelta(minutes=30), 160, 100, 60),
        ])

    upgrade(engine, "0020")

    hour = T0
    assert _hourly(engine) == {
        ("openai", "gpt", hour): (30, 11, 4, 2),
        ("openai", "gpt", hour + timedelta(hours=1)): (40, 0, 7, 1),
        ("openai", "gpt", hour - timedelta(hours=1)): (80, 0, 0, 1),
        ("anthropic", "claude", hour): (160, 100, 60, 1),
    }
    # The application's own buckets are the backfilled keys (same stored form): it adds, never duplicates.
    with Session(engine) as session:
        add_hourly_totals(session, [_row("openai", "gpt", T0 + timedelta(minutes=5), 1, 1, 1)])
        session.commit()
    assert _hourly(engine)[("openai", "gpt", hour)] == (31, 12, 5, 3)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM llm_usage_hourly")).scalar() == 4
        if engine.dialect.name == "sqlite":  # the text SQLAlchemy writes, so keys compare as text
            assert conn.execute(sa.text("SELECT MIN(hour) FROM llm_usage_hourly")).scalar() == \
                "2026-02-03 03:00:00.000000"


def test_backfill_of_an_empty_table(engine):
    upgrade(engine, "0020")
    assert _hourly(engine) == {}
