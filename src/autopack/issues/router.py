"""Issue index and project backlog reads (no side effects)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from autopack.core.database import ReadSession
from autopack.core.responses import json_response
from autopack.issues import service
from autopack.issues.schemas import ProjectBacklogResponse, RunIssueIndexResponse

router = APIRouter(tags=["issues"])

Limit = Annotated[int, Query(ge=1, le=10000)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]


@router.get("/runs/{run_id}/issues/index", response_model=RunIssueIndexResponse)
def run_issue_index(run_id: str, session: ReadSession, limit: Limit = 1000, offset: Offset = 0):
    """A run's issues by key (empty for unknown runs)."""
    return json_response(service.run_index(session, run_id, limit, offset))


@router.get("/project/issues/backlog", response_model=ProjectBacklogResponse)
def project_backlog(session: ReadSession, limit: Limit = 1000, offset: Offset = 0):
    """Issues across runs, with ages and cleanup status."""
    return json_response(service.project_backlog(session, limit, offset))
