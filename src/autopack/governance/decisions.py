"""Deciding a governance request: once only, audited, and an approval applies the stored patch."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.core.errors import Conflict, NotFound
from autopack.db.base import utcnow
from autopack.db.models import GovernanceRequest
from autopack.events import log as events
from autopack.governance.governed import governed_apply
from autopack.governance.service import NOT_FOUND, TARGET_TYPE, PatchVerdict

ALREADY_DECIDED = "Governance request already decided"
STALE = "Workspace changed since the request; approval refused as stale"


@dataclass(frozen=True)
class Decision:
    """A recorded decision: the answer, and the verdict on the stored patch when the approval applied it."""

    answer: dict[str, Any]
    run_id: str
    phase_id: str
    verdict: PatchVerdict | None  # None: denied, or the server holds no patch to apply


def run_of(session: Session, request_id: str) -> str:
    """The run a request belongs to (its lock is taken before the request's); NotFound otherwise."""
    run_id = session.scalars(
        select(GovernanceRequest.run_id).where(GovernanceRequest.request_id == request_id)
    ).one_or_none()
    if run_id is None:
        raise NotFound(NOT_FOUND)
    return run_id


def _locked(session: Session, request_id: str) -> GovernanceRequest | None:
    """The request row, locked until commit and re-read (a concurrent decision may just have landed)."""
    return session.scalars(
        select(GovernanceRequest).where(GovernanceRequest.request_id == request_id)
        .with_for_update().execution_options(populate_existing=True)
    ).one_or_none()


def _apply_approved(request: GovernanceRequest) -> PatchVerdict:
    """Apply the stored patch with only the approved paths waived; Conflict when the workspace moved."""
    approved_paths = json.loads(request.requested_paths or "[]")
    result = governed_apply(request.patch_content or "",
                            allowed_paths=json.loads(request.allowed_paths or "[]"),
                            waived_paths=approved_paths, expected_fingerprint=request.workspace_fingerprint)
    if result.stale:
        raise Conflict(STALE)
    if result.applied:
        return PatchVerdict("applied")
    if result.violation is not None:
        error = ("Failed to apply patch: it touches protected paths the approval does not cover: "
                 + ", ".join(result.violation.paths))
    else:
        error = f"Failed to apply patch: {result.error}"
    return PatchVerdict("refused", reason=error, detail=error)


def decide(session: Session, request_id: str, *, approved: bool, actor: str, claimed_user: str,
           reason: str | None = None,
           check_raiser: Callable[[str | None], None] | None = None) -> Decision:
    """Approve or deny a pending request exactly once; the caller holds its run's lock (see run_of)."""
    request = _locked(session, request_id)
    if request is None:
        raise NotFound(NOT_FOUND)
    if check_raiser is not None:  # four-eyes: raises when the decider raised this request
        check_raiser(request.requested_by)
    if request.approved is not None:
        raise Conflict(ALREADY_DECIDED)
    verdict = None
    # Requests created through POST /governance/request carry no fingerprint: their executor applies.
    if approved and request.patch_content and request.workspace_fingerprint:
        verdict = _apply_approved(request)
    applied = verdict is not None and verdict.applied
    apply_error = verdict.reason if verdict is not None else None
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
    events.record(session, f"governance.{status}", run_id=request.run_id, payload={
        "request_id": request.request_id, "phase_id": request.phase_id, "applied": applied, "actor": actor})
    answer = {"status": status, "request_id": request.request_id,
              "message": f"Governance request {status}", "applied": applied, "apply_error": apply_error}
    return Decision(answer=answer, run_id=request.run_id, phase_id=request.phase_id, verdict=verdict)
