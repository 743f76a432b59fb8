"""Governance endpoints: pending requests, decisions, and requests from executors (thin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

import autopack.governance.telegram_actions  # noqa: F401  (registers the inline-button handlers)
from autopack.auth.deps import Principal, actor_of, verify_read_access
from autopack.auth.privileges import raiser_check, require_decider, require_runner
from autopack.core.database import ReadSession, WriteSession
from autopack.core.responses import json_response
from autopack.governance import decisions, service
from autopack.governance.schemas import (
    DecisionResponse,
    GovernanceRequestCreate,
    GovernanceRequestDetail,
    GovernanceRequestOut,
    PendingPage,
)

router = APIRouter(prefix="/governance", tags=["governance"])

MAX_PAGE = 500
Runner = Annotated[Principal | None, Depends(require_runner)]
RequestId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/pending", response_model=PendingPage)
def pending(session: ReadSession, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
            offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0):
    """Pending governance requests, newest first."""
    return json_response(service.list_pending(session, limit=limit, offset=offset))


@router.post("/approve/{request_id}", response_model=DecisionResponse)
def approve(request_id: RequestId, session: WriteSession,
            principal: Annotated[Principal | None, Depends(require_decider)], approved: bool = True,
            user_id: Annotated[str, Query(min_length=1, max_length=255)] = "human",
            reason: Annotated[str | None, Query(max_length=2000)] = None):
    """Approve (applying the stored patch) or deny a pending request; a second decision is a 409."""
    # DECISIONS §3.16: the authenticated principal decides; user_id is only the caller's claim.
    actor = actor_of(principal) if principal is not None else user_id
    return json_response(decisions.decide(session, request_id, approved=approved, actor=actor,
                                          claimed_user=user_id, reason=reason,
                                          check_raiser=raiser_check(principal)))


@router.post("/request", status_code=201, response_model=GovernanceRequestOut)
def create_request(body: GovernanceRequestCreate, session: WriteSession, principal: Runner):
    """Record a request for protected paths that an executor will apply itself once approved."""
    created = service.request_from_api(
        session, run_id=body.run_id, phase_id=body.phase_id, paths=body.requested_paths,
        justification=body.justification, patch=body.patch_content, risk=body.risk_level,
        actor=actor_of(principal))
    return json_response(created, 201)


@router.get("/request/{request_id}", response_model=GovernanceRequestDetail,
            dependencies=[Depends(verify_read_access)])
def get_request(request_id: RequestId, session: ReadSession):
    """One request with its patch (what a human approves)."""
    return json_response(service.get_request(session, request_id))
