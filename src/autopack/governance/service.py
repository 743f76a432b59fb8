"""Governance requests (create, read, list) and the verdict on a builder's maintenance patch."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.core.errors import NotFound, Unprocessable
from autopack.core.logging import get_logger
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.db.models import GovernanceRequest
from autopack.events import log as events
from autopack.governance.governed import governed_apply
from autopack.governance.paths import extract_justification, protected_path_error, risk_level
from autopack.governance.telegram_actions import notify_new_request
from autopack.runs import service as runs

log = get_logger(__name__)
TARGET_TYPE = "governance_request"
NOT_FOUND = "Governance request not found"


@dataclass(frozen=True)
class PatchVerdict:
    """Governance's word on one patch; the phase's owner turns it into the phase's state."""

    outcome: Literal["applied", "refused", "needs_approval"]
    reason: str | None = None  # why the phase cannot go on (its failure reason)
    detail: str | None = None  # what builder_result answers with its 422
    request_id: str | None = None  # the governance request created for a human decision

    @property
    def applied(self) -> bool:
        """True when the patch is in the workspace."""
        return self.outcome == "applied"


def serialize(request: GovernanceRequest) -> dict[str, Any]:
    """The reference's request document, plus the patch hash and the decision/apply record."""
    return {
        "request_id": request.request_id, "run_id": request.run_id, "phase_id": request.phase_id,
        "requested_paths": json.loads(request.requested_paths or "[]"),
        "justification": request.justification, "risk_level": request.risk_level,
        "auto_approved": request.auto_approved, "approved": request.approved,
        "approved_by": request.approved_by, "created_at": request.created_at,
        "patch_sha256": request.patch_sha256, "decided_at": request.decided_at,
        "decision_reason": request.decision_reason, "applied": request.applied,
        "apply_error": request.apply_error, "requested_by": request.requested_by,
    }


def create_request(session: Session, *, run_id: str, phase_id: str, paths: Sequence[str],
                   justification: str | None, actor: str, patch: str | None = None,
                   risk: str | None = None, fingerprint: str | None = None,
                   allowed_paths: Sequence[str] = (), source: str = "api") -> GovernanceRequest:
    """Store a pending request (audited); flushes, never commits."""
    request = GovernanceRequest(
        request_id=secrets.token_hex(8), run_id=run_id, phase_id=phase_id,
        requested_paths=json.dumps(list(paths)), justification=justification,
        risk_level=risk or risk_level(paths), auto_approved=False, approved=None,
        created_at=utcnow(), patch_content=patch,
        patch_sha256=hashlib.sha256(patch.encode("utf-8")).hexdigest() if patch else None,
        applied=False, workspace_fingerprint=fingerprint,
        allowed_paths=json.dumps(list(allowed_paths)) if allowed_paths else None, requested_by=actor,
    )
    session.add(request)
    session.flush()
    append_event(session, action="governance.requested", actor=actor, target_type=TARGET_TYPE,
                 target_id=request.request_id,
                 details={"run_id": run_id, "phase_id": phase_id, "paths": list(paths),
                          "risk_level": request.risk_level, "patch_sha256": request.patch_sha256,
                          "source": source})
    events.record(session, "governance.requested", run_id=run_id, payload={
        "request_id": request.request_id, "phase_id": phase_id, "risk_level": request.risk_level,
        "actor": actor})
    notify_new_request(session, request)
    return request


def request_from_api(session: Session, *, run_id: str, phase_id: str, paths: Sequence[str],
                     justification: str | None, patch: str | None, risk: str | None,
                     actor: str) -> dict[str, Any]:
    """POST /governance/request: an executor that applies locally asks for a decision."""
    if patch is not None and len(patch.encode("utf-8")) > get_settings().patch_max_bytes:
        raise Unprocessable(f"patch_content is over the {get_settings().patch_max_bytes}-byte limit")
    run = runs.lock_run(session, run_id)
    if run is None:
        raise NotFound(f"Run {run_id} not found")
    if runs.get_phase(session, run_id, phase_id) is None:
        raise NotFound(f"Phase {phase_id} not found")
    if justification is None:
        justification = extract_justification(patch) if patch else "No justification provided"
    request = create_request(session, run_id=run_id, phase_id=phase_id, paths=list(dict.fromkeys(paths)),
                             justification=justification, actor=actor, patch=patch or None, risk=risk)
    return serialize(request)


def get_request(session: Session, request_id: str) -> dict[str, Any]:
    """One request with its stored patch (what a human approves)."""
    request = session.scalars(
        select(GovernanceRequest).where(GovernanceRequest.request_id == request_id)
    ).one_or_none()
    if request is None:
        raise NotFound(NOT_FOUND)
    return {**serialize(request), "patch_content": request.patch_content}


def list_pending(session: Session, *, limit: int, offset: int) -> dict[str, Any]:
    """Pending requests, newest first; `count` is the page's length as in the reference."""
    pending = GovernanceRequest.approved.is_(None)
    total = session.scalar(select(func.count()).select_from(GovernanceRequest).where(pending))
    rows = session.scalars(
        select(GovernanceRequest).where(pending)
        .order_by(GovernanceRequest.created_at.desc(), GovernanceRequest.id.desc())
        .limit(limit).offset(offset)
    ).all()
    return {"count": len(rows), "pending_requests": [serialize(r) for r in rows], "total": total,
            "limit": limit, "offset": offset}


def review_builder_patch(session: Session, *, run_id: str, phase_id: str, patch: str,
                         allowed_paths: Sequence[str], actor: str) -> PatchVerdict:
    """Apply a maintenance patch to REPO_PATH, or refuse it; protected paths create a pending request."""
    result = governed_apply(patch, allowed_paths=allowed_paths)
    log.info("governed_apply", run_id=run_id, phase_id=phase_id, applied=result.applied,
             mode=result.mode, protected=bool(result.violation), error=result.error)
    if result.applied:
        return PatchVerdict("applied")
    if result.violation is not None:
        violation = result.violation
        request = create_request(
            session, run_id=run_id, phase_id=phase_id, paths=violation.paths,
            justification=violation.justification, actor=actor, patch=patch, risk=violation.risk_level,
            fingerprint=violation.fingerprint, allowed_paths=allowed_paths, source="builder_result")
        reason = (f"Protected paths need approval (governance request {request.request_id}): "
                  f"{', '.join(violation.paths)}")
        detail = protected_path_error(list(violation.paths), violation.justification, request.request_id)
        return PatchVerdict("needs_approval", reason=reason, detail=detail, request_id=request.request_id)
    detail = f"Failed to apply patch: {result.error}"
    return PatchVerdict("refused", reason=detail, detail=detail)
