"""Dashboard endpoints (contract §3): reads are public except the two legacy stats (X-API-Key);
every write needs a key or a Bearer JWT in production (DECISIONS §3.15)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from autopack.auth.deps import (
    Principal,
    actor_of,
    verify_api_key,
    verify_production_read,
    verify_write_access,
)
from autopack.core.database import ReadSession, WriteSession, run_in_read_thread
from autopack.dashboard import abtests, mappings, metrics, notes
from autopack.dashboard.schemas import (
    AbResult,
    AbResultRequest,
    AbResultsPage,
    ConsolidatedTokenMetrics,
    DashboardRunStatus,
    HumanNoteRequest,
    HumanNoteResponse,
    HumanNotesPage,
    ModelMapping,
    ModelOverrideRequest,
    ModelOverrideResponse,
    Phase6Stats,
    TokenEfficiencyStats,
    UsageResponse,
)
from autopack.runs.schemas import INT32

router = APIRouter(prefix="/dashboard", tags=["dashboard"])

Writer = Annotated[Principal | None, Depends(verify_write_access)]
PageLimit = Annotated[int, Query(ge=1, le=1000, description="page size (1-1000)")]
PageOffset = Annotated[int, Query(ge=0, le=INT32, description="items to skip")]


@router.get("/runs/{run_id}/status", response_model=DashboardRunStatus)
async def run_status(run_id: str):
    """Progress, budget (tokens summed over phases), issue counts, quality and token efficiency."""
    return Response(await run_in_read_thread(metrics.read_run_status, run_id), media_type="application/json")


@router.get("/usage", response_model=UsageResponse)
def usage(session: ReadSession, period: Annotated[str, Query(max_length=32)] = "week",
          limit: PageLimit = 1000, offset: PageOffset = 0):
    """Tokens by provider and model over day / week / month (other values: a week, echoed)."""
    return metrics.usage(session, period, limit, offset)


@router.get("/models", response_model=list[ModelMapping], response_model_exclude_none=True)
def models(session: ReadSession, run_id: Annotated[str | None, Query(max_length=128)] = None,
           limit: PageLimit = 1000, offset: PageOffset = 0):
    """The model mapping with global overrides applied, and a run's own overrides when `run_id` is given."""
    return mappings.list_mappings(session, run_id, limit, offset)


@router.post("/models/override", response_model=ModelOverrideResponse,
             dependencies=[Depends(verify_write_access)])  # auth before the write transaction
def model_override(request: ModelOverrideRequest, session: WriteSession, principal: Writer):
    """Persist a model override (global or per run); audited."""
    return mappings.set_override(session, request, actor_of(principal))


@router.get("/runs/{run_id}/token-efficiency", response_model=TokenEfficiencyStats,
            dependencies=[Depends(verify_api_key)])
def token_efficiency(run_id: str, session: ReadSession):
    """Token-efficiency aggregates (legacy: prefer consolidated-metrics)."""
    return metrics.run_token_efficiency(session, run_id)


@router.get("/runs/{run_id}/phase6-stats", response_model=Phase6Stats, dependencies=[Depends(verify_api_key)])
def phase6_stats(run_id: str, session: ReadSession):
    """Phase-6 ("true autonomy") aggregates (legacy: prefer consolidated-metrics)."""
    return metrics.phase6_stats(session, run_id)


@router.get("/runs/{run_id}/consolidated-metrics", response_model=ConsolidatedTokenMetrics)
def consolidated_metrics(run_id: str, session: ReadSession, limit: int = 1000, offset: int = 0):
    """Four independent token categories and a paged per-phase breakdown (kill switch: 503 when off)."""
    return metrics.consolidated(session, run_id, limit, offset)


@router.get("/ab-results", response_model=AbResultsPage)
def ab_results(session: ReadSession, test_id: Annotated[str | None, Query(max_length=128)] = None,
               valid_only: bool = True, limit: int = 100, offset: int = 0):
    """Stored A/B comparisons, newest first."""
    return abtests.list_results(session, test_id, valid_only, limit, offset)


@router.post("/ab-results", status_code=201, response_model=AbResult,
             dependencies=[Depends(verify_write_access)])
def record_ab_result(request: AbResultRequest, session: WriteSession, principal: Writer):
    """Measure a control and a treatment run and store the comparison."""
    return abtests.record(session, request, actor_of(principal))


@router.post("/human-notes", response_model=HumanNoteResponse,
             dependencies=[Depends(verify_write_access)])
def human_note(request: HumanNoteRequest, session: WriteSession, principal: Writer):
    """Store a human note (audited) and append it to `.autopack/human_notes.md`."""
    return notes.add_note(session, request, actor_of(principal))


@router.get("/human-notes", response_model=HumanNotesPage, dependencies=[Depends(verify_production_read)])
def list_human_notes(session: ReadSession, limit: PageLimit = 100, offset: PageOffset = 0):
    """Stored human notes, newest first (a key or token in production: notes are people's words)."""
    return notes.list_notes(session, limit, offset)
