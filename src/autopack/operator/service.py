"""Operator reads from the database: the run list and one run's progress (no side effects)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from autopack.budget import service as budget
from autopack.core.errors import NotFound, Unprocessable
from autopack.core.ids import id_problem
from autopack.db.base import utcnow
from autopack.db.models import Phase, Run, RunTotals
from autopack.runs.states import BUCKET_NAMES, PhaseCounts

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_OFFSET = 2**31 - 1

# Phase buckets (runs.states.BUCKETS): every state falls in exactly one, so the counts add up to
# phases_total. The reference counted EXECUTING only as in progress, so a phase in GATE or
# CI_RUNNING (where a builder result puts it) was in no bucket at all.
NOT_CURRENT = ("COMPLETE", "SKIPPED")  # the current phase is the first one not done (reference)

SUMMARY_COLUMNS = (Run.id, Run.state, Run.created_at, Run.started_at, Run.completed_at,
                    Run.tokens_used, Run.token_cap, *(getattr(Run, name) for name in BUCKET_NAMES))


def clamp_page(limit: int, offset: int) -> tuple[int, int]:
    """The reference clamps instead of refusing: limit to 1..100, offset to ≥ 0."""
    return min(max(limit, 1), MAX_LIMIT), min(max(offset, 0), MAX_OFFSET)


_RANKED = (
    select(Phase.run_id, Phase.name,
           func.row_number().over(partition_by=Phase.run_id, order_by=(Phase.phase_index, Phase.id)).label("rn"))
    .where(Phase.run_id.in_(bindparam("run_ids", expanding=True)), Phase.state.not_in(NOT_CURRENT))
    .subquery()
)
# The listing's statements, built once (building them per request cost more than running them).
_CURRENT_PHASES = select(_RANKED.c.run_id, _RANKED.c.name).where(_RANKED.c.rn == 1)
_TOTAL_RUNS = select(RunTotals.runs).where(RunTotals.id == 1)  # kept by triggers
_PAGE = (select(*SUMMARY_COLUMNS).order_by(Run.created_at.desc(), Run.id.desc())
         .limit(bindparam("limit")).offset(bindparam("offset")))


def current_phase_names(session: Session, run_ids: list[str]) -> dict[str, str]:
    """Per run, the name of the first phase by index that is not COMPLETE or SKIPPED (one query)."""
    if not run_ids:
        return {}
    return {run_id: name for run_id, name in session.connection().execute(_CURRENT_PHASES, {"run_ids": run_ids})}


def list_runs(session: Session, limit: int, offset: int) -> dict[str, Any]:
    """A page of runs, newest first (ties by id), with phase counts: three queries whatever the page."""
    limit, offset = clamp_page(limit, offset)
    conn = session.connection()
    total = conn.execute(_TOTAL_RUNS).scalar() or 0
    page = conn.execute(_PAGE, {"limit": limit, "offset": offset}).all()
    current = current_phase_names(session, [row.id for row in page])
    runs = []
    for row in page:
        summary = dict(row._mapping)
        summary["tokens_used"] = summary["tokens_used"] or 0
        summary["phases_total"] = PhaseCounts.read(row).total  # the run's counters, kept in step
        summary["current_phase_name"] = current.get(row.id)
        runs.append(summary)
    return {"runs": runs, "total": total, "limit": limit, "offset": offset}


def elapsed_seconds(started_at: datetime | None, completed_at: datetime | None,
                    now: datetime | None = None) -> int | None:
    """Whole seconds from start to completion (or to now while running); None before a start."""
    if started_at is None:
        return None
    end = completed_at or now or utcnow()
    return max(0, int((end - started_at).total_seconds()))


_PROGRESS_PHASE_COLUMNS = (Phase.phase_id, Phase.name, Phase.state, Phase.phase_index,
                           Phase.tokens_used, Phase.builder_attempts, Phase.incident_token_cap)
_PROGRESS_RUN_COLUMNS = (Run.id, Run.state, Run.started_at, Run.completed_at, Run.tokens_used, Run.token_cap,
                         Run.max_phases, Run.max_duration_minutes, Run.usage_tokens, Run.budget_hold,
                         Run.budget_held_at, Run.budget_approval_id, Run.budget_deadline_at)


_PROGRESS_RUN = select(*_PROGRESS_RUN_COLUMNS).where(Run.id == bindparam("run_id"))
_PROGRESS_PHASES = (select(*_PROGRESS_PHASE_COLUMNS).where(Phase.run_id == bindparam("run_id"))
                    .order_by(Phase.phase_index, Phase.id))


def run_progress(session: Session, run_id: str) -> dict[str, Any]:
    """Phase-by-phase progress of a run; 404 when there is no such run."""
    conn = session.connection()
    run = conn.execute(_PROGRESS_RUN, {"run_id": run_id}).first()
    if run is None:
        raise NotFound(f"Run {run_id} not found")
    phases = [dict(row._mapping) for row in conn.execute(_PROGRESS_PHASES, {"run_id": run_id})]
    return progress_document(run, phases, PhaseCounts.of(phase["state"] for phase in phases))


def progress_document(run, phases: Any, counts: PhaseCounts) -> dict[str, Any]:  # noqa: ANN001 - a row
    """The progress answer from the run's columns, its phase list (or its JSON) and their counts."""
    return {
        "run_id": run.id,
        "state": run.state,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "elapsed_seconds": elapsed_seconds(run.started_at, run.completed_at),
        "tokens_used": run.tokens_used or 0,
        "token_cap": run.token_cap,
        "phases_total": counts.total,
        **{name: getattr(counts, name) for name in BUCKET_NAMES},
        "phases": phases,
        "budget": budget.status(run, budget.PhaseUse(counts.started, counts.phases_pending)),
    }


def check_run_id(run_id: str) -> None:
    """422 for an id that could not name a run directory (separators, control characters, dot names)."""
    problem = id_problem(run_id, "run_id")
    if problem:
        raise Unprocessable(problem)


def require_run(session: Session, run_id: str) -> None:
    """404 `Run <id> not found` unless the run exists (the artifact endpoints, as the reference)."""
    check_run_id(run_id)
    if session.scalar(select(Run.id).where(Run.id == run_id)) is None:
        raise NotFound(f"Run {run_id} not found")
