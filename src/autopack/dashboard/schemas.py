"""Dashboard request and response models (the reference's `dashboard_schemas` field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from autopack.budget.schemas import IncidentCapCrossed, RunBudget
from autopack.core.errors import BadRequest
from autopack.core.ids import check_id, storable
from autopack.runs.schemas import RunId

Storable = AfterValidator(storable)


def _key(what: str) -> Any:
    return Annotated[str, Field(min_length=1, max_length=128), AfterValidator(lambda v: check_id(v, what))]


Category = _key("category")
ModelName = _key("model")
TestId = _key("test_id")
CommitSha = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{7,64}$")]
ModelHash = Annotated[str, Field(max_length=128), Storable]
Role = Literal["builder", "auditor"]
Complexity = Literal["low", "medium", "high"]


def _note_text(value: str) -> str:
    storable(value)
    if not value.strip():
        raise ValueError("note must not be empty")
    return value


# ---------------------------------------------------------------------------------------- status


class DashboardRunStatus(BaseModel):
    """GET /dashboard/runs/{run_id}/status."""

    run_id: str
    state: str
    current_tier_name: str | None
    current_phase_name: str | None
    current_tier_index: int | None
    current_phase_index: int | None
    total_tiers: int
    total_phases: int
    completed_tiers: int
    completed_phases: int
    percent_complete: float
    tiers_percent_complete: float
    tokens_used: int
    token_cap: int
    token_utilization: float
    minor_issues_count: int
    major_issues_count: int
    quality_level: str | None = None
    quality_blocked: bool = False
    quality_warnings: list[str] = []
    token_efficiency: dict[str, Any] | None = None
    budget: RunBudget
    incident_token_cap_exceeded: list[IncidentCapCrossed]  # phases at or over their own token cap


# ----------------------------------------------------------------------------------------- usage


class ProviderUsage(BaseModel):
    """Token usage of one provider in the period."""

    provider: str
    period: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cap_tokens: int
    percent_of_cap: float


class ModelUsage(BaseModel):
    """Token usage of one (provider, model) in the period."""

    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class UsageResponse(BaseModel):
    """GET /dashboard/usage."""

    providers: list[ProviderUsage]
    models: list[ModelUsage]


# ---------------------------------------------------------------------------------------- models


class ModelMapping(BaseModel):
    """The model used for (role, category, complexity); scope "run" when a run override decides it."""

    role: str
    category: str
    complexity: str
    model: str
    scope: str
    run_id: str | None = None  # only on run-scoped entries (the listing leaves it out otherwise)


class ModelOverrideRequest(BaseModel):
    """POST /dashboard/models/override body (persisted; DECISIONS §3.14)."""

    role: Role
    category: Category
    complexity: Complexity
    model: ModelName
    scope: Literal["global", "run"]
    run_id: RunId | None = None


class ModelOverrideResponse(BaseModel):
    """The stored override."""

    message: str
    scope: str
    run_id: str | None = None
    role: str
    category: str
    complexity: str
    model: str
    previous_model: str | None


# --------------------------------------------------------------------------------- human notes


class HumanNoteRequest(BaseModel):
    """POST /dashboard/human-notes body."""

    note: Annotated[str, Field(max_length=20_000), AfterValidator(_note_text)]
    run_id: RunId | None = None


class HumanNoteResponse(BaseModel):
    """The reference's confirmation, plus the stored note's id."""

    message: str
    timestamp: str
    notes_file: str
    id: int


class HumanNote(BaseModel):
    """One stored note."""

    id: int
    note: str
    run_id: str | None
    created_at: datetime
    created_by: str


class HumanNotesPage(BaseModel):
    """GET /dashboard/human-notes: newest first."""

    total: int
    limit: int
    offset: int
    notes: list[HumanNote]


# ------------------------------------------------------------------------------------- metrics


class TokenEfficiencyStats(BaseModel):
    """GET /dashboard/runs/{run_id}/token-efficiency (legacy)."""

    run_id: str
    total_phases: int
    total_artifact_substitutions: int
    total_tokens_saved_artifacts: int
    total_budget_used: int
    total_budget_cap: int
    total_files_kept: int
    total_files_omitted: int
    semantic_mode_count: int
    lexical_mode_count: int
    avg_artifact_substitutions_per_phase: float = 0.0
    avg_tokens_saved_per_phase: float = 0.0
    budget_utilization: float = 0.0


class Phase6Stats(BaseModel):
    """GET /dashboard/runs/{run_id}/phase6-stats (legacy)."""

    run_id: str
    total_phases: int
    failure_hardening_triggered_count: int
    failure_patterns_detected: dict[str, int] = {}
    doctor_calls_skipped_count: int
    total_doctor_tokens_avoided_estimate: int
    estimate_coverage_stats: dict[str, dict[str, int]] = {}
    intention_context_injected_count: int
    total_intention_context_chars: int
    avg_intention_context_chars_per_phase: float = 0.0
    plan_normalization_used: bool = False


class PhaseTokenMetrics(BaseModel):
    """One phase's share of the consolidated metrics."""

    phase_id: str
    phase_index: int
    name: str
    state: str
    tokens_spent: int
    prompt_tokens: int
    completion_tokens: int
    doctor_tokens_spent: int
    artifact_tokens_avoided: int
    artifact_substitutions_count: int
    doctor_tokens_avoided_estimate: int
    doctor_calls_skipped_count: int


class Pagination(BaseModel):
    """Where a page sits in its list."""

    limit: int
    offset: int
    total: int


class ConsolidatedTokenMetrics(BaseModel):
    """GET /dashboard/runs/{run_id}/consolidated-metrics: the 16 contract keys plus a paged breakdown."""

    run_id: str
    total_tokens_spent: int
    total_prompt_tokens: int
    total_completion_tokens: int
    doctor_tokens_spent: int
    artifact_tokens_avoided: int
    artifact_substitutions_count: int
    doctor_tokens_avoided_estimate: int
    doctor_calls_skipped_count: int
    estimate_coverage_n: int | None
    estimate_source: str | None
    ab_delta_tokens_saved: int | None
    ab_control_run_id: str | None
    ab_treatment_run_id: str | None
    total_phases: int
    completed_phases: int
    phases: list[PhaseTokenMetrics]
    pagination: Pagination


# -------------------------------------------------------------------------------------- A/B tests


class AbResultRequest(BaseModel):
    """POST /dashboard/ab-results: the server measures both runs and judges validity."""

    model_config = ConfigDict(extra="forbid")

    test_id: TestId
    control_run_id: RunId
    treatment_run_id: RunId
    control_commit_sha: CommitSha
    treatment_commit_sha: CommitSha
    control_model_hash: ModelHash = ""
    treatment_model_hash: ModelHash = ""
    # The reference's analysis script names itself here; absent, the caller's actor is stored.
    created_by: Annotated[str, Field(min_length=1, max_length=100), Storable] | None = None


class AbResult(BaseModel):
    """One stored comparison (reference keys, then ours)."""

    id: int
    test_id: str
    control_run_id: str
    treatment_run_id: str
    is_valid: bool
    validity_errors: list[str] | None
    token_delta: int | None
    time_delta_seconds: float | None
    success_rate_delta: float | None
    control_total_tokens: int | None
    control_phases_complete: int | None
    control_phases_failed: int | None
    control_total_phases: int | None
    treatment_total_tokens: int | None
    treatment_phases_complete: int | None
    treatment_phases_failed: int | None
    treatment_total_phases: int | None
    created_at: datetime | None
    created_by: str | None
    validity_warnings: list[str] | None
    control_commit_sha: str
    treatment_commit_sha: str
    control_model_hash: str
    treatment_model_hash: str


class AbFilters(BaseModel):
    """The filters a listing applied."""

    test_id: str | None
    valid_only: bool


class AbResultsPage(BaseModel):
    """GET /dashboard/ab-results."""

    count: int
    total: int
    limit: int
    offset: int
    filters: AbFilters
    results: list[AbResult]


def check_reference_paging(limit: int, offset: int, max_limit: int) -> None:
    """The reference's 400s for out-of-range paging (plus limit < 1, which it let through)."""
    if limit > max_limit:
        raise BadRequest(f"Limit cannot exceed {max_limit}")
    if offset < 0:
        raise BadRequest("Offset cannot be negative")
    if limit < 1:
        raise BadRequest("Limit must be at least 1")
