"""Request and response models of the run lifecycle (reference field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from autopack.core.ids import check_id

INT32 = 2**31 - 1
INT63 = 2**62

RunId = Annotated[str, AfterValidator(lambda v: check_id(v, "run_id"))]
TierId = Annotated[str, AfterValidator(lambda v: check_id(v, "tier_id"))]
PhaseId = Annotated[str, AfterValidator(lambda v: check_id(v, "phase_id"))]
Count = Annotated[int, Field(ge=0, le=INT32)]
Tokens = Annotated[int, Field(ge=0, le=INT63)]
Short = Annotated[str, Field(max_length=255)]
Label = Annotated[str, Field(max_length=128)]


class IntentionRefs(BaseModel):
    """Indices into the run's intention anchor (extra keys forbidden, as the reference)."""

    model_config = ConfigDict(extra="forbid")
    success_criteria: list[int] = []
    constraints_must: list[int] = []
    constraints_must_not: list[int] = []
    constraints_preferences: list[int] = []


def normalize_scope(scope: dict[str, Any] | None) -> dict[str, Any] | None:
    """Normalise `read_only_context` entries to {"path", "reason"} dicts, dropping unusable ones."""
    if not isinstance(scope, dict):
        return scope
    roc = scope.get("read_only_context")
    if isinstance(roc, list):
        cleaned = []
        for entry in roc:
            if isinstance(entry, str):
                cleaned.append({"path": entry, "reason": ""})
            elif isinstance(entry, dict) and entry.get("path"):
                cleaned.append({"path": entry["path"], "reason": entry.get("reason", "") or ""})
        scope = {**scope, "read_only_context": cleaned}
    return scope


class RunCreate(BaseModel):
    """The `run` part of a start request; falsy caps take the defaults."""

    run_id: RunId
    safety_profile: Label = "normal"
    run_scope: Label = "multi_tier"
    token_cap: Annotated[int, Field(ge=0, le=INT63)] | None = 5_000_000
    max_phases: Annotated[int, Field(ge=0, le=INT32)] | None = 25
    max_duration_minutes: Annotated[int, Field(ge=0, le=INT32)] | None = 120
    goal_anchor: Annotated[str, Field(max_length=100_000)] | None = None


class TierCreate(BaseModel):
    """A tier in a start request."""

    tier_id: TierId
    tier_index: Count
    name: Short
    description: str | None = None


class PhaseCreate(BaseModel):
    """A phase in a start request (unknown keys such as `change_size` are ignored)."""

    phase_id: PhaseId
    phase_index: Count
    tier_id: TierId
    name: Short
    description: str | None = None
    task_category: Label | None = None
    complexity: Label | None = None
    builder_mode: Label | None = None
    scope: dict[str, Any] | None = None
    intention_refs: IntentionRefs | None = None
    incident_token_cap: Annotated[int, Field(ge=1, le=INT63)] | None = None

    @field_validator("scope", mode="after")
    @classmethod
    def _normalize_scope(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return normalize_scope(value)


class RunStartRequest(BaseModel):
    """POST /runs/start body."""

    run: RunCreate
    tiers: Annotated[list[TierCreate], Field(max_length=500)] = []
    phases: Annotated[list[PhaseCreate], Field(max_length=2000)] = []


class PhaseResultsSummary(BaseModel):
    """What the executor last reported for a phase: its latest builder result and auditor verdict."""

    builder_attempts: int
    builder_status: str | None  # the latest builder result's status; null before the first
    files_changed: int  # how many files the latest builder result changed
    lines_added: int
    lines_removed: int
    builder_tokens: int
    auditor_verdict: str | None  # the latest auditor recommendation (approve, revise, escalate ...)


class PhaseResponse(BaseModel):
    """A phase as GET /runs/{run_id} shows it (`tier_id` is the tier row's integer id)."""

    id: int
    phase_id: str
    run_id: str
    tier_id: int
    name: str
    description: str | None
    state: str
    task_category: str | None
    complexity: str | None
    builder_mode: str | None
    phase_index: int
    scope: dict[str, Any] | None
    intention_refs: dict[str, Any] | None
    results_summary: PhaseResultsSummary | None = None  # null before any result (absent: an older server)


class TierResponse(BaseModel):
    """A tier with its phases."""

    id: int
    tier_id: str
    name: str
    state: str
    tier_index: int
    cleanliness: str
    minor_issues_count: int
    major_issues_count: int
    phases: list[PhaseResponse]


class RunResponse(BaseModel):
    """A run with its tiers (nested phases) and a flat phase list."""

    id: str
    state: str
    safety_profile: str
    run_scope: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    tokens_used: int
    ci_runs_used: int
    minor_issues_count: int
    major_issues_count: int
    promotion_eligible_to_main: str
    debt_status: str | None
    failure_reason: str | None
    token_cap: int
    max_phases: int
    max_duration_minutes: int
    usage_tokens: int
    budget_hold: str | None  # token_cap | max_duration_minutes | max_phases while no new phase may start
    budget_approval_id: int | None
    budget_deadline_at: datetime | None
    tiers: list[TierResponse]
    phases: list[PhaseResponse]


class PhaseStatusUpdate(BaseModel):
    """POST .../update_status body; `state` is validated case-sensitively by the service (400)."""

    state: Annotated[str, Field(max_length=64)]
    builder_attempts: Count | None = None
    tokens_used: Tokens | None = None
    minor_issues_count: Count | None = None
    major_issues_count: Count | None = None
    quality_level: Label | None = None
    quality_blocked: bool | None = None


class PhaseStatusResponse(BaseModel):
    """update_status answer: a message and every column of the phase."""

    message: str
    phase: dict[str, Any]
