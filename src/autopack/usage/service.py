"""Store executor telemetry through the API instead of direct database writes."""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from autopack.budget import service as budget
from autopack.core.errors import BadRequest, NotFound
from autopack.db.base import utcnow
from autopack.db.models import LlmUsageEvent, Phase, Phase6Metrics, Run, TokenEfficiencyMetrics
from autopack.db.models.usage import LlmUsageHourly
from autopack.db.records import Record
from autopack.usage.schemas import PhaseMetricsIn, UsageBatch, is_storable

MAX_COUNTED_TOKENS = 2**62
SQLITE_MAX_INT = 2**63 - 1
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_RUNS = Run.__table__
# The hot path in Core statements built once: the run's row (locked on PostgreSQL), the phases named,
# the events inserted in one executemany.
_LOCK_RUN = select(_RUNS).where(_RUNS.c.id == bindparam("run_id")).with_for_update()
_KNOWN_PHASES = select(Phase.phase_id).where(
    Phase.run_id == bindparam("run_id"), Phase.phase_id.in_(bindparam("phase_ids", expanding=True)))
_INSERT_EVENTS = insert(LlmUsageEvent.__table__)
_HOURLY_COLUMNS = ("provider", "model", "hour", "total_tokens", "prompt_tokens", "completion_tokens", "events")


def usage_hour(moment: datetime) -> datetime:
    """The hour bucket of an event: its created_at in UTC (naive means UTC), truncated to the hour."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _sqlite_int(value: int) -> int | float:
    # SQLite turns a sum past 64 bits into a REAL; the dashboard reports that as an overflow, as its SUM over
    # the raw events would. (PostgreSQL keeps such sums exactly in NUMERIC columns.)
    return value if value <= SQLITE_MAX_INT else float(value)


def add_hourly_totals(session: Session, rows: list[dict]) -> None:
    """Add stored usage events (dicts of LlmUsageEvent columns) to llm_usage_hourly, in this transaction.

    One atomic upsert per key (an executemany of one statement), keys in sorted order: concurrent writers
    neither lose an increment nor deadlock on each other's rows.
    """
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in rows:
        acc = sums[(r["provider"], r["model"], usage_hour(r["created_at"]))]
        acc[0] += r["total_tokens"] or 0
        acc[1] += r["prompt_tokens"] or 0
        acc[2] += r["completion_tokens"] or 0
        acc[3] += 1
    if not sums:
        return
    dialect = session.get_bind().dialect.name
    fix = _sqlite_int if dialect == "sqlite" else int
    values = [{"v_provider": p, "v_model": m, "v_hour": h, "v_total_tokens": fix(t), "v_prompt_tokens": fix(pr),
               "v_completion_tokens": fix(c), "v_events": n}
              for (p, m, h), (t, pr, c, n) in sorted(sums.items())]
    session.connection().execute(_hourly_upsert(dialect), values)


_UPSERTS: dict[str, object] = {}


def _hourly_upsert(dialect: str):  # noqa: ANN202 - a dialect's Insert
    """The per-key upsert of llm_usage_hourly for `dialect`, built once (run as an executemany)."""
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        h = LlmUsageHourly.__table__.c
        base = _INSERTS[dialect](LlmUsageHourly.__table__).values(
            {c: bindparam(f"v_{c}", type_=h[c].type) for c in _HOURLY_COLUMNS})
        added = base.excluded
        stmt = _UPSERTS[dialect] = base.on_conflict_do_update(
            index_elements=[h.provider, h.model, h.hour],
            set_={"total_tokens": h.total_tokens + added.total_tokens,
                  "prompt_tokens": h.prompt_tokens + added.prompt_tokens,
                  "completion_tokens": h.completion_tokens + added.completion_tokens,
                  "events": h.events + added.events})
    return stmt


def record_usage(session: Session, run_id: str, batch: UsageBatch, actor: str = "api") -> dict:
    """Insert a batch of usage events for a run in one statement; the run's budget counts them."""
    # An id with NUL/surrogates cannot exist, and PostgreSQL would reject the lookup itself.
    conn = session.connection()
    row = conn.execute(_LOCK_RUN, {"run_id": run_id}).mappings().first() if is_storable(run_id) else None
    if row is None:
        raise NotFound(f"Run {run_id} not found")
    run = Record(_RUNS, dict(row))
    phase_ids = {e.phase_id for e in batch.events if e.phase_id}
    if phase_ids:
        known = set(conn.execute(_KNOWN_PHASES, {"run_id": run_id, "phase_ids": sorted(phase_ids)}).scalars())
        unknown = sorted(phase_ids - known)
        if unknown:
            raise BadRequest(f"Unknown phase_id for run {run_id}: {', '.join(unknown[:10])}")
    now = utcnow()
    rows = [{**e.model_dump(), "run_id": run_id, "created_at": e.created_at or now} for e in batch.events]
    conn.execute(_INSERT_EVENTS, rows)
    add_hourly_totals(session, rows)
    total = sum(r["total_tokens"] for r in rows)
    # The row is locked; the sum saturates rather than overflow the column with absurd reports.
    run.usage_tokens = min((run.usage_tokens or 0) + total, MAX_COUNTED_TOKENS)
    budget.review_run(session, run, actor)
    run.save(session)
    return {"run_id": run_id, "recorded": len(rows), "total_tokens": total}


def phase6_enabled() -> bool:
    """The phase-6 kill switch: on only for exactly "1", read on every call (no restart to flip it)."""
    return os.environ.get("AUTOPACK_ENABLE_PHASE6_METRICS", "0") == "1"


def record_phase_metrics(session: Session, run_id: str, phase_id: str, body: PhaseMetricsIn) -> dict:
    """Store token-efficiency metrics, and phase-6 metrics while their kill switch is on."""
    phase = session.scalars(
        select(Phase).where(Phase.run_id == run_id, Phase.phase_id == phase_id)
    ).one_or_none() if is_storable(run_id) and is_storable(phase_id) else None
    if phase is None:
        raise NotFound(f"Phase {phase_id} not found in run {run_id}")
    te_id = p6_id = None
    if body.token_efficiency is not None:
        row = TokenEfficiencyMetrics(run_id=run_id, phase_id=phase_id, **body.token_efficiency.model_dump())
        session.add(row)
        session.flush()
        te_id = row.id
    phase6_on = phase6_enabled()
    if body.phase6 is not None and phase6_on:
        row6 = Phase6Metrics(run_id=run_id, phase_id=phase_id, **body.phase6.model_dump())
        session.add(row6)
        session.flush()
        p6_id = row6.id
    return {"run_id": run_id, "phase_id": phase_id, "token_efficiency_id": te_id, "phase6_id": p6_id,
            "phase6_recorded": p6_id is not None, "phase6_enabled": phase6_on}
