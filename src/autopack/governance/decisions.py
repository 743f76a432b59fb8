"""Deciding a governance request: once only, audited, and an approval applies the stored patch."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.core.errors import Conflict, NotFound
from autopack.db.base import utcnow
from autopack.db.models import GovernanceRequest, Run
from autopack.governance.governed import governed_apply
from autopack.governance.service import NOT_FOUND, TARGET_TYPE, fail_phase
from autopack.runs import service as runs

ALREADY_DECIDED = "Governance request already decided"
STALE = "Workspace changed since the request; approval refused as stale"


def _locked(session: Session, request_id: str) -> GovernanceRequest | None:
    """The request row, locked until commit and re-read (a concurrent decision may just have landed)."""
    return session.scalars(
        select(GovernanceRequest).where(GovernanceRequest.request_id == request_id)
        .with_for_update().execution_options(populate_existing=True)
    ).one_or_none()


def _apply_approved(session: Session, run: Run, request: GovernanceRequest,
                    actor: str) -> tuple[bool, str | None]:
    """Apply the stored patch with only the approved paths waived; Conflict when the workspace moved."""
    approved_paths = json.loads(request.requested_paths or "[]")
    result = governed_apply(request.patch_content or "",
                            allowed_paths=json.loads(request.allowed_paths or "[]"),
                            waived_paths=approved_paths, expected_fingerprint=request.workspace_fingerprint)
    if result.stale:
        raise Conflict(STALE)
    phase = runs.get_phase(session, request.run_id, request.phase_id)
    if result.applied:
        error = None
    elif result.violation is not None:
        error = ("Failed to apply patch: it touches protected paths the approval does not cover: "
                 + ", ".join(result.violation.paths))
    else:
        error = f"Failed to apply patch: {result.error}"
    if phase is not None:
        if error is None:
            runs.set_phase_state(session, phase, "GATE", actor)
            phase.updated_at = utcnow()
        else:
            fail_phase(session, phase, error, actor)
        runs.refresh_rollups(session, run, actor)
        runs.mirror_phase_file(session, phase, phase.tier.tier_id)
    return error is None, error


def decide(session: Session, request_id: str, *, approved: bool, actor: str, claimed_user: str,
           reason: str | None = None,
           check_raiser: Callable[[str | None], None] | None = None) -> dict[str, Any]:
    """Approve or deny a pending request exactly once; an approval applies a server-held patch."""
    found = session.scalars(
        select(GovernanceRequest.run_id).where(GovernanceRequest.request_id == request_id)
    ).one_or_none()
    if found is None:
        raise NotFound(NOT_FOUND)
    run = runs.lock_run(session, found)  # same lock order as builder_result: run first, then the request
    request = _locked(session, request_id)
    if run is None or request is None:
        raise NotFound(NOT_FOUND)
    if check_raiser is not None:  # four-eyes: raises when the decider raised this request
        check_raiser(request.requested_by)
    if request.approved is not None:
        raise Conflict(ALREADY_DECIDED)
    applied, apply_error = False, None
    # Requests created through POST /governance/request carry no fingerprint: their executor applies.
    if approved and request.patch_content and request.workspace_fingerprint:
        applied, apply_error = _apply_approved(session, run, request, actor)
    request.approved = approved
    request.approved_by = actor
    request.decided_at = utcnow()
    request.decision_reason = reason
    request.applied = applied
    request.apply_error = apply_error
    status = "approved" if approved else "denied"
    append_event(session, action=f"governance.{status}", actor=actor, target_type=TARGET_TYPE,
                 target_id=request.request_id,
                 details={"run_id": request.run_id, "phase_id": request.phase_id,
                          "paths": json.loads(request.requested_paths or "[]"),
                          "patch_sha256": request.patch_sha256, "applied": applied,
                          "apply_error": apply_error, "user_id": claimed_user, "reason": reason})
    return {"status": status, "request_id": request.request_id,
            "message": f"Governance request {status}", "applied": applied, "apply_error": apply_error}
