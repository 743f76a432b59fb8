"""Run budgets that act: a run over its tokens, time or phases is held until a human extends or stops it.

A hold stops new phases (starting a queued phase answers 409) and raises exactly one approval request
"extend budget or stop" through the approvals service, so Telegram and the web decide it like any
other. Approving adds an amount to the exhausted limit and the run goes on; rejecting, or the request
timing out, ends the run in DONE_FAILED_BUDGET_EXHAUSTED with its queued phases skipped. Every check
runs under the run's row lock (the callers hold it), so two writers cannot raise two holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from autopack.approvals import service as approvals
from autopack.approvals import timeouts
from autopack.approvals.schemas import ApprovalRequestIn
from autopack.audit import service as audit
from autopack.core.database import session_scope
from autopack.core.errors import BadRequest
from autopack.db.base import utcnow
from autopack.db.models import ApprovalRequest, Phase, Run
from autopack.events import log as events
from autopack.runs import service as runs
from autopack.runs.states import BUDGET_EXHAUSTED, PhaseCounts

CONTEXT = "budget_extension"
ACTOR = "system:budget"
ENDED = BUDGET_EXHAUSTED
UNITS = {"token_cap": "tokens", "max_duration_minutes": "minutes", "max_phases": "phases"}
INT32 = 2**31 - 1
INT63 = 2**62
NOT_STARTED = ("QUEUED", "SKIPPED")
BATCH = 100


@dataclass(frozen=True)
class PhaseUse:
    """How many of a run's phases have started and how many wait to start."""

    started: int
    queued: int


def counts_of(states: Iterable[str]) -> PhaseUse:
    """The same counts from a run's phase states already read."""
    counts = PhaseCounts.of(states)
    return PhaseUse(counts.started, counts.phases_pending)


def incidents(phases) -> list[dict[str, Any]]:  # noqa: ANN001 - rows with the phase's token columns
    """Phases whose tokens reached their own incident_token_cap."""
    return [{"phase_id": p.phase_id, "name": p.name, "tokens_used": p.tokens_used or 0,
             "incident_token_cap": p.incident_token_cap}
            for p in phases if p.incident_token_cap and (p.tokens_used or 0) >= p.incident_token_cap]


def counted_tokens(run) -> int:  # noqa: ANN001 - a Run or a row of its columns
    """Tokens charged to the run: the phases' sum or the usage reported for it, whichever is larger."""
    # Both measure the same model calls (an executor reports a phase's tokens and its usage events),
    # so adding them would count a call twice.
    return max(run.tokens_used or 0, run.usage_tokens or 0)


def deadline_for(started_at: datetime | None, minutes: int) -> datetime | None:
    """When a time budget of `minutes` from `started_at` runs out."""
    return None if started_at is None else started_at + timedelta(minutes=minutes)


def phase_counts(run: Run) -> PhaseUse:
    """Started and queued phases of a run, from its counters."""
    counts = PhaseCounts.read(run)
    return PhaseUse(counts.started, counts.phases_pending)


def _next_queued(session: Session, run_id: str) -> str | None:
    return session.scalar(select(Phase.phase_id).where(Phase.run_id == run_id, Phase.state == "QUEUED")
                          .order_by(Phase.phase_index, Phase.id).limit(1))


def exhausted_limit(run: Run, counts: PhaseUse, now: datetime) -> str | None:
    """The first limit the run has reached while phases still wait to start, or None."""
    if not counts.queued:
        return None
    if counted_tokens(run) >= run.token_cap:
        return "token_cap"
    if run.budget_deadline_at is not None and now >= run.budget_deadline_at:
        return "max_duration_minutes"
    if counts.started >= run.max_phases:
        return "max_phases"
    return None


def _usage_of(run: Run, limit: str, counts: PhaseUse, now: datetime) -> int:
    if limit == "token_cap":
        return counted_tokens(run)
    if limit == "max_phases":
        return counts.started
    return int((now - run.started_at).total_seconds() // 60) if run.started_at else 0


def proposed_extension(run: Run, limit: str, counts: PhaseUse, now: datetime) -> int:
    """What approving without an amount adds: enough to clear the overshoot and a quarter more
    (for phases: enough to start every queued phase)."""
    if limit == "max_phases":
        return max(1, counts.started + counts.queued - run.max_phases)
    cap = getattr(run, limit)
    over = max(0, _usage_of(run, limit, counts, now) - cap)
    return max(1, over + cap // 4)


def review(session: Session, run_id: str, actor: str) -> None:
    """After a change to a locked run: hold it when it has reached a limit and phases still wait."""
    run = session.get(Run, run_id)
    if run is not None:
        review_run(session, run, actor)


def review_run(session: Session, run: Run, actor: str) -> None:  # a Run or a record of its row
    """`review` for a run already read (its counters say how many phases started and wait)."""
    if run.budget_hold is not None or run.state.startswith("DONE_"):
        return
    now = utcnow()
    counts = phase_counts(run)
    limit = exhausted_limit(run, counts, now)
    if limit is not None:
        _hold(session, run, limit, counts, now, actor)


def _hold(session: Session, run: Run, limit: str, counts: PhaseUse, now: datetime, actor: str) -> None:
    cap, used = getattr(run, limit), _usage_of(run, limit, counts, now)
    extension = proposed_extension(run, limit, counts, now)
    unit = UNITS[limit]
    info = {"kind": CONTEXT, "limit": limit, "unit": unit, "cap": cap, "used": used,
            "proposed_extension": extension, "phases_started": counts.started,
            "phases_queued": counts.queued, "triggered_by": actor,
            "question": f"Run {run.id} reached its {limit} ({used} of {cap} {unit}). "
                        f"Approve to extend it by {extension} {unit} (or by the amount you give), "
                        "reject to stop the run."}
    created = approvals.create_request(session, ApprovalRequestIn(
        run_id=run.id, phase_id=_next_queued(session, run.id), context=CONTEXT, decision_info=info), ACTOR)
    request = created.approval
    run.budget_hold, run.budget_held_at, run.budget_approval_id = limit, now, request.id
    events.record(session, "run.budget_held", run_id=run.id, payload={
        "limit": limit, "cap": cap, "used": used, "approval_id": request.id,
        "proposed_extension": extension})
    if request.status == "approved":  # auto-approve mode (development only) decided it at once
        _extend(session, run, request, None)


def _on_decision(session: Session, request: ApprovalRequest, amount: int | None) -> None:
    """The approvals service calls this when a budget request is approved, rejected or times out."""
    run = runs.lock_run(session, request.run_id)
    # Only the run's live hold acts: a look-alike request raised through the API changes nothing.
    if run is None or run.budget_approval_id != request.id or run.budget_hold is None \
            or run.state.startswith("DONE_"):
        if amount is not None:
            raise BadRequest("This budget request no longer holds its run; nothing to extend")
        return
    if request.status == "approved":
        _extend(session, run, request, amount)
    else:
        _stop(session, run, request)


def _extend(session: Session, run: Run, request: ApprovalRequest, amount: int | None) -> None:
    limit = run.budget_hold
    by = amount or int((request.decision_info or {}).get("proposed_extension") or 1)
    new_cap = getattr(run, limit) + by
    if new_cap > (INT63 if limit == "token_cap" else INT32):
        raise BadRequest(f"amount too large: {limit} would exceed its maximum")
    setattr(run, limit, new_cap)
    if limit == "max_duration_minutes":
        run.budget_deadline_at = deadline_for(run.started_at, new_cap)
    actor = request.decided_by or ACTOR
    run.budget_hold = run.budget_held_at = None
    details = {"limit": limit, "extended_by": by, "new_cap": new_cap, "approval_id": request.id}
    audit.append_event(session, action="run.budget_extended", actor=actor, target_type="run",
                       target_id=run.id, details=details)
    events.record(session, "run.budget_extended", run_id=run.id, payload={**details, "actor": actor})
    review_run(session, run, actor)  # another limit (or too small an amount) holds it again


def _stop(session: Session, run: Run, request: ApprovalRequest) -> None:
    actor = request.decided_by or approvals.TIMEOUT_ACTOR
    outcome = "timed out" if request.status == "timeout" else f"rejected by {actor}"
    reason = f"Budget exhausted ({run.budget_hold}): extension {outcome}"
    old, now = run.state, utcnow()
    run.state, run.completed_at, run.failure_reason = ENDED, now, reason
    runs.record_event(session, run.id, "run", old, ENDED, actor, reason=reason)
    queued = session.scalars(select(Phase).where(Phase.run_id == run.id, Phase.state == "QUEUED")
                             .order_by(Phase.phase_index, Phase.id)).all()
    for phase in queued:
        before = runs.mark(phase)
        runs.set_phase_state(session, phase, "SKIPPED", actor, reason)
        phase.updated_at = now
        runs.roll_up(session, run, phase.tier, phase, before, actor)
        runs.mirror_phase_file(session, phase, phase.tier.tier_id)
    details = {"limit": run.budget_hold, "approval_id": request.id, "outcome": request.status,
               "phases_skipped": len(queued)}
    audit.append_event(session, action="run.budget_stopped", actor=actor, target_type="run",
                       target_id=run.id, details=details)
    events.record(session, "run.budget_stopped", run_id=run.id, payload={**details, "actor": actor})


def refuse_start(session: Session, run: Run, phase: Phase, new_state: str, actor: str) -> dict | None:
    """Why a phase of a locked run may not start now (the 409 body), or None; may raise the hold itself."""
    if new_state in NOT_STARTED or phase.state not in NOT_STARTED:  # only starting a phase is refused
        return None
    if run.state == ENDED:
        return {"detail": f"Run {run.id} ended: its budget is exhausted ({run.failure_reason})",
                "budget_hold": run.budget_hold, "approval_id": run.budget_approval_id}
    review_run(session, run, actor)
    if run.budget_hold is None:
        return None
    return {"detail": (f"Run {run.id} reached its {run.budget_hold}: phase {phase.phase_id} was not started; "
                       f"approval request #{run.budget_approval_id} decides whether to extend the budget "
                       "or stop the run"),
            "budget_hold": run.budget_hold, "approval_id": run.budget_approval_id}


def status(run, counts: PhaseUse) -> dict[str, Any]:  # noqa: ANN001 - a Run or a row of its columns
    """The run's budgets as the status endpoints show them."""
    return {"hold": run.budget_hold, "held_at": run.budget_held_at, "approval_id": run.budget_approval_id,
            "tokens_counted": counted_tokens(run), "token_cap": run.token_cap,
            "usage_tokens": run.usage_tokens or 0, "phases_started": counts.started,
            "max_phases": run.max_phases, "max_duration_minutes": run.max_duration_minutes,
            "deadline_at": run.budget_deadline_at}


def hold_overdue_runs(now: datetime | None = None, *, batch: int = BATCH) -> int:
    """Worker job: hold unfinished runs whose time budget ran out while phases wait; how many held."""
    now = now or utcnow()
    waiting = exists().where(Phase.run_id == Run.id, Phase.state == "QUEUED")
    due = (select(Run.id).where(Run.budget_deadline_at <= now, Run.budget_hold.is_(None),
                                Run.state.not_like("DONE_%"), waiting)
           .order_by(Run.budget_deadline_at).limit(batch))
    with session_scope(writer=False) as session:  # idle ticks take no write lock
        ids = session.scalars(due).all()
    held = 0
    for run_id in ids:
        with session_scope() as session:
            run = runs.lock_run(session, run_id)
            if run is None:
                continue
            review_run(session, run, ACTOR)
            held += run.budget_hold is not None
    return held


def register() -> None:
    """Decide budget requests through the approvals service, and check time budgets on its worker."""
    approvals.register_decision_hook(CONTEXT, _on_decision)
    timeouts.register_job("budget_holds", hold_overdue_runs)
