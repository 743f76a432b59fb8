"""Request and response shapes of /storage (the reference's field names; added fields at the end)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

CandidateId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class StorageScanRequest(BaseModel):
    """POST /storage/scan."""

    scan_type: str = Field(..., max_length=20)
    scan_target: str = Field(..., min_length=1, max_length=4096)
    max_depth: int = Field(3, ge=1, le=100)
    max_items: int = Field(1000, ge=1, le=10_000_000)
    save_to_db: bool = True
    created_by: str | None = Field(None, max_length=255)
    # None: in the background when max_items is above AUTOPACK_STORAGE_INLINE_MAX_ITEMS.
    background: bool | None = None


class StorageScanResponse(BaseModel):
    """A scan's summary (counts so far while it runs)."""

    id: int
    timestamp: datetime
    scan_type: str
    scan_target: str
    total_items_scanned: int
    total_size_bytes: int
    cleanup_candidates_count: int
    potential_savings_bytes: int
    scan_duration_seconds: int | None = None
    created_by: str | None = None
    status: str
    max_depth: int
    max_items: int
    skipped_entries: int
    started_at: datetime | None = None
    completed_at: datetime | None = None
    cancel_requested: bool
    error: str | None = None
    notes: str | None = None


class CleanupCandidateResponse(BaseModel):
    """One proposed file or folder."""

    id: int
    path: str
    size_bytes: int
    age_days: int | None = None
    category: str
    reason: str
    requires_approval: bool
    approval_status: str
    approved_by: str | None = None
    approved_at: datetime | None = None
    execution_status: str | None = None
    compressed: bool
    compressed_path: str | None = None
    compression_ratio: float | None = None
    is_folder: bool
    last_modified: datetime | None = None
    executed_at: datetime | None = None
    execution_error: str | None = None
    trash_path: str | None = None
    restored_at: datetime | None = None


class CategoryStats(BaseModel):
    """Counts per category."""

    count: int
    total_size_bytes: int
    approved_count: int
    approved_size_bytes: int


class StorageScanDetailResponse(BaseModel):
    """A scan with a page of its candidates (largest first) and stats by category."""

    scan: StorageScanResponse
    candidates: list[CleanupCandidateResponse]
    stats_by_category: dict[str, CategoryStats]
    candidates_total: int
    limit: int
    offset: int


class ApprovalRequest(BaseModel):
    """POST /storage/scans/{scan_id}/approve."""

    candidate_ids: list[CandidateId] = Field(..., max_length=10_000)
    approved_by: str = Field(..., min_length=1, max_length=255)
    decision: str = Field(..., max_length=50)
    approval_method: str = Field("api", max_length=50)
    notes: str | None = Field(None, max_length=10_000)


class ApprovalResponse(BaseModel):
    """The recorded decision."""

    approval_id: int
    scan_id: int
    decision: str
    total_candidates: int
    total_size_bytes: int
    approved_by: str
    approved_at: datetime


class ExecutionRequest(BaseModel):
    """POST /storage/scans/{scan_id}/execute: a dry run unless dry_run is false."""

    dry_run: bool = True
    compress_before_delete: bool = False
    category: str | None = Field(None, max_length=50)


class ExecutionResultResponse(BaseModel):
    """What happened to one candidate."""

    candidate_id: int
    path: str
    status: str  # completed | dry_run | skipped | failed (restore: restored)
    error: str | None = None
    freed_bytes: int
    compressed_path: str | None = None
    trash_path: str | None = None


class BatchExecutionResponse(BaseModel):
    """An execution (or restore) of a scan's candidates."""

    total_candidates: int
    successful: int
    failed: int
    skipped: int
    total_freed_bytes: int
    success_rate: float
    execution_duration_seconds: float
    results: list[ExecutionResultResponse]
    dry_run: bool
    batch_id: str | None = None
    trash_dir: str | None = None


class RestoreRequest(BaseModel):
    """POST /storage/scans/{scan_id}/restore: every moved candidate of the scan unless ids are given."""

    candidate_ids: list[CandidateId] | None = Field(None, max_length=10_000)


class SteamGameResponse(BaseModel):
    """One installed game."""

    app_id: str
    name: str
    install_path: str
    size_bytes: int
    size_gb: float
    last_updated: str | None = None
    age_days: int | None = None


class SteamGamesListResponse(BaseModel):
    """Games by size, with totals."""

    total_games: int
    total_size_bytes: int
    total_size_gb: float
    games: list[SteamGameResponse]
    steam_available: bool
    steam_path: str | None = None
    libraries: list[str] = []


class PatternResponse(BaseModel):
    """A pattern in the operator's decisions."""

    pattern_type: str
    pattern_value: str
    category: str
    approvals: int
    rejections: int
    confidence: float
    sample_paths: list[str]
    description: str
    rule_id: int | None = None


class LearnedRuleResponse(BaseModel):
    """A stored rule (sample_paths is a JSON text, as the reference)."""

    id: int
    created_at: str
    pattern_type: str
    pattern_value: str
    suggested_category: str
    confidence_score: float
    based_on_approvals: int
    based_on_rejections: int
    sample_paths: str | None = None
    status: str
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    description: str | None = None
    notes: str | None = None


class RecommendationResponse(BaseModel):
    """One recommendation."""

    type: str
    priority: str
    title: str
    description: str
    evidence: dict[str, Any]
    action: str
    potential_savings_bytes: int | None = None
    potential_savings_gb: float | None = None


class RecommendationsListResponse(BaseModel):
    """Recommendations with the statistics they came from."""

    recommendations: list[RecommendationResponse]
    scan_statistics: dict[str, Any]
