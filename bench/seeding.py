"""Fill a benchmark database (SQLite or PostgreSQL) with filler runs by bulk SQL (1 tier x 2 phases each).

Columns follow src/autopack/db/models/runs.py; every NOT NULL column is given a value because the
ORM's defaults live in Python, not in the schema. The phase counters of migration 0019 are filled
too (both filler phases are QUEUED: phases_pending = 2 on the run and on its tier), as the server
keeps them. SQLite: timestamps are naive UTC text, as SQLAlchemy stores them there. PostgreSQL: one
INSERT ... SELECT over generate_series per table, the ids of tiers and phases from their sequences.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchdb import BenchDatabase, Connection, as_database

FILLER_PREFIX = "bench-fill-"
PHASES_PER_FILLER = 2

_RUN_SQL = """INSERT INTO runs (id, state, created_at, updated_at, started_at, safety_profile, run_scope,
    token_cap, max_phases, max_duration_minutes, tokens_used, ci_runs_used, minor_issues_count,
    major_issues_count, promotion_eligible_to_main, usage_tokens, phases_pending, phases_in_progress,
    phases_completed, phases_failed, phases_skipped)
    VALUES (?, 'RUN_CREATED', ?, ?, ?, 'normal', 'multi_tier', 5000000, 25, 120, 0, 0, 0, 0, 'false', 0,
    2, 0, 0, 0, 0)"""
_TIER_SQL = """INSERT INTO tiers (id, tier_id, run_id, tier_index, name, state, max_major_issues_tolerated,
    tokens_used, ci_runs_used, minor_issues_count, major_issues_count, cleanliness, created_at,
    updated_at, phases_pending, phases_in_progress, phases_completed, phases_failed, phases_skipped)
    VALUES (?, 'T1', ?, 0, 'Tier 1', 'PENDING', 0, 0, 0, 0, 0, 'clean', ?, ?, 2, 0, 0, 0, 0)"""
_PHASE_SQL = """INSERT INTO phases (phase_id, run_id, tier_id, phase_index, name, state, builder_attempts,
    auditor_attempts, tokens_used, minor_issues_count, major_issues_count, issue_state, quality_blocked,
    retry_attempt, revision_epoch, escalation_level, created_at, updated_at, task_category, complexity)
    VALUES (?, ?, ?, ?, ?, 'QUEUED', 0, 0, 0, 0, 0, 'no_issues', 0, 0, 0, 0, ?, ?, 'general', 'low')"""


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def count_runs(db: Path | BenchDatabase) -> int:
    """How many runs the database holds."""
    with as_database(db).connect() as conn:
        return conn.scalar("SELECT COUNT(*) FROM runs")


def _filler_rows(first: int, count: int, first_tier_pk: int):
    """(run, tier, phases) rows for fillers number first .. first+count-1, a minute apart in time."""
    base = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=first + count)
    runs, tiers, phases = [], [], []
    for offset in range(count):
        n = first + offset
        run_id = f"{FILLER_PREFIX}{n:08d}"
        stamp = _stamp(base + timedelta(minutes=offset))
        tier_pk = first_tier_pk + offset
        runs.append((run_id, stamp, stamp, stamp))
        tiers.append((tier_pk, run_id, stamp, stamp))
        phases.extend((f"F1.{p + 1}", run_id, tier_pk, p, f"Phase 1.{p + 1}", stamp, stamp)
                      for p in range(PHASES_PER_FILLER))
    return runs, tiers, phases


def top_up(db: Path | BenchDatabase, total: int) -> dict:
    """Insert filler runs until the database holds `total` runs; returns what was done and how fast."""
    started = time.perf_counter()
    with as_database(db).connect() as conn, conn.transaction():
        have = conn.scalar("SELECT COUNT(*) FROM runs")
        fillers = conn.scalar("SELECT COUNT(*) FROM runs WHERE id LIKE ?", (FILLER_PREFIX + "%",))
        missing = max(0, total - have)
        if conn.kind == "sqlite":
            first_tier_pk = conn.scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM tiers")
            runs, tiers, phases = _filler_rows(fillers, missing, first_tier_pk)
            conn.executemany(_RUN_SQL, runs)
            conn.executemany(_TIER_SQL, tiers)
            conn.executemany(_PHASE_SQL, phases)
        elif missing:
            _pg_fill(conn, fillers, missing)
    with as_database(db).connect() as conn:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)" if conn.kind == "sqlite" else "ANALYZE runs, tiers, phases")
    return {"runs_before": have, "runs_added": missing, "runs_total": have + missing,
            "seconds": round(time.perf_counter() - started, 2)}


# PostgreSQL: the same rows as _filler_rows, built by the server. Numbers `first` .. `first + count - 1`,
# a minute apart, the last one a minute ago; tiers and phases found by their filler run ids' range.
_PG_RUNS = """INSERT INTO runs (id, state, created_at, updated_at, started_at, safety_profile, run_scope,
    token_cap, max_phases, max_duration_minutes, tokens_used, ci_runs_used, minor_issues_count,
    major_issues_count, promotion_eligible_to_main, usage_tokens, phases_pending, phases_in_progress,
    phases_completed, phases_failed, phases_skipped)
    SELECT ? || lpad(n::text, 8, '0'), 'RUN_CREATED', t, t, t, 'normal', 'multi_tier', 5000000, 25, 120,
        0, 0, 0, 0, 'false', 0, 2, 0, 0, 0, 0
    FROM generate_series(?::int, ?::int) AS n,
        LATERAL (SELECT now() - make_interval(mins => ?::int - n) AS t) AS stamp"""
_PG_TIERS = """INSERT INTO tiers (tier_id, run_id, tier_index, name, state, max_major_issues_tolerated,
    tokens_used, ci_runs_used, minor_issues_count, major_issues_count, cleanliness, created_at, updated_at,
    phases_pending, phases_in_progress, phases_completed, phases_failed, phases_skipped)
    SELECT 'T1', id, 0, 'Tier 1', 'PENDING', 0, 0, 0, 0, 0, 'clean', created_at, created_at, 2, 0, 0, 0, 0
    FROM runs WHERE id BETWEEN ? AND ?"""
_PG_PHASES = """INSERT INTO phases (phase_id, run_id, tier_id, phase_index, name, state, builder_attempts,
    auditor_attempts, tokens_used, minor_issues_count, major_issues_count, issue_state, quality_blocked,
    retry_attempt, revision_epoch, escalation_level, created_at, updated_at, task_category, complexity)
    SELECT 'F1.' || (p + 1), t.run_id, t.id, p, 'Phase 1.' || (p + 1), 'QUEUED', 0, 0, 0, 0, 0,
        'no_issues', false, 0, 0, 0, t.created_at, t.created_at, 'general', 'low'
    FROM tiers AS t CROSS JOIN generate_series(0, ?::int - 1) AS p WHERE t.run_id BETWEEN ? AND ?"""


def _pg_fill(conn: Connection, first: int, count: int) -> None:
    """Row triggers off while filling (a per-row count trigger makes 100,000 inserts take minutes), then the
    run_totals row, when the schema has one, set to the recount the trigger would have kept."""
    last = first + count - 1
    low, high = f"{FILLER_PREFIX}{first:08d}", f"{FILLER_PREFIX}{last:08d}"
    conn.execute("SET LOCAL session_replication_role = replica")  # the bench connects as a superuser
    conn.execute(_PG_RUNS, (FILLER_PREFIX, first, last, last + 1))
    conn.execute(_PG_TIERS, (low, high))
    conn.execute(_PG_PHASES, (PHASES_PER_FILLER, low, high))
    conn.execute("SET LOCAL session_replication_role = origin")
    if conn.scalar("SELECT to_regclass('run_totals') IS NOT NULL"):
        conn.execute("INSERT INTO run_totals (id, runs) SELECT 1, count(*) FROM runs "
                     "ON CONFLICT (id) DO UPDATE SET runs = excluded.runs")
