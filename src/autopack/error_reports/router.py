"""Error report reads for a run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from autopack.core.database import ReadSession
from autopack.core.responses import json_response
from autopack.error_reports import service
from autopack.error_reports.schemas import ErrorListResponse, ErrorSummaryResponse

router = APIRouter(tags=["errors"])


@router.get("/runs/{run_id}/errors", response_model=ErrorListResponse)
def list_errors(run_id: str, session: ReadSession,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0):
    """Every error report of a run (paginated)."""
    return json_response(service.list_reports(session, run_id, limit, offset))


@router.get("/runs/{run_id}/errors/summary", response_model=ErrorSummaryResponse)
def error_summary(run_id: str, session: ReadSession):
    """A text summary of a run's errors."""
    return service.summary(session, run_id)
