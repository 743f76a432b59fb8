"""Dashboard reads: run status, usage windows, token-efficiency / phase-6 stats, consolidated metrics.

All read-only (DECISIONS §3.12), computed with SQL aggregates over the reference's tables.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import bindparam, case, func, or_, select, union_all
from sqlalchemy.dialects.postgresql import dialect as postgresql_dialect
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from autopack.budget import service as budget
from autopack.core.database import (
    drop_thread_read_connection,
    is_sqlite,
    postgres_read_row,
    session_scope,
    thread_read_connection,
)
from autopack.core.errors import NotFound, ServiceUnavailable
from autopack.core.ids import is_storable
from autopack.core.settings import get_settings
from autopack.dashboard.schemas import DashboardRunStatus, check_reference_paging
from autopack.db.base import UTCDateTime, sqlite_utc, utcnow
from autopack.db.models import (
    AbTestResult,
    LlmUsageEvent,
    Phase,
    Phase6Metrics,
    Run,
    Tier,
    TokenEfficiencyMetrics,
)
from autopack.db.models.usage import LlmUsageHourly
from autopack.health.service import kill_switches
from autopack.runs.document import SQLITE_RENDERS
from autopack.runs.service import find_run

DONE_STATES = ("COMPLETE", "SKIPPED")
PERIODS = {"day": timedelta(days=1), "week": timedelta(weeks=1), "month": timedelta(days=30)}
QUALITY_RANK = {"ok": 0, "needs_review": 1, "blocked": 2}
CONSOLIDATED_DISABLED = (
    "Consolidated metrics disabled. Set AUTOPACK_ENABLE_CONSOLIDATED_METRICS=1 to enable."
)
CONSOLIDATED_MAX_LIMIT = 10_000
SQL_OFFSET_CAP = 2**62  # offsets beyond any table; keeps the bound parameter inside BIGINT


def _sum(column) -> Any:
    return func.coalesce(func.sum(column), 0)


def _count_if(condition) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# ------------------------------------------------------------------------------------------ status


def _quality(phases: list) -> tuple[str | None, bool, list[str]]:
    """The worst phase quality, whether any phase is blocked, and a warning per phase not "ok"."""
    level, blocked, warnings = None, False, []
    for p in phases:
        if p.quality_blocked:
            blocked = True
        if p.quality_level is None and not p.quality_blocked:
            continue
        phase_level = "blocked" if p.quality_blocked else p.quality_level
        if level is None or QUALITY_RANK.get(phase_level, 1) > QUALITY_RANK.get(level, 1):
            level = phase_level
        if phase_level != "ok":
            warnings.append(f"Phase {p.phase_id}: quality {phase_level}")
    return level, blocked or level == "blocked", warnings


# The status's statements, built once (building them per request cost more than running them).
_RUN_ID = bindparam("run_id")
# The run's columns the status shows (budget.status and counted_tokens read them by name).
_STATUS_RUN = select(Run.id, Run.state, Run.token_cap, Run.tokens_used, Run.usage_tokens, Run.minor_issues_count,
                     Run.major_issues_count, Run.budget_hold, Run.budget_held_at, Run.budget_approval_id,
                     Run.max_phases, Run.max_duration_minutes, Run.budget_deadline_at).where(Run.id == _RUN_ID)
_STATUS_TIERS = (select(Tier.name, Tier.tier_index, Tier.state).where(Tier.run_id == _RUN_ID)
                 .order_by(Tier.tier_index, Tier.id))
_STATUS_PHASES = (select(Phase.phase_id, Phase.name, Phase.phase_index, Phase.state, Phase.tokens_used,
                         Phase.quality_level, Phase.quality_blocked, Phase.incident_token_cap)
                  .where(Phase.run_id == _RUN_ID).order_by(Phase.phase_index, Phase.id))
_TierRow = namedtuple("_TierRow", [c.key for c in _STATUS_TIERS.selected_columns])
_PhaseRow = namedtuple("_PhaseRow", [c.key for c in _STATUS_PHASES.selected_columns])


def read_run_status(run_id: str) -> bytes:
    """GET /dashboard/runs/{run_id}/status as JSON bytes, checked against its schema (for a read thread)."""
    if not is_sqlite():
        status = _postgres_run_status(run_id)
    elif SQLITE_RENDERS:
        status = _sqlite_run_status(run_id)
    else:
        with session_scope(writer=False) as session:
            status = run_status(session, run_id)
    return DashboardRunStatus.model_validate(status).model_dump_json().encode()


def run_status(session: Session, run_id: str) -> dict[str, Any]:
    """Progress, budget, issues and quality of a run (tokens are the sum over its phases)."""
    conn = session.connection()
    run = conn.execute(_STATUS_RUN, {"run_id": run_id}).first()
    if run is None:
        raise NotFound(f"Run {run_id} not found")
    tiers = conn.execute(_STATUS_TIERS, {"run_id": run_id}).all()
    phases = conn.execute(_STATUS_PHASES, {"run_id": run_id}).all()
    return _status_document(run, tiers, phases, token_efficiency(session, run_id, with_outcomes=True))


def _status_document(run, tiers: list, phases: list, efficiency: dict[str, Any]) -> dict[str, Any]:  # noqa: ANN001
    """The status from the run row and its tiers' and phases' rows (sequences in _STATUS_TIERS' and
    _STATUS_PHASES' column order), the phases gone through once: it is the route's main cost."""
    current_tier = next((_TierRow(*t) for t in tiers if t[2] not in DONE_STATES), None)
    completed_tiers = sum(1 for t in tiers if t[2] in DONE_STATES)
    current_phase, completed_phases, tokens_used, states, rated, capped = None, 0, 0, [], [], []
    for p in phases:
        state = p[3]
        states.append(state)
        if state in DONE_STATES:
            completed_phases += 1
        elif current_phase is None:
            current_phase = _PhaseRow(*p)
        tokens_used += p[4] or 0
        if p[5] is not None or p[6]:
            rated.append(_PhaseRow(*p))  # _quality passes over the phases without a rating
        if p[7]:
            capped.append(_PhaseRow(*p))  # budget.incidents looks only at phases with a cap
    token_cap = run.token_cap or 1
    level, blocked, warnings = _quality(rated)
    return {
        "run_id": run.id,
        "state": run.state,
        "current_tier_name": current_tier.name if current_tier else None,
        "current_phase_name": current_phase.name if current_phase else None,
        "current_tier_index": current_tier.tier_index if current_tier else None,
        "current_phase_index": current_phase.phase_index if current_phase else None,
        "total_tiers": len(tiers),
        "total_phases": len(phases),
        "completed_tiers": completed_tiers,
        "completed_phases": completed_phases,
        "percent_complete": completed_phases / len(phases) * 100 if phases else 0.0,
        "tiers_percent_complete": completed_tiers / len(tiers) * 100 if tiers else 0.0,
        "tokens_used": tokens_used,
        "token_cap": token_cap,
        "token_utilization": tokens_used / token_cap * 100,
        "minor_issues_count": run.minor_issues_count or 0,
        "major_issues_count": run.major_issues_count or 0,
        "quality_level": level,
        "quality_blocked": blocked,
        "quality_warnings": warnings,
        "token_efficiency": efficiency if efficiency["total_phases"] > 0 else None,
        "budget": budget.status(run, budget.counts_of(states)),
        "incident_token_cap_exceeded": budget.incidents(capped),
    }


# ------------------------------------------------------------------------------------------- usage


def _as_ints(values: tuple) -> tuple[int, ...]:
    """Sums as ints. PostgreSQL's are exact at any size; on SQLite a sum past 64 bits is REAL (stored
    that way by the hourly upsert), shown rounded rather than failing the whole answer."""
    return tuple(int(v) for v in values)


def _usage_by_model(session: Session, since: datetime) -> list[tuple[str, str, int, int, int]]:
    """(provider, model, total, prompt, completion) of events since `since`, ordered by provider and model.

    Whole hours from llm_usage_hourly, from the first whole hour after `since` on (no upper bound:
    future-dated events count), in primary-key order; the part of an hour before it from the raw events,
    a short range of their created_at index. So the window is exact, at the cost of hours, not events.
    One statement: one snapshot, and the database's own order of provider and model.
    """
    first_hour = since.replace(minute=0, second=0, microsecond=0)
    if first_hour < since:
        first_hour += timedelta(hours=1)
    h, e = LlmUsageHourly, LlmUsageEvent
    hours = (select(h.provider, h.model, func.sum(h.total_tokens).label("total"),
                    func.sum(h.prompt_tokens).label("prompt"), func.sum(h.completion_tokens).label("completion"))
             .where(h.hour >= first_hour).group_by(h.provider, h.model))
    head = (select(e.provider, e.model, func.sum(e.total_tokens), _sum(e.prompt_tokens),
                   _sum(e.completion_tokens))
            .where(e.created_at >= since, e.created_at < first_hour).group_by(e.provider, e.model))
    both = union_all(hours, head).subquery()
    rows = session.execute(
        select(both.c.provider, both.c.model, func.sum(both.c.total), func.sum(both.c.prompt),
               func.sum(both.c.completion))
        .group_by(both.c.provider, both.c.model).order_by(both.c.provider, both.c.model)).all()
    return [(provider, model, *_as_ints(sums)) for provider, model, *sums in rows]


def usage(session: Session, period: str, limit: int, offset: int) -> dict[str, Any]:
    """Tokens by provider and by model since `period` ago (unknown periods: a week, echoed as given)."""
    since = utcnow() - PERIODS.get(period, PERIODS["week"])
    by_model = _usage_by_model(session, since)
    by_provider: dict[str, list[int]] = {}  # pairs come grouped by provider, in the database's order
    for provider, _, total, prompt, completion in by_model:
        sums = by_provider.setdefault(provider, [0, 0, 0])
        sums[0] += total
        sums[1] += prompt
        sums[2] += completion
    cap = get_settings().run_token_cap
    providers = [{"provider": provider, "period": period, "prompt_tokens": prompt,
                  "completion_tokens": completion, "total_tokens": total,
                  "cap_tokens": cap, "percent_of_cap": total / cap * 100}
                 for provider, (total, prompt, completion) in by_provider.items()]
    models = [{"provider": provider, "model": model, "prompt_tokens": prompt,
               "completion_tokens": completion, "total_tokens": total}
              for provider, model, total, prompt, completion in by_model]
    return {"providers": providers[offset:offset + limit], "models": models[offset:offset + limit]}


# ------------------------------------------------------------------------- token efficiency, phase 6


_TE = TokenEfficiencyMetrics
_EFFICIENCY = select(
    func.count(_TE.id).label("n"), _sum(_TE.artifact_substitutions).label("subs"),
    _sum(_TE.tokens_saved_artifacts).label("saved"), _sum(_TE.budget_used).label("used"),
    _sum(_TE.budget_cap).label("cap"), _sum(_TE.files_kept).label("kept"),
    _sum(_TE.files_omitted).label("omitted"),
    _count_if(_TE.budget_mode == "semantic").label("semantic"),
    _count_if(_TE.budget_mode == "lexical").label("lexical"),
).where(_TE.run_id == _RUN_ID)


def token_efficiency(session: Session, run_id: str, *, with_outcomes: bool = False) -> dict[str, Any]:
    """Token-efficiency aggregates over the run's token_efficiency_metrics rows (zeros without rows)."""
    m = TokenEfficiencyMetrics
    out = _efficiency_document(run_id, session.connection().execute(_EFFICIENCY, {"run_id": run_id}).one())
    if with_outcomes and out["total_phases"]:
        outcome = func.coalesce(m.phase_outcome, "UNKNOWN")
        out["phase_outcome_counts"] = {
            name: int(count) for name, count in session.execute(
                select(outcome, func.count()).where(m.run_id == run_id).group_by(outcome).order_by(outcome))
        }
    return out


def _efficiency_document(run_id: str, row) -> dict[str, Any]:  # noqa: ANN001 - the _EFFICIENCY row
    n, subs, saved, used, cap = int(row.n), int(row.subs), int(row.saved), int(row.used), int(row.cap)
    return {
        "run_id": run_id,
        "total_phases": n,
        "total_artifact_substitutions": subs,
        "total_tokens_saved_artifacts": saved,
        "total_budget_used": used,
        "total_budget_cap": cap,
        "total_files_kept": int(row.kept),
        "total_files_omitted": int(row.omitted),
        "semantic_mode_count": int(row.semantic),
        "lexical_mode_count": int(row.lexical),
        "avg_artifact_substitutions_per_phase": subs / n if n else 0.0,
        "avg_tokens_saved_per_phase": saved / n if n else 0.0,
        "budget_utilization": used / cap if cap > 0 else 0.0,  # a fraction, as the reference
    }


_RUN_ID_MARK = "autopack-run-id-parameter"


def _sqlite_sql(stmt) -> str:  # noqa: ANN001
    """A Core statement as SQLite text: its constants inlined, the run id left as the :run_id parameter."""
    text = str(stmt.params(run_id=_RUN_ID_MARK).compile(dialect=sqlite_dialect(),
                                                         compile_kwargs={"literal_binds": True}))
    return text.replace(f"'{_RUN_ID_MARK}'", ":run_id")


def _json_rows(stmt, names: tuple[str, ...]) -> str:  # noqa: ANN001
    """A subquery turning the statement's rows, in order, into one JSON array of arrays."""
    return (f"(SELECT '[' || coalesce(group_concat(json_array({', '.join(names)}), ','), '') || ']' "
            f"FROM ({_sqlite_sql(stmt)}))")


_RunRow = namedtuple("_RunRow", [c.key for c in _STATUS_RUN.selected_columns])
_RUN_TIMES = frozenset(c.key for c in _STATUS_RUN.selected_columns if isinstance(c.type, UTCDateTime))
_OUTCOMES = (select(func.coalesce(_TE.phase_outcome, "UNKNOWN").label("outcome"), func.count().label("n"))
             .where(_TE.run_id == _RUN_ID).group_by("outcome").order_by("outcome"))
# The run row, its tiers and phases (JSON arrays, in order), the efficiency sums and outcome counts: one
# statement, one snapshot, one row stepped (the same statements the service runs, compiled once).
_STATUS_SQL = (
    f"SELECT * FROM ({_sqlite_sql(_STATUS_RUN)}), "
    f"{_json_rows(_STATUS_TIERS, _TierRow._fields)}, {_json_rows(_STATUS_PHASES, _PhaseRow._fields)}, "
    f"(SELECT json_array({', '.join(c.key for c in _EFFICIENCY.selected_columns)}) "
    f"FROM ({_sqlite_sql(_EFFICIENCY)})), "
    f"(SELECT '[' || coalesce(group_concat(json_array(outcome, n), ','), '') || ']' FROM ({_sqlite_sql(_OUTCOMES)}))"
)


def _postgres_sql(stmt) -> str:  # noqa: ANN001
    """A Core statement as PostgreSQL text: its constants inlined, the run id left as the %(run_id)s parameter."""
    text = str(stmt.params(run_id=_RUN_ID_MARK).compile(dialect=postgresql_dialect(),
                                                         compile_kwargs={"literal_binds": True}))
    return text.replace(f"'{_RUN_ID_MARK}'", "%(run_id)s")


def _pg_json_rows(stmt, names: tuple[str, ...], order: str) -> str:  # noqa: ANN001
    """A subquery turning the statement's rows into one JSON array (text) of arrays, in `order`."""
    return (f"(SELECT coalesce(json_agg(json_build_array({', '.join(names)}) ORDER BY {order}), '[]')::text "
            f"FROM ({_postgres_sql(stmt)}) AS rows)")


# The same statement in PostgreSQL's dialect: json_agg takes its order from its own ORDER BY (a
# sub-query's is not promised to reach an aggregate), so the lists also select the tie-breaking id.
_PG_STATUS_SQL = (
    f"SELECT * FROM ({_postgres_sql(_STATUS_RUN)}) AS run, "
    f"{_pg_json_rows(_STATUS_TIERS.add_columns(Tier.id.label('tie')), _TierRow._fields, 'tier_index, tie')} AS tiers, "
    f"{_pg_json_rows(_STATUS_PHASES.add_columns(Phase.id.label('tie')), _PhaseRow._fields, 'phase_index, tie')} "
    "AS phases, "
    f"(SELECT json_build_array({', '.join(c.key for c in _EFFICIENCY.selected_columns)})::text "
    f"FROM ({_postgres_sql(_EFFICIENCY)}) AS efficiency) AS efficiency, "
    f"{_pg_json_rows(_OUTCOMES, ('outcome', 'n'), 'outcome')} AS outcomes"
)


def _sqlite_run_status(run_id: str) -> dict[str, Any]:
    """run_status on this thread's SQLite read connection, from one statement."""
    try:
        row = thread_read_connection().execute(_STATUS_SQL, {"run_id": run_id}).fetchone()
    except sqlite3.Error as exc:
        drop_thread_read_connection()
        raise OperationalError("dashboard run status", {"run_id": run_id}, exc) from exc
    return _status_of_row(run_id, row, sqlite_utc)


def _postgres_run_status(run_id: str) -> dict[str, Any]:
    """run_status from one statement on this thread's PostgreSQL read connection (its own snapshot)."""
    row = (postgres_read_row(_PG_STATUS_SQL, {"run_id": run_id}, "dashboard run status")
           if is_storable(run_id) else None)
    return _status_of_row(run_id, row, lambda value: None if value is None else value.astimezone(UTC))


def _status_of_row(run_id: str, row, to_utc) -> dict[str, Any]:  # noqa: ANN001 - the statement's row
    if row is None:
        raise NotFound(f"Run {run_id} not found")
    width = len(_RunRow._fields)
    run = _RunRow(*(to_utc(v) if k in _RUN_TIMES else v for k, v in zip(_RunRow._fields, row, strict=False)))
    tiers = orjson.loads(row[width])
    phases = orjson.loads(row[width + 1])
    efficiency = _efficiency_document(run_id, SimpleNamespace(**dict(zip(
        (c.key for c in _EFFICIENCY.selected_columns), orjson.loads(row[width + 2]), strict=True))))
    if efficiency["total_phases"]:
        efficiency["phase_outcome_counts"] = {name: int(n) for name, n in orjson.loads(row[width + 3])}
    return _status_document(run, tiers, phases, efficiency)


def run_token_efficiency(session: Session, run_id: str) -> dict[str, Any]:
    """GET …/token-efficiency: 404 "Run not found" for an unknown run."""
    if find_run(session, run_id) is None:
        raise NotFound("Run not found")
    return token_efficiency(session, run_id)


def phase6_stats(session: Session, run_id: str) -> dict[str, Any]:
    """Phase-6 ("true autonomy") aggregates over every phase6_metrics row of the run."""
    if find_run(session, run_id) is None:
        raise NotFound("Run not found")
    m = Phase6Metrics
    row = session.execute(select(
        func.count(m.id).label("n"),
        _count_if(m.failure_hardening_triggered).label("hardening"),
        _count_if(m.doctor_call_skipped).label("skipped"),
        _sum(m.doctor_tokens_avoided_estimate).label("avoided"),
        _count_if(m.intention_context_injected).label("injected"),
        _sum(m.intention_context_chars).label("chars"),
        _count_if(m.plan_normalization_used).label("normalized"),
    ).where(m.run_id == run_id)).one()
    patterns = {name: int(count) for name, count in session.execute(
        select(m.failure_pattern_detected, func.count()).where(
            m.run_id == run_id, m.failure_pattern_detected.is_not(None))
        .group_by(m.failure_pattern_detected).order_by(m.failure_pattern_detected))}
    coverage = {source: {"count": int(count), "total_n": int(total_n)} for source, count, total_n in
                session.execute(
                    select(m.estimate_source, func.count(), _sum(m.estimate_coverage_n))
                    .where(m.run_id == run_id, m.estimate_source.is_not(None))
                    .group_by(m.estimate_source).order_by(m.estimate_source))}
    injected, chars = int(row.injected), int(row.chars)
    return {
        "run_id": run_id,
        "total_phases": int(row.n),
        "failure_hardening_triggered_count": int(row.hardening),
        "failure_patterns_detected": patterns,
        "doctor_calls_skipped_count": int(row.skipped),
        "total_doctor_tokens_avoided_estimate": int(row.avoided),
        "estimate_coverage_stats": coverage,
        "intention_context_injected_count": injected,
        "total_intention_context_chars": chars,
        "avg_intention_context_chars_per_phase": chars / injected if injected else 0.0,
        "plan_normalization_used": int(row.normalized) > 0,
    }


# ---------------------------------------------------------------------------------- consolidated


def consolidated_enabled() -> bool:
    """The kill switch: only the exact value "1" turns the endpoint on (read on every request)."""
    return kill_switches()["consolidated_metrics"]


def _ab_delta(session: Session, run_id: str) -> tuple[int | None, str | None, str | None]:
    """Tokens saved (control − treatment) by the newest valid A/B result involving the run."""
    row = session.execute(
        select(AbTestResult.control_run_id, AbTestResult.treatment_run_id, AbTestResult.token_delta)
        .where(AbTestResult.is_valid.is_(True),
               or_(AbTestResult.control_run_id == run_id, AbTestResult.treatment_run_id == run_id))
        .order_by(AbTestResult.created_at.desc(), AbTestResult.id.desc()).limit(1)).first()
    if row is None:
        return None, None, None
    saved = -row.token_delta if row.token_delta is not None else None
    return saved, row.control_run_id, row.treatment_run_id


def consolidated(session: Session, run_id: str, limit: int, offset: int) -> dict[str, Any]:
    """The four independent token categories, plus one page of the per-phase breakdown."""
    if not consolidated_enabled():
        raise ServiceUnavailable(CONSOLIDATED_DISABLED)
    check_reference_paging(limit, offset, CONSOLIDATED_MAX_LIMIT)
    if find_run(session, run_id) is None:
        raise NotFound(f"Run not found: {run_id}")
    u, te, p6 = LlmUsageEvent, TokenEfficiencyMetrics, Phase6Metrics
    spend = session.execute(select(
        _sum(u.total_tokens).label("total"), _sum(u.prompt_tokens).label("prompt"),
        _sum(u.completion_tokens).label("completion"),
        _sum(case((u.is_doctor_call.is_(True), u.total_tokens), else_=0)).label("doctor"),
    ).where(u.run_id == run_id)).one()
    artifacts = session.execute(select(
        _sum(te.tokens_saved_artifacts).label("avoided"), _sum(te.artifact_substitutions).label("subs"),
    ).where(te.run_id == run_id)).one()
    doctor = session.execute(select(
        _sum(p6.doctor_tokens_avoided_estimate).label("avoided"),
        _count_if(p6.doctor_call_skipped).label("skipped"),
        func.max(p6.estimate_coverage_n).label("coverage"), func.max(p6.estimate_source).label("source"),
    ).where(p6.run_id == run_id)).one()
    counts = session.execute(select(
        func.count(Phase.id).label("total"), _count_if(Phase.state == "COMPLETE").label("complete"),
    ).where(Phase.run_id == run_id)).one()
    ab_saved, ab_control, ab_treatment = _ab_delta(session, run_id)
    return {
        "run_id": run_id,
        "total_tokens_spent": int(spend.total),
        "total_prompt_tokens": int(spend.prompt),
        "total_completion_tokens": int(spend.completion),
        "doctor_tokens_spent": int(spend.doctor),
        "artifact_tokens_avoided": int(artifacts.avoided),
        "artifact_substitutions_count": int(artifacts.subs),
        "doctor_tokens_avoided_estimate": int(doctor.avoided),
        "doctor_calls_skipped_count": int(doctor.skipped),
        "estimate_coverage_n": doctor.coverage,
        "estimate_source": doctor.source,
        "ab_delta_tokens_saved": ab_saved,
        "ab_control_run_id": ab_control,
        "ab_treatment_run_id": ab_treatment,
        "total_phases": int(counts.total),
        "completed_phases": int(counts.complete),
        "phases": _phase_breakdown(session, run_id, limit, min(offset, SQL_OFFSET_CAP)),
        "pagination": {"limit": limit, "offset": offset, "total": int(counts.total)},
    }


def _phase_breakdown(session: Session, run_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
    page = session.execute(
        select(Phase.phase_id, Phase.phase_index, Phase.name, Phase.state).where(Phase.run_id == run_id)
        .order_by(Phase.phase_index, Phase.id).limit(limit).offset(offset)).all()
    if not page:
        return []
    ids = [p.phase_id for p in page]
    u, te, p6 = LlmUsageEvent, TokenEfficiencyMetrics, Phase6Metrics
    spend = {r.phase_id: r for r in session.execute(
        select(u.phase_id, _sum(u.total_tokens).label("total"), _sum(u.prompt_tokens).label("prompt"),
               _sum(u.completion_tokens).label("completion"),
               _sum(case((u.is_doctor_call.is_(True), u.total_tokens), else_=0)).label("doctor"))
        .where(u.run_id == run_id, u.phase_id.in_(ids)).group_by(u.phase_id))}
    artifacts = {r.phase_id: r for r in session.execute(
        select(te.phase_id, _sum(te.tokens_saved_artifacts).label("avoided"),
               _sum(te.artifact_substitutions).label("subs"))
        .where(te.run_id == run_id, te.phase_id.in_(ids)).group_by(te.phase_id))}
    doctor = {r.phase_id: r for r in session.execute(
        select(p6.phase_id, _sum(p6.doctor_tokens_avoided_estimate).label("avoided"),
               _count_if(p6.doctor_call_skipped).label("skipped"))
        .where(p6.run_id == run_id, p6.phase_id.in_(ids)).group_by(p6.phase_id))}

    def val(rows: dict, phase_id: str, name: str) -> int:
        row = rows.get(phase_id)
        return int(getattr(row, name)) if row is not None else 0

    return [{
        "phase_id": p.phase_id, "phase_index": p.phase_index, "name": p.name, "state": p.state,
        "tokens_spent": val(spend, p.phase_id, "total"),
        "prompt_tokens": val(spend, p.phase_id, "prompt"),
        "completion_tokens": val(spend, p.phase_id, "completion"),
        "doctor_tokens_spent": val(spend, p.phase_id, "doctor"),
        "artifact_tokens_avoided": val(artifacts, p.phase_id, "avoided"),
        "artifact_substitutions_count": val(artifacts, p.phase_id, "subs"),
        "doctor_tokens_avoided_estimate": val(doctor, p.phase_id, "avoided"),
        "doctor_calls_skipped_count": val(doctor, p.phase_id, "skipped"),
    } for p in page]

