"""Run lifecycle endpoints (thin: validation in schemas, behaviour in services).

Phase state updates and builder and auditor results are the phases package's endpoints
(autopack.phases.router): they answer to the run's budget, which sits above runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response

from autopack.auth.deps import Principal, actor_of
from autopack.auth.privileges import require_run_starter, require_runner
from autopack.core.database import WriteSession, run_in_read_thread
from autopack.core.ratelimit import rate_limit
from autopack.core.responses import json_response
from autopack.core.settings import get_settings
from autopack.issues.schemas import RecordIssueResponse
from autopack.runs import service
from autopack.runs.document import read_run_document
from autopack.runs.schemas import (
    Label,
    RunResponse,
    RunStartRequest,
    Short,
)

router = APIRouter(tags=["runs"])

Actor = Annotated[Principal | None, Depends(require_runner)]
_actor = actor_of


@router.post("/runs/start", status_code=201, response_model=RunResponse,
             dependencies=[Depends(require_run_starter),  # auth first: rejected calls do not spend the limit
                           Depends(rate_limit(lambda: get_settings().runs_start_rate_limit, "runs_start"))])
def start_run(request: RunStartRequest, session: WriteSession,
              principal: Annotated[Principal | None, Depends(require_run_starter)]):
    """Create a run with its tiers and phases (one transaction)."""
    run_id = service.start_run(session, request, _actor(principal))
    return json_response(service.serialize_run(session, run_id), 201)


# The one declaration of this route: the app's read fast path (core.fastpath) answers it before routing,
# matching requests with this route and answering them with this function (so it takes path parameters only).
@router.get("/runs/{run_id}", response_model=RunResponse)
async def get_run(run_id: str):
    """A run with all tiers and phases (the executor polls this: one thread hop, Core queries)."""
    body = await run_in_read_thread(read_run_document, run_id)
    return Response(body, media_type="application/json")


@router.post("/runs/{run_id}/phases/{phase_id}/record_issue", response_model=RecordIssueResponse)
def record_issue(
    run_id: str,
    phase_id: str,
    session: WriteSession,
    principal: Actor,
    issue_key: Annotated[Short, Query(min_length=1)],
    severity: Annotated[Label, Query(min_length=1)],
    source: Annotated[Label, Query(min_length=1)],
    category: Annotated[Label, Query(min_length=1)],
    task_category: Annotated[Label | None, Query()] = None,
    complexity: Annotated[Label | None, Query()] = None,
    evidence_refs: Annotated[list[Annotated[str, Body(max_length=2000)]] | None, Body(max_length=200)] = None,
):
    """Record an issue (query parameters; evidence_refs is a JSON array body)."""
    out = service.record_phase_issue(
        session, run_id, phase_id, _actor(principal), issue_key=issue_key, severity=severity,
        source=source, category=category, task_category=task_category, complexity=complexity,
        evidence_refs=evidence_refs,
    )
    return json_response({"message": f"Issue {issue_key} recorded", **out})
