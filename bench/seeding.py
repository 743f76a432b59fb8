"""Fill the benchmark's SQLite file with filler runs by bulk SQL (1 tier x 2 phases each).

Columns follow src/autopack/db/models/runs.py; every NOT NULL column is given a value because the
ORM's defaults live in Python, not in the schema. Timestamps are naive UTC text, as SQLAlchemy
stores them in SQLite.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

FILLER_PREFIX = "bench-fill-"
PHASES_PER_FILLER = 2

_RUN_SQL = """INSERT INTO runs (id, state, created_at, updated_at, started_at, safety_profile, run_scope,
    token_cap, max_phases, max_duration_minutes, tokens_used, ci_runs_used, minor_issues_count,
    major_issues_count, promotion_eligible_to_main)
    VALUES (?, 'RUN_CREATED', ?, ?, ?, 'normal', 'multi_tier', 5000000, 25, 120, 0, 0, 0, 0, 'false')"""
_TIER_SQL = """INSERT INTO tiers (id, tier_id, run_id, tier_index, name, state, max_major_issues_tolerated,
    tokens_used, ci_runs_used, minor_issues_count, major_issues_count, cleanliness, created_at,
    updated_at) VALUES (?, 'T1', ?, 0, 'Tier 1', 'PENDING', 0, 0, 0, 0, 0, 'clean', ?, ?)"""
_PHASE_SQL = """INSERT INTO phases (phase_id, run_id, tier_id, phase_index, name, state, builder_attempts,
    auditor_attempts, tokens_used, minor_issues_count, major_issues_count, issue_state, quality_blocked,
    retry_attempt, revision_epoch, escalation_level, created_at, updated_at, task_category, complexity)
    VALUES (?, ?, ?, ?, ?, 'QUEUED', 0, 0, 0, 0, 0, 'no_issues', 0, 0, 0, 0, ?, ?, 'general', 'low')"""


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def count_runs(db: Path) -> int:
    """How many runs the database holds."""
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


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


def top_up(db: Path, total: int) -> dict:
    """Insert filler runs until the database holds `total` runs; returns what was done and how fast."""
    started = time.perf_counter()
    with closing(sqlite3.connect(db, timeout=60, isolation_level=None)) as conn:
        conn.execute("PRAGMA busy_timeout=60000")
        conn.execute("BEGIN IMMEDIATE")
        have = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        fillers = conn.execute("SELECT COUNT(*) FROM runs WHERE id LIKE ?",
                               (FILLER_PREFIX + "%",)).fetchone()[0]
        missing = max(0, total - have)
        first_tier_pk = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM tiers").fetchone()[0]
        runs, tiers, phases = _filler_rows(fillers, missing, first_tier_pk)
        conn.executemany(_RUN_SQL, runs)
        conn.executemany(_TIER_SQL, tiers)
        conn.executemany(_PHASE_SQL, phases)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    return {"runs_before": have, "runs_added": missing, "runs_total": have + missing,
            "seconds": round(time.perf_counter() - started, 2)}


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the backup API; WAL readers may keep reading)."""
    with closing(sqlite3.connect(source, timeout=60)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
