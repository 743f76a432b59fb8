"""Governance endpoints: pending requests and requests from executors (thin).

Deciding a request moves its phase, so `POST /governance/approve/{request_id}` is the phases
package's endpoint (autopack.phases.router).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from autopack.auth.deps import Principal, actor_of, verify_read_access
from autopack.auth.privileges import require_runner
from autopack.core.database import ReadSession, WriteSession
from autopack.core.responses import json_response
from autopack.governance import service
from autopack.governance.params import RequestId
from autopack.governance.schemas import (
    GovernanceRequestCreate,
    GovernanceRequestDetail,
    GovernanceRequestOut,
    PendingPage,
)

router = APIRouter(prefix="/governance", tags=["governance"])

MAX_PAGE = 500
Runner = Annotated[Principal | None, Depends(require_runner)]


@router.get("/pending", response_model=PendingPage)
def pending(session: ReadSession, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
            offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0):
    """Pending governance requests, newest first."""
    return json_response(service.list_pending(session, limit=limit, offset=offset))


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
