"""Executor telemetry: LLM usage events and per-phase metrics (DECISIONS §3.17)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from autopack.core.ids import is_storable  # noqa: F401 (re-exported for the service)
from autopack.core.ids import storable as _storable
from autopack.runs.schemas import INT32, Count, Tokens
from autopack.runs.schemas import Label as _Label
from autopack.runs.schemas import PhaseId as _PhaseId

Storable = AfterValidator(_storable)
Label = Annotated[_Label, Storable]
PhaseId = Annotated[_PhaseId, Storable]
Name64 = Annotated[str, Field(min_length=1, max_length=64), Storable]
Name128 = Annotated[str, Field(min_length=1, max_length=128), Storable]
Text64 = Annotated[str, Field(max_length=64), Storable]


class UsageEventIn(BaseModel):
    """One LLM call."""

    model_config = ConfigDict(extra="forbid")

    provider: Name64
    model: Name128
    role: Name64
    phase_id: PhaseId | None = None
    total_tokens: Tokens = 0
    prompt_tokens: Tokens | None = None
    completion_tokens: Tokens | None = None
    is_doctor_call: bool = False
    doctor_model: Literal["cheap", "strong"] | None = None
    doctor_action: Text64 | None = None
    created_at: datetime | None = None

    @model_validator(mode="after")
    def _total_covers_split(self) -> UsageEventIn:
        if not self.total_tokens and (self.prompt_tokens or self.completion_tokens):
            self.total_tokens = (self.prompt_tokens or 0) + (self.completion_tokens or 0)
        return self


class UsageBatch(BaseModel):
    """POST /runs/{run_id}/usage body: 1 to 1000 events."""

    model_config = ConfigDict(extra="forbid")
    events: Annotated[list[UsageEventIn], Field(min_length=1, max_length=1000)]


class UsageBatchResponse(BaseModel):
    """How many events were stored."""

    run_id: str
    recorded: int
    total_tokens: int


class TokenEfficiencyIn(BaseModel):
    """Token-efficiency figures for one phase."""

    model_config = ConfigDict(extra="forbid")

    artifact_substitutions: Count = 0
    tokens_saved_artifacts: Tokens = 0
    budget_mode: Literal["semantic", "lexical"] = "semantic"
    budget_used: Tokens = 0
    budget_cap: Tokens = 0
    files_kept: Count = 0
    files_omitted: Count = 0
    phase_outcome: Label | None = None
    embedding_cache_hits: Count | None = None
    embedding_cache_misses: Count | None = None
    embedding_calls_made: Count | None = None
    embedding_cap_value: Count | None = None
    embedding_fallback_reason: Label | None = None
    deliverables_count: Count | None = None
    context_files_total: Count | None = None


class Phase6In(BaseModel):
    """Phase-6 ("true autonomy") figures for one phase."""

    model_config = ConfigDict(extra="forbid")

    failure_hardening_triggered: bool = False
    failure_pattern_detected: Label | None = None
    failure_hardening_mitigated: bool = False
    doctor_call_skipped: bool = False
    doctor_tokens_avoided_estimate: Tokens = 0
    estimate_coverage_n: Count | None = None
    estimate_source: Literal["run_local", "global", "fallback"] | None = None
    intention_context_injected: bool = False
    intention_context_chars: Count = 0
    intention_context_source: Text64 | None = None
    plan_normalization_used: bool = False
    plan_normalization_confidence: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    plan_normalization_warnings: Annotated[int, Field(ge=0, le=INT32)] = 0
    plan_deliverables_count: Count = 0
    plan_scope_size_bytes: Tokens = 0


class PhaseMetricsIn(BaseModel):
    """POST /runs/{run_id}/phases/{phase_id}/metrics body: one or both metric groups."""

    model_config = ConfigDict(extra="forbid")
    token_efficiency: TokenEfficiencyIn | None = None
    phase6: Phase6In | None = None

    @model_validator(mode="after")
    def _something(self) -> PhaseMetricsIn:
        if self.token_efficiency is None and self.phase6 is None:
            raise ValueError("provide token_efficiency, phase6, or both")
        return self


class PhaseMetricsResponse(BaseModel):
    """Ids of the stored metric rows."""

    run_id: str
    phase_id: str
    token_efficiency_id: int | None
    phase6_id: int | None
    phase6_recorded: bool
    phase6_enabled: bool
