"""Endpoints of a phase: state updates, builder and auditor results (and their list), governance decisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from autopack.auth.deps import Principal, actor_of, verify_read_access
from autopack.auth.privileges import Runner, raiser_check, require_decider
from autopack.core.database import ReadSession, WriteSession, run_in_write_transaction
from autopack.core.responses import json_response
from autopack.governance.params import RequestId
from autopack.governance.schemas import DecisionResponse
from autopack.phases import history, results
from autopack.phases.governance import decide_request
from autopack.phases.schemas import (
    AuditorResult,
    BuilderResult,
    BuilderResultResponse,
    MessageResponse,
    PhaseResultsPage,
)
from autopack.runs.schemas import PhaseStatusResponse, PhaseStatusUpdate

router = APIRouter()

# The executor's calls (Runner: the runner check on the event loop when it reads no database) write in
# one transaction on a write thread: one thread hop per request.


@router.post("/runs/{run_id}/phases/{phase_id}/update_status", response_model=PhaseStatusResponse,
             tags=["runs"])
async def update_status(run_id: str, phase_id: str, update: PhaseStatusUpdate, principal: Runner):
    """Set a phase's state (exact, case-sensitive) and counters; 409 when the run's budget holds new phases."""
    return json_response(*await run_in_write_transaction(
        results.update_status, run_id, phase_id, update, actor_of(principal)))


@router.post("/runs/{run_id}/phases/{phase_id}/builder_result", response_model=BuilderResultResponse,
             tags=["runs"])
async def builder_result(run_id: str, phase_id: str, result: BuilderResult, principal: Runner):
    """Record a builder result (a successful patch moves the phase to GATE)."""
    return await run_in_write_transaction(results.submit_builder_result, run_id, phase_id, result,
                                          actor_of(principal))


@router.post("/runs/{run_id}/phases/{phase_id}/auditor_result", response_model=MessageResponse,
             tags=["runs"])
async def auditor_result(run_id: str, phase_id: str, result: AuditorResult, principal: Runner):
    """Persist an auditor review."""
    return await run_in_write_transaction(results.submit_auditor_result, run_id, phase_id, result,
                                          actor_of(principal))


@router.get("/runs/{run_id}/phases/{phase_id}/results", response_model=PhaseResultsPage, tags=["runs"])
def phase_results(run_id: str, phase_id: str, request: Request, session: ReadSession,
                  limit: Annotated[int, Query(ge=1, le=100)] = 20,
                  offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0, full: bool = False):
    """Every builder and auditor result of a phase, oldest first; public like GET /runs/{run_id}.

    `full=true` adds patch texts and probe outputs: operators only (as GET /governance/request/{id}).
    """
    if full:
        verify_read_access(request)
    return json_response(history.list_results(session, run_id, phase_id, limit, offset, full=full))


@router.post("/governance/approve/{request_id}", response_model=DecisionResponse, tags=["governance"])
def approve(request_id: RequestId, session: WriteSession,
            principal: Annotated[Principal | None, Depends(require_decider)], approved: bool = True,
            user_id: Annotated[str, Query(min_length=1, max_length=255)] = "human",
            reason: Annotated[str | None, Query(max_length=2000)] = None):
    """Approve (applying the stored patch) or deny a pending request; a second decision is a 409."""
    # DECISIONS §3.16: the authenticated principal decides; user_id is only the caller's claim.
    actor = actor_of(principal) if principal is not None else user_id
    return json_response(decide_request(session, request_id, approved=approved, actor=actor,
                                        claimed_user=user_id, reason=reason,
                                        check_raiser=raiser_check(principal)))
