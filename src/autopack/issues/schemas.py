"""Issue index and backlog documents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class RecordIssueResponse(BaseModel):
    """record_issue answer: the phase file, the run index entry and the backlog entry."""

    message: str
    phase_file: dict[str, Any]
    run_index_entry: dict[str, Any]
    project_backlog_entry: dict[str, Any]


class RunIssueIndexResponse(BaseModel):
    """A run's issue index, paginated by `limit`/`offset` over issue keys."""

    run_id: str
    issues_by_key: dict[str, dict[str, Any]]
    total: int
    limit: int
    offset: int


class ProjectBacklogResponse(BaseModel):
    """The project backlog, paginated like the index."""

    project_id: str
    issues_by_key: dict[str, dict[str, Any]]
    total: int
    limit: int
    offset: int
