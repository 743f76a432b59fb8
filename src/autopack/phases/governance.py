"""A governed patch's effect on its phase: governance gives the verdict, this sets the phase's state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from autopack.core.errors import NotFound
from autopack.db.base import utcnow
from autopack.db.models import Phase
from autopack.governance import decisions
from autopack.governance import service as governance
from autopack.governance.service import NOT_FOUND, PatchVerdict
from autopack.runs import service as runs


def settle_patch(session: Session, phase: Phase, verdict: PatchVerdict, actor: str) -> None:
    """GATE when the patch applied; else FAILED with the verdict's reason (kept even if already FAILED)."""
    if verdict.applied:
        runs.set_phase_state(session, phase, "GATE", actor)
    else:
        runs.set_phase_state(session, phase, "FAILED", actor, reason=verdict.reason)
        phase.last_failure_reason = verdict.reason
    phase.updated_at = utcnow()


def apply_maintenance_patch(session: Session, phase: Phase, patch: str, allowed_paths: Sequence[str],
                            actor: str) -> PatchVerdict:
    """The server applies a maintenance builder's patch itself (governed) and moves the phase."""
    verdict = governance.review_builder_patch(session, run_id=phase.run_id, phase_id=phase.phase_id,
                                              patch=patch, allowed_paths=allowed_paths, actor=actor)
    settle_patch(session, phase, verdict, actor)
    return verdict


def decide_request(session: Session, request_id: str, *, approved: bool, actor: str, claimed_user: str,
                   reason: str | None = None,
                   check_raiser: Callable[[str | None], None] | None = None) -> dict[str, Any]:
    """Decide a governance request (web or Telegram); an approval that applied or failed moves its phase."""
    # Same lock order as builder_result: the run first, then the request.
    run = runs.lock_run(session, decisions.run_of(session, request_id))
    if run is None:
        raise NotFound(NOT_FOUND)
    decision = decisions.decide(session, request_id, approved=approved, actor=actor,
                                claimed_user=claimed_user, reason=reason, check_raiser=check_raiser)
    if decision.verdict is not None:
        phase = runs.get_phase(session, decision.run_id, decision.phase_id)
        if phase is not None:
            before = runs.mark(phase)
            settle_patch(session, phase, decision.verdict, actor)
            runs.roll_up(session, run, phase.tier, phase, before, actor)
            runs.mirror_phase_file(session, phase, phase.tier.tier_id)
    return decision.answer
