"""Executor telemetry endpoints (DECISIONS §3.17)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from autopack.auth.deps import Principal, actor_of
from autopack.auth.privileges import require_runner
from autopack.core.database import WriteSession
from autopack.usage import service
from autopack.usage.schemas import PhaseMetricsIn, PhaseMetricsResponse, UsageBatch, UsageBatchResponse

router = APIRouter(tags=["telemetry"], dependencies=[Depends(require_runner)])


@router.post("/runs/{run_id}/usage", status_code=201, response_model=UsageBatchResponse)
def record_usage(run_id: str, batch: UsageBatch, session: WriteSession,
                 principal: Annotated[Principal | None, Depends(require_runner)]):
    """Store a batch of LLM usage events for a run (they count against its token budget)."""
    return service.record_usage(session, run_id, batch, actor_of(principal))


@router.post("/runs/{run_id}/phases/{phase_id}/metrics", status_code=201,
             response_model=PhaseMetricsResponse)
def record_phase_metrics(run_id: str, phase_id: str, body: PhaseMetricsIn, session: WriteSession):
    """Store token-efficiency and phase-6 metrics for a phase."""
    return service.record_phase_metrics(session, run_id, phase_id, body)
