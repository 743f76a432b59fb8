"""Answers of the error report reads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorListResponse(BaseModel):
    """Reports of a run, oldest first."""

    run_id: str
    error_count: int
    errors: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class ErrorSummaryResponse(BaseModel):
    """A text summary of a run's errors."""

    run_id: str
    summary: str
