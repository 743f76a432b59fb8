"""The run lifecycle: create runs, read them, move phases, and keep tiers and runs in step."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Text, bindparam, cast, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.core import statements
from autopack.core.database import on_commit
from autopack.core.errors import BadRequest, NotFound, Unprocessable
from autopack.core.ids import is_storable
from autopack.core.mirror import mirror_after_commit
from autopack.db.base import utcnow
from autopack.db.bulk import insert_many
from autopack.db.models import Phase, Run, RunEvent, Tier
from autopack.db.records import Record, split_row
from autopack.events import log as events
from autopack.issues import service as issues
from autopack.runs import layout
from autopack.runs.schemas import PhaseStatusUpdate, RunStartRequest
from autopack.runs.states import (
    BUCKET_NAMES,
    BUCKETS,
    PHASE_STATES,
    PhaseCounts,
    derive_run_state,
    derive_tier_state,
)

DEFAULT_MAX_PHASES = 25
PHASE_COLUMNS = tuple(c.name for c in Phase.__table__.columns)
RESPONSE_PHASE_COLUMNS = (
    Phase.id, Phase.phase_id, Phase.run_id, Phase.tier_id, Phase.name, Phase.description,
    Phase.state, Phase.task_category, Phase.complexity, Phase.builder_mode, Phase.phase_index,
    Phase.scope, Phase.intention_refs,
)
_RESPONSE_PHASE_KEYS = tuple(c.key for c in RESPONSE_PHASE_COLUMNS)
# Each phase's `results_summary` object: (key, column), in the document's order; null while the phase
# has no builder or auditor result (no status, no verdict). Small on purpose: it is in every phase of
# the executor's most frequent read.
RESULTS_SUMMARY_COLUMNS = (
    ("builder_attempts", Phase.builder_attempts), ("builder_status", Phase.last_builder_status),
    ("files_changed", Phase.last_builder_files_changed), ("lines_added", Phase.last_builder_lines_added),
    ("lines_removed", Phase.last_builder_lines_removed), ("builder_tokens", Phase.last_builder_tokens),
    ("auditor_verdict", Phase.last_auditor_verdict),
)
SUMMARY_PRESENT = (Phase.last_builder_status, Phase.last_auditor_verdict)  # either set: something reported
_SUMMARY_KEYS = tuple(key for key, _ in RESULTS_SUMMARY_COLUMNS)
_STATUS_AT, _VERDICT_AT = _SUMMARY_KEYS.index("builder_status"), _SUMMARY_KEYS.index("auditor_verdict")


_INSERT_RUN_EVENT = insert(RunEvent)


def record_event(session: Session, run_id: str, entity: str, from_state: str | None, to_state: str,
                 actor: str, *, phase_id: str | None = None, tier_id: str | None = None,
                 reason: str | None = None) -> None:
    """Append one transition to the run's event feed."""
    statements.execute(session.connection(), _INSERT_RUN_EVENT, dict(
        run_id=run_id, entity=entity, from_state=from_state, to_state=to_state, actor=actor,
        phase_id=phase_id, tier_id=tier_id, reason=reason, created_at=utcnow()))
    events.record(session, f"{entity}.state_changed", run_id=run_id, payload={
        "from": from_state, "to": to_state, "actor": actor, "phase_id": phase_id, "tier_id": tier_id,
        "reason": reason})


def start_run(session: Session, request: RunStartRequest, actor: str) -> str:
    """Create a run with its tiers and phases in one transaction; returns the run id."""
    spec = request.run
    if session.get(Run, spec.run_id) is not None:
        raise BadRequest(f"Run {spec.run_id} already exists")
    tier_keys = [t.tier_id for t in request.tiers]
    if len(set(tier_keys)) != len(tier_keys):
        raise BadRequest("Duplicate tier_id in tiers")
    phase_keys = [p.phase_id for p in request.phases]
    if len(set(phase_keys)) != len(phase_keys):
        raise BadRequest("Duplicate phase_id in phases")
    known = set(tier_keys)
    for phase in request.phases:
        if phase.tier_id not in known:
            raise BadRequest(f"Phase {phase.phase_id} references unknown tier {phase.tier_id}")

    now = utcnow()
    # A plan that does not name its phase budget gets one large enough for the plan itself.
    named = "max_phases" in spec.model_fields_set and spec.max_phases
    max_phases = spec.max_phases if named else max(DEFAULT_MAX_PHASES, len(request.phases))
    max_minutes = spec.max_duration_minutes or 120
    run = Run(
        id=spec.run_id, state="RUN_CREATED", safety_profile=spec.safety_profile,
        run_scope=spec.run_scope, token_cap=spec.token_cap or 5_000_000,
        max_phases=max_phases, max_duration_minutes=max_minutes,
        max_minor_issues_total=3 * len(request.phases) if request.phases else None,
        goal_anchor=spec.goal_anchor, started_at=now, created_at=now, updated_at=now,
        budget_deadline_at=now + timedelta(minutes=max_minutes), phases_pending=len(request.phases),
    )
    session.add(run)
    try:
        session.flush()
    except IntegrityError:  # a concurrent start of the same id won the race
        raise BadRequest(f"Run {spec.run_id} already exists") from None
    tier_pk: dict[str, int] = {}
    per_tier = Counter(p.tier_id for p in request.phases)
    if request.tiers:
        rows = session.execute(
            insert(Tier).returning(Tier.id, Tier.tier_id),
            [dict(run_id=run.id, tier_id=t.tier_id, tier_index=t.tier_index, name=t.name,
                  description=t.description, state="PENDING", created_at=now, updated_at=now,
                  phases_pending=per_tier.get(t.tier_id, 0))
             for t in request.tiers],
        ).all()
        tier_pk = {tier_id: pk for pk, tier_id in rows}
    if request.phases:  # the driver's executemany: Core's per-row processing cost more than the rows
        insert_many(
            session.connection(), Phase.__table__,
            dict(run_id=run.id, state="QUEUED", created_at=now, updated_at=now),
            [dict(phase_id=p.phase_id, phase_index=p.phase_index, tier_id=tier_pk[p.tier_id], name=p.name,
                  description=p.description, task_category=p.task_category, complexity=p.complexity,
                  builder_mode=p.builder_mode, scope=p.scope,
                  intention_refs=p.intention_refs.model_dump() if p.intention_refs else None,
                  incident_token_cap=p.incident_token_cap)
             for p in request.phases],
        )
    record_event(session, run.id, "run", None, "RUN_CREATED", actor)

    run_snap = _run_snapshot(run, len(request.tiers))
    phase_keys_of: dict[str, list[str]] = {}
    for p in request.phases:
        phase_keys_of.setdefault(p.tier_id, []).append(p.phase_id)
    tiers = [layout.TierSnapshot(t.tier_id, t.tier_index, t.name, t.description, "PENDING",
                                 tuple(phase_keys_of.get(t.tier_id, ())))
             for t in request.tiers]
    phases = [layout.PhaseSnapshot(p.phase_id, p.phase_index, p.name, p.tier_id, "QUEUED",
                                   p.description, p.task_category, p.complexity, 0, 0, 0, 0, now)
              for p in request.phases]
    # The run's directory layout is on disk before the 201 (clients read run_summary.md at once);
    # after it, every mirror write is the background writer's.
    on_commit(session, lambda: layout.write_run_files(run_snap, tiers, phases, run_id=run.id, create_dirs=True))
    return run.id


def _run_snapshot(run: Run, tier_count: int) -> layout.RunSnapshot:
    counts = PhaseCounts.read(run)
    return layout.RunSnapshot(
        run.id, run.state, run.safety_profile, run.run_scope, run.token_cap, run.tokens_used or 0,
        run.max_phases, run.max_duration_minutes, run.minor_issues_count or 0,
        run.major_issues_count or 0, run.started_at, run.completed_at, counts.total,
        counts.phases_completed + counts.phases_skipped, counts.phases_failed, tier_count,
    )


RUN_COLUMNS = (
    Run.id, Run.state, Run.safety_profile, Run.run_scope, Run.created_at, Run.started_at,
    Run.completed_at, Run.tokens_used, Run.ci_runs_used, Run.minor_issues_count,
    Run.major_issues_count, Run.promotion_eligible_to_main, Run.debt_status, Run.failure_reason,
    Run.token_cap, Run.max_phases, Run.max_duration_minutes, Run.usage_tokens, Run.budget_hold,
    Run.budget_approval_id, Run.budget_deadline_at,
)
TIER_COLUMNS = (
    Tier.id, Tier.tier_id, Tier.name, Tier.state, Tier.tier_index, Tier.cleanliness,
    Tier.minor_issues_count, Tier.major_issues_count,
)
_TIER_KEYS = tuple(c.key for c in TIER_COLUMNS)
_JSON_KEYS = ("scope", "intention_refs")
_RUN_SELECT = select(*RUN_COLUMNS).where(Run.id == bindparam("run_id"))
_TIER_SELECT = (select(*TIER_COLUMNS).where(Tier.run_id == bindparam("run_id"))
                .order_by(Tier.tier_index, Tier.id))
# JSON columns come back as their JSON text and are embedded as-is (orjson.Fragment): no decode
# and re-encode of every phase's scope on the executor's most frequent call.
_PHASE_SELECT = (
    select(*[cast(c, Text).label(c.key) if c.key in _JSON_KEYS else c for c in RESPONSE_PHASE_COLUMNS],
           *[c for _, c in RESULTS_SUMMARY_COLUMNS])
    .where(Phase.run_id == bindparam("run_id")).order_by(Phase.phase_index, Phase.id)
)
_SUMMARY_START = len(RESPONSE_PHASE_COLUMNS)


def _raw_rows(conn, stmt, params) -> list[tuple]:
    """Plain DB-API tuples: building SQLAlchemy Row objects costs ~4x the fetch for 50-row reads."""
    result = conn.execute(stmt, params)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _json_fragment(text: str | None):
    return None if text is None else orjson.Fragment(text)


def _results_summary(values: tuple) -> dict[str, Any] | None:
    if values[_STATUS_AT] is None and values[_VERDICT_AT] is None:
        return None
    return dict(zip(_SUMMARY_KEYS, values))


def serialize_run(session: Session, run_id: str) -> dict[str, Any]:
    """The RunResponse document for `run_id`: three queries in one read transaction, any run size."""
    conn = session.connection()
    params = {"run_id": run_id}
    run = conn.execute(_RUN_SELECT, params).mappings().first()
    if run is None:
        raise NotFound(f"Run {run_id} not found")
    tiers = [dict(zip(_TIER_KEYS, row)) for row in _raw_rows(conn, _TIER_SELECT, params)]
    phases = []
    for row in _raw_rows(conn, _PHASE_SELECT, params):
        phase = dict(zip(_RESPONSE_PHASE_KEYS, row))
        phase["scope"] = _json_fragment(phase["scope"])
        phase["intention_refs"] = _json_fragment(phase["intention_refs"])
        phase["results_summary"] = _results_summary(row[_SUMMARY_START:])
        phases.append(phase)
    by_tier: dict[int, list[dict]] = {}
    for phase in phases:
        by_tier.setdefault(phase["tier_id"], []).append(phase)
    for tier in tiers:
        tier["phases"] = by_tier.get(tier["id"], [])
    return {**run, "tiers": tiers, "phases": phases}


def find_run(session: Session, run_id: str) -> Run | None:
    """The run, or None; also for an id no database could store (PostgreSQL would refuse the lookup)."""
    return session.get(Run, run_id) if is_storable(run_id) else None


def require_run(session: Session, run_id: str) -> Run:
    """The run, or 404 `Run <id> not found`."""
    run = find_run(session, run_id)
    if run is None:
        raise NotFound(f"Run {run_id} not found")
    return run


def lock_run(session: Session, run_id: str) -> Run | None:
    """Load a run and lock its row, so concurrent phase changes of one run serialise (PostgreSQL)."""
    return session.get(Run, run_id, with_for_update=True)


def get_phase(session: Session, run_id: str, phase_id: str) -> Phase | None:
    """One phase of a run by its string id."""
    return session.scalars(
        select(Phase).where(Phase.run_id == run_id, Phase.phase_id == phase_id)
    ).one_or_none()


def phase_document(phase: Phase) -> dict[str, Any]:
    """Every column of a phase, as update_status answers."""
    return {name: getattr(phase, name) for name in PHASE_COLUMNS}


def set_phase_state(session: Session, phase: Phase, new_state: str, actor: str,
                    reason: str | None = None) -> bool:
    """Move a phase to `new_state`, stamping times and recording the event; False if unchanged."""
    old = phase.state
    if old == new_state:
        return False
    now = utcnow()
    phase.state = new_state
    if new_state != "QUEUED" and phase.started_at is None:
        phase.started_at = now
    if new_state in {"COMPLETE", "FAILED", "SKIPPED"}:
        phase.completed_at = now
    elif phase.completed_at is not None:
        phase.completed_at = None
    if new_state == "FAILED" and reason:
        phase.last_failure_reason = reason
    record_event(session, phase.run_id, "phase", old, new_state, actor, phase_id=phase.phase_id,
                 reason=reason)
    return True


@dataclass(frozen=True)
class Mark:
    """A phase's rolled-up values before a change (`mark` it, change it, then `roll_up`)."""

    state: str
    tokens_used: int
    minor_issues_count: int
    major_issues_count: int


SUMS = ("tokens_used", "minor_issues_count", "major_issues_count")
MAX_SUM = 2**63 - 1  # a BIGINT / SQLite INTEGER: each phase may report up to 2**62 tokens, their sum is bounded here


def mark(phase: Phase) -> Mark:
    """What a phase counts for in its tier and run right now."""
    return Mark(phase.state, phase.tokens_used or 0, phase.minor_issues_count or 0, phase.major_issues_count or 0)


def roll_up(session: Session, run: Run, tier: Tier, phase: Phase, before: Mark, actor: str) -> bool:
    """Carry one phase's change into its tier and its (locked) run: counters and sums by difference,
    states derived from the counters. Returns whether the run's state changed."""
    now = utcnow()
    moved = before.state != phase.state
    for row in (tier, run):
        for key in SUMS:
            delta = (getattr(phase, key) or 0) - getattr(before, key)
            if delta:
                total = (getattr(row, key) or 0) + delta
                if total > MAX_SUM:  # refused (the transaction rolls back) rather than a database overflow
                    raise Unprocessable(f"{key} would take the {'run' if row is run else 'tier'}'s total past "
                                        f"{MAX_SUM}, the largest number stored")
                setattr(row, key, total)
        if moved:
            setattr(row, BUCKETS[before.state], getattr(row, BUCKETS[before.state]) - 1)
            setattr(row, BUCKETS[phase.state], getattr(row, BUCKETS[phase.state]) + 1)
    run.updated_at = now
    if not moved:
        return False
    tier_changed = _settle_tier(session, run.id, tier, actor, now)
    new_run_state = derive_run_state(run.state, PhaseCounts.read(run))
    run_changed = new_run_state != run.state
    if run_changed:
        record_event(session, run.id, "run", run.state, new_run_state, actor)
        run.state = new_run_state
        run.completed_at = now if new_run_state.startswith("DONE_") else None
    if run_changed or tier_changed:
        tier_count = statements.first(session.connection(), _TIER_COUNT, {"run_id": run.id})["tiers"]
        run_snap = _run_snapshot(run, tier_count)
        tier_snaps = [layout.TierSnapshot(tier.tier_id, tier.tier_index, tier.name, tier.description,
                                          tier.state, ())] if tier_changed else []
        mirror_after_commit(session, lambda: layout.write_run_files(run_snap, tier_snaps, run_id=run.id))
    return run_changed


def _settle_tier(session: Session, run_id: str, tier: Tier, actor: str, now: datetime) -> bool:
    new_state = derive_tier_state(PhaseCounts.read(tier))
    if new_state == tier.state:
        return False
    record_event(session, run_id, "tier", tier.state, new_state, actor, tier_id=tier.tier_id)
    tier.state = new_state
    if new_state != "PENDING" and tier.started_at is None:
        tier.started_at = now
    tier.completed_at = now if new_state in {"COMPLETE", "FAILED", "SKIPPED"} else None
    return True


def recount(session: Session, run_id: str) -> dict[str, Any]:
    """The run's and its tiers' counters and sums computed from every phase (checks and repairs)."""
    rows = session.execute(
        select(Phase.tier_id, Phase.state, Phase.tokens_used, Phase.minor_issues_count,
               Phase.major_issues_count).where(Phase.run_id == run_id)).all()

    def totals(mine) -> dict[str, int]:  # noqa: ANN001
        counts = PhaseCounts.of(r.state for r in mine)
        return {**{name: getattr(counts, name) for name in BUCKET_NAMES},
                **{key: sum(getattr(r, key) or 0 for r in mine) for key in SUMS}}

    tiers = session.scalars(select(Tier.id).where(Tier.run_id == run_id)).all()
    return {"run": totals(rows), "tiers": {pk: totals([r for r in rows if r.tier_id == pk]) for pk in tiers}}


# A phase's file is written at most this long after its first change still waiting: the changes of a
# phase moving quickly through its states (or updated by many calls) are written once, not each.
PHASE_FILE_HOLD = 0.5


def mirror_phase_file(session: Session, phase: Phase, tier_key: str) -> None:
    """Rewrite the phase summary once the transaction commits."""
    snap = layout.PhaseSnapshot(
        phase.phase_id, phase.phase_index, phase.name, tier_key, phase.state, phase.description,
        phase.task_category, phase.complexity, phase.builder_attempts, phase.tokens_used,
        phase.minor_issues_count, phase.major_issues_count, phase.updated_at,
    )
    run_id = phase.run_id
    mirror_after_commit(session, lambda: layout.write_run_files(None, [], [snap], run_id=run_id),
                        key=("phase", run_id, phase.phase_id), hold=PHASE_FILE_HOLD)


_LOADED = {"run": Run.__table__, "tier": Tier.__table__, "phase": Phase.__table__}
_LOAD_FOR_CHANGE = (
    select(*[c.label(f"{prefix}__{c.name}") for prefix, table in _LOADED.items() for c in table.columns])
    .select_from(Phase.__table__.join(Tier.__table__, Tier.id == Phase.tier_id)
                 .join(Run.__table__, Run.id == Phase.run_id))
    .where(Phase.run_id == bindparam("run_id"), Phase.phase_id == bindparam("phase_id"))
)
_TIER_COUNT = select(func.count().label("tiers")).select_from(Tier).where(Tier.run_id == bindparam("run_id"))
_LOCK_RUN = select(Run.id).where(Run.id == bindparam("run_id")).with_for_update()


@dataclass(frozen=True)
class Loaded:
    """A phase with its tier and run, read in one statement for a change (records, not ORM objects)."""

    run: Record
    tier: Record
    phase: Record

    def save(self, session: Session) -> None:
        """Write back what changed: one UPDATE per changed row."""
        for record in (self.phase, self.tier, self.run):
            record.save(session)


def load_for_change(session: Session, run_id: str, phase_id: str) -> Loaded | None:
    """The phase, its tier and its run (locked), or None when the run has no such phase."""
    if not (is_storable(run_id) and is_storable(phase_id)):
        return None
    if session.get_bind().dialect.name == "postgresql":
        # The run's row lock first, then the read: FOR UPDATE on the join itself would re-check only
        # the locked row after a wait and hand back the tier's counters as they were before it.
        session.connection().execute(_LOCK_RUN, {"run_id": run_id})
    row = statements.first(session.connection(), _LOAD_FOR_CHANGE, {"run_id": run_id, "phase_id": phase_id})
    return None if row is None else Loaded(**split_row(row, _LOADED))


def update_phase_status(session: Session, loaded: Loaded, update: PhaseStatusUpdate,
                        actor: str) -> dict[str, Any]:
    """POST .../update_status: set the state (exact, case-sensitive) and the given counters.

    The caller saves `loaded` afterwards (it may change the run too: budgets).
    """
    if update.state not in PHASE_STATES:
        raise BadRequest(f"Invalid phase state: {update.state}")
    run, tier, phase = loaded.run, loaded.tier, loaded.phase
    before = mark(phase)
    for field in ("builder_attempts", "tokens_used", "minor_issues_count", "major_issues_count",
                  "quality_level", "quality_blocked"):
        value = getattr(update, field)
        if value is not None:
            setattr(phase, field, value)
    set_phase_state(session, phase, update.state, actor)
    phase.updated_at = utcnow()
    roll_up(session, run, tier, phase, before, actor)
    mirror_phase_file(session, phase, tier.tier_id)
    return {"message": f"Phase {phase.phase_id} updated to state {update.state}",
            "phase": phase_document(phase)}


def record_phase_issue(session: Session, run_id: str, phase_id: str, actor: str, **issue: Any) -> dict[str, Any]:
    """POST .../record_issue: record the issue, then refresh counts up to the run and the phase file."""
    loaded = load_for_change(session, run_id, phase_id)
    if loaded is None:
        raise NotFound(f"Phase {phase_id} not found in run {run_id}")
    run, tier, phase = loaded.run, loaded.tier, loaded.phase
    before = mark(phase)
    out = issues.record_issue(session, phase, tier.tier_id, **issue)
    roll_up(session, run, tier, phase, before, actor)
    mirror_phase_file(session, phase, tier.tier_id)
    loaded.save(session)
    return out
