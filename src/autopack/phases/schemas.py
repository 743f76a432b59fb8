"""Builder and auditor submission models (BuilderResult is strict, as the reference)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from autopack.runs.schemas import INT32, Count, Label, PhaseId, RunId, Short, Tokens

MAINTENANCE_RUN_TYPES = frozenset({"autopack_maintenance", "autopack_upgrade", "self_repair"})


class BuilderProbeResult(BaseModel):
    """One probe the builder ran."""

    probe_type: Label
    exit_code: Annotated[int, Field(ge=-INT32, le=INT32)]
    stdout: str = ""
    stderr: str = ""
    duration_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0


class BuilderSuggestedIssue(BaseModel):
    """An issue the builder (or auditor) suggests recording."""

    issue_key: Short
    severity: Label
    source: Label = "cursor_self_doubt"
    category: Label
    evidence_refs: Annotated[list[Annotated[str, Field(max_length=2000)]], Field(max_length=200)] = []
    description: str = ""


class BuilderResult(BaseModel):
    """POST .../builder_result body; unknown keys are rejected (422 extra_forbidden)."""

    model_config = ConfigDict(extra="forbid")

    phase_id: PhaseId
    run_id: RunId
    run_type: Label = "project_build"
    allowed_paths: Annotated[list[Annotated[str, Field(max_length=1000)]], Field(max_length=1000)] = []
    patch_content: str | None = None
    files_changed: Annotated[list[Annotated[str, Field(max_length=1000)]], Field(max_length=10000)] = []
    lines_added: Count = 0
    lines_removed: Count = 0
    builder_attempts: Count = 1
    tokens_used: Tokens = 0
    duration_minutes: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    probe_results: Annotated[list[BuilderProbeResult], Field(max_length=1000)] = []
    suggested_issues: Annotated[list[BuilderSuggestedIssue], Field(max_length=1000)] = []
    status: Label
    notes: str = ""


class BuilderResultResponse(BaseModel):
    """builder_result answer."""

    message: str
    phase_id: str
    run_id: str
    phase_state: str


class AuditorSuggestedPatch(BaseModel):
    """A patch the auditor proposes."""

    description: str
    patch_content: str
    files_affected: list[str] = []


class AuditorResult(BaseModel):
    """POST .../auditor_result body (extra keys ignored, as the reference)."""

    phase_id: PhaseId
    run_id: RunId
    review_notes: str
    issues_found: Annotated[list[BuilderSuggestedIssue], Field(max_length=1000)] = []
    suggested_patches: Annotated[list[AuditorSuggestedPatch], Field(max_length=1000)] = []
    auditor_attempts: Count = 1
    tokens_used: Tokens = 0
    recommendation: Label
    confidence: Label = "medium"


class MessageResponse(BaseModel):
    """A plain confirmation."""

    message: str
