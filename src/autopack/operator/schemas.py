"""Response documents of the operator surface (for the OpenAPI schema; bodies are built as dicts)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from autopack.budget.schemas import RunBudget


class RunCounts(BaseModel):
    """Tokens and phase buckets of a run (the buckets partition `phases_total`)."""

    tokens_used: int
    token_cap: int
    phases_total: int
    phases_completed: int
    phases_in_progress: int
    phases_pending: int
    phases_failed: int
    phases_skipped: int


class RunSummary(RunCounts):
    """One run in `GET /runs`; phase buckets partition `phases_total`."""

    id: str
    state: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    current_phase_name: str | None


class RunListResponse(BaseModel):
    """A page of runs, newest first; `limit`/`offset` echo the clamped values."""

    runs: list[RunSummary]
    total: int
    limit: int
    offset: int


class PhaseProgress(BaseModel):
    """One phase in a run's progress, by index."""

    phase_id: str
    name: str
    state: str
    phase_index: int
    tokens_used: int
    builder_attempts: int
    incident_token_cap: int | None


class RunProgressResponse(RunCounts):
    """Phase-by-phase progress of one run."""

    run_id: str
    state: str
    started_at: datetime | None
    completed_at: datetime | None
    elapsed_seconds: int | None
    phases: list[PhaseProgress]
    budget: RunBudget


class ArtifactEntry(BaseModel):
    """A file under the run directory; `path` is relative and `/`-separated."""

    path: str
    size_bytes: int
    modified_at: datetime


class ArtifactIndexResponse(BaseModel):
    """A page of a run's artifact files (sorted by path); totals cover every file found."""

    run_id: str
    artifacts: list[ArtifactEntry]
    total_size_bytes: int
    total_count: int
    limit: int
    offset: int
    truncated: bool


class BrowserArtifact(BaseModel):
    """A browser artifact in the reference code's shape."""

    path: str
    type: str  # "screenshot" | "html"
    size_bytes: int
    modified_at: datetime


class BrowserFile(BaseModel):
    """A browser artifact in the contract's shape."""

    path: str
    timestamp: datetime
    size_bytes: int


class BrowserArtifactsResponse(BaseModel):
    """Screenshots and HTML captures: the contract's keys and the reference code's keys."""

    run_id: str
    screenshots: list[BrowserFile]
    html_files: list[BrowserFile]
    total_size_bytes: int
    artifacts: list[BrowserArtifact]
    total_count: int
    truncated: bool
