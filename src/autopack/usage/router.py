"""Executor telemetry endpoints (DECISIONS §3.17)."""

from __future__ import annotations

from fastapi import APIRouter

from autopack.auth.deps import actor_of
from autopack.auth.privileges import Runner
from autopack.core.database import WriteSession, run_in_write_transaction
from autopack.usage import service
from autopack.usage.schemas import PhaseMetricsIn, PhaseMetricsResponse, UsageBatch, UsageBatchResponse

router = APIRouter(tags=["telemetry"])


@router.post("/runs/{run_id}/usage", status_code=201, response_model=UsageBatchResponse)
async def record_usage(run_id: str, batch: UsageBatch, principal: Runner):
    """Store a batch of LLM usage events for a run (they count against its token budget)."""
    return await run_in_write_transaction(service.record_usage, run_id, batch, actor_of(principal))


@router.post("/runs/{run_id}/phases/{phase_id}/metrics", status_code=201,
             response_model=PhaseMetricsResponse)
def record_phase_metrics(run_id: str, phase_id: str, body: PhaseMetricsIn, session: WriteSession, _: Runner):
    """Store token-efficiency and phase-6 metrics for a phase."""
    return service.record_phase_metrics(session, run_id, phase_id, body)
