"""Approval endpoints: request, status, pending, and web decisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query

from autopack.approvals import service
from autopack.approvals.schemas import (
    ApprovalDecisionIn,
    ApprovalRequestIn,
    ApprovalRequestResponse,
    ApprovalStatus,
    PendingList,
)
from autopack.auth.deps import Principal, actor_of, verify_production_read
from autopack.auth.privileges import raiser_check, require_runner, require_signed_decider
from autopack.core.database import ReadSession, WriteSession, session_scope
from autopack.core.errors import Conflict, NotFound
from autopack.core.responses import json_response

router = APIRouter(tags=["approvals"])
INT32 = 2**31 - 1
ApprovalId = Annotated[int, Path(ge=-INT32 - 1, le=INT32)]


def _not_found(approval_id: int) -> NotFound:
    return NotFound(f"Approval request #{approval_id} not found")


@router.post("/approval/request", response_model=ApprovalRequestResponse)
def request_approval(body: ApprovalRequestIn,
                     principal: Annotated[Principal | None, Depends(require_runner)]):
    """Ask for a human decision; 200 with `approved` (auto mode) or `pending` and its timeout."""
    # Its own transaction rather than WriteSession: the Telegram message goes out after the commit
    # and before this returns, so `telegram_sent` reports whether it went out (reference behaviour).
    with session_scope() as session:
        created = service.create_request(session, body, actor_of(principal))
    return json_response(service.request_response(created))


@router.get("/approval/status/{approval_id}", response_model=ApprovalStatus)
def approval_status(approval_id: ApprovalId, session: ReadSession):
    """The state of one request (the executor polls this)."""
    row = service.get_request(session, approval_id)
    if row is None:
        raise _not_found(approval_id)
    return json_response(service.serialize_status(row))


@router.get("/approval/pending", response_model=PendingList, dependencies=[Depends(verify_production_read)])
def pending_approvals(session: ReadSession, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                      offset: Annotated[int, Query(ge=0, le=10**9)] = 0):
    """Pending requests, newest first (paged); they show patch previews, so production needs a key."""
    return json_response(service.list_pending(session, limit=limit, offset=offset))


def _decide(session, approval_id: int, principal: Principal, body: ApprovalDecisionIn | None,
            approve: bool):
    decision = service.decide(session, approval_id, approve=approve, actor=principal.actor,
                              reason=body.reason if body else None, method="dashboard",
                              check_raiser=raiser_check(principal), amount=body.amount if body else None)
    if decision.row is None:
        raise _not_found(approval_id)
    if not decision.decided:
        raise Conflict(f"Approval request #{approval_id} is not pending (status: {decision.status})",
                       headers={"X-Approval-Status": decision.status})
    return json_response(service.serialize_status(decision.row))


@router.post("/approval/{approval_id}/approve", response_model=ApprovalStatus)
def approve(approval_id: ApprovalId, session: WriteSession,
            principal: Annotated[Principal, Depends(require_signed_decider)],
            body: Annotated[ApprovalDecisionIn | None, Body()] = None):
    """Approve a pending request (who and why are recorded and audited); 409 if already decided."""
    return _decide(session, approval_id, principal, body, True)


@router.post("/approval/{approval_id}/reject", response_model=ApprovalStatus)
def reject(approval_id: ApprovalId, session: WriteSession,
           principal: Annotated[Principal, Depends(require_signed_decider)],
           body: Annotated[ApprovalDecisionIn | None, Body()] = None):
    """Reject a pending request (who and why are recorded and audited); 409 if already decided."""
    return _decide(session, approval_id, principal, body, False)
