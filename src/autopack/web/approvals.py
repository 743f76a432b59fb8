"""Approvals page: pending approval and governance requests, decided through the API's own services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import ValidationError
from sqlalchemy import select

from autopack.approvals import service as approvals
from autopack.approvals.schemas import ApprovalDecisionIn
from autopack.auth.privileges import (
    auth_in_force,
    may_decide,
    raiser_check,
    require_decider,
    require_signed_decider,
)
from autopack.budget.service import CONTEXT as BUDGET_CONTEXT
from autopack.core.database import ReadSession, WriteSession
from autopack.core.errors import BadRequest, Conflict, NotFound
from autopack.db.models import ApprovalRequest, GovernanceRequest
from autopack.governance import service as governance
from autopack.phases.governance import decide_request
from autopack.web.chrome import chrome
from autopack.web.deps import CheckedForm, PageRoute, SignedIn, field, see_other
from autopack.web.present import diff_lines
from autopack.web.render import render

router = APIRouter(route_class=PageRoute)
PENDING_SHOWN = 50
HISTORY_SHOWN = 25
ApprovalId = Annotated[int, Path(ge=1, le=2**31 - 1)]
GovernanceId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/approvals")
def approvals_page(request: Request, viewer: SignedIn, session: ReadSession):
    """Pending requests with their context and patches, the Approve / Reject forms, and the history."""
    pending = approvals.list_pending(session, limit=PENDING_SHOWN)
    listed = governance.list_pending(session, limit=PENDING_SHOWN, offset=0)["pending_requests"]
    patches = dict(session.execute(select(GovernanceRequest.request_id, GovernanceRequest.patch_content)
                                   .where(GovernanceRequest.request_id.in_([g["request_id"] for g in listed]))).all())
    requests = [{**item, **diff_lines(patches.get(item["request_id"]) or "")} for item in listed]
    decided = session.scalars(select(ApprovalRequest).where(ApprovalRequest.status != "pending")
                              .order_by(ApprovalRequest.responded_at.desc(), ApprovalRequest.id.desc())
                              .limit(HISTORY_SHOWN)).all()
    decided_governance = session.scalars(
        select(GovernanceRequest).where(GovernanceRequest.approved.is_not(None))
        .order_by(GovernanceRequest.decided_at.desc(), GovernanceRequest.id.desc()).limit(HISTORY_SHOWN)).all()
    return render(request, "approvals.html", {
        "chrome": chrome(session, viewer.principal, viewer.csrf),
        "may_decide": not auth_in_force() or may_decide(viewer.principal), "budget_context": BUDGET_CONTEXT,
        "approvals": pending["requests"], "approvals_count": pending["count"], "governance": requests,
        "decided": decided, "decided_governance": [governance.serialize(r) for r in decided_governance]})


def _decision(form: CheckedForm) -> ApprovalDecisionIn:
    amount = field(form, "amount")
    try:
        return ApprovalDecisionIn.model_validate({"reason": field(form, "reason") or None,
                                                  "amount": int(amount) if amount else None})
    except (ValidationError, ValueError):
        raise BadRequest("The reason is at most 2000 characters; the amount a whole number ≥ 1") from None


def _decide_approval(request: Request, session, approval_id: int, form: CheckedForm, approve: bool):
    principal = require_signed_decider(request)  # the API's rule: deciding is a privilege
    body = _decision(form)
    decision = approvals.decide(session, approval_id, approve=approve, actor=principal.actor, reason=body.reason,
                                method="dashboard", check_raiser=raiser_check(principal), amount=body.amount)
    if decision.row is None:
        raise NotFound(f"Approval request #{approval_id} not found")
    if not decision.decided:
        raise Conflict(f"Approval request #{approval_id} is not pending (status: {decision.status})")
    return see_other("/ui/approvals")


@router.post("/approvals/{approval_id}/approve")
def approve(request: Request, approval_id: ApprovalId, form: CheckedForm, session: WriteSession):
    """Approve a pending approval request as the signed-in user."""
    return _decide_approval(request, session, approval_id, form, True)


@router.post("/approvals/{approval_id}/reject")
def reject(request: Request, approval_id: ApprovalId, form: CheckedForm, session: WriteSession):
    """Reject a pending approval request as the signed-in user."""
    return _decide_approval(request, session, approval_id, form, False)


def _decide_governance(request: Request, session, request_id: str, form: CheckedForm, approved: bool):
    principal = require_decider(request)  # None only where the API is open too (no auth in force)
    actor = principal.actor if principal is not None else form["viewer"].actor
    reason = field(form, "reason") or None
    if reason is not None and len(reason) > 2000:
        raise BadRequest("The reason is at most 2000 characters")
    decide_request(session, request_id, approved=approved, actor=actor, claimed_user=actor, reason=reason,
                   check_raiser=raiser_check(principal or form["viewer"].principal))
    return see_other("/ui/approvals")


@router.post("/governance/{request_id}/approve")
def approve_governance(request: Request, request_id: GovernanceId, form: CheckedForm, session: WriteSession):
    """Approve a governance request: its patch is applied to the workspace by the governance service."""
    return _decide_governance(request, session, request_id, form, True)


@router.post("/governance/{request_id}/reject")
def reject_governance(request: Request, request_id: GovernanceId, form: CheckedForm, session: WriteSession):
    """Deny a governance request."""
    return _decide_governance(request, session, request_id, form, False)
