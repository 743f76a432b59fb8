"""Builder and auditor submission models (BuilderResult is strict, as the reference)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from autopack.runs.schemas import INT32, Count, Label, PhaseId, RunId, Short, Tokens

MAINTENANCE_RUN_TYPES = frozenset({"autopack_maintenance", "autopack_upgrade", "self_repair"})
# The result tables' label columns hold 64 characters: longer is a 422, not a database error.
ResultLabel = Annotated[str, Field(max_length=64)]


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
    run_type: ResultLabel = "project_build"
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
    status: ResultLabel
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
    recommendation: ResultLabel
    confidence: ResultLabel = "medium"


class MessageResponse(BaseModel):
    """A plain confirmation."""

    message: str


class ProbeOutcome(BaseModel):
    """A probe of a stored builder result; its outputs only with `full=true`."""

    probe_type: str
    exit_code: int
    duration_seconds: float
    stdout_bytes: int
    stderr_bytes: int
    stdout: str | None = None
    stderr: str | None = None


class ResultIssue(BaseModel):
    """An issue a builder suggested or an auditor found (free text redacted)."""

    issue_key: str
    severity: str
    source: str
    category: str
    evidence_refs: list[str]
    description: str


class SuggestedPatchOutcome(BaseModel):
    """An auditor's suggested patch: its size; its text only with `full=true`."""

    description: str
    files_affected: list[str]
    patch_bytes: int
    patch_content: str | None = None


class BuilderResultEntry(BaseModel):
    """One stored builder result (the patch itself is never kept: its size and SHA-256 are)."""

    kind: Literal["builder"]
    id: int
    attempt: int
    created_at: datetime
    status: str
    run_type: str
    files_changed: int
    file_paths: list[str]
    lines_added: int
    lines_removed: int
    tokens_used: int
    duration_minutes: float
    patch_bytes: int
    patch_sha256: str | None
    notes: str
    probe_results: list[ProbeOutcome]
    suggested_issues: list[ResultIssue]


class AuditorResultEntry(BaseModel):
    """One stored auditor review."""

    kind: Literal["auditor"]
    id: int
    attempt: int
    created_at: datetime
    recommendation: str
    confidence: str
    review_notes: str
    tokens_used: int
    issues_found: list[ResultIssue]
    suggested_patches: list[SuggestedPatchOutcome]


class PhaseResultsPage(BaseModel):
    """A page of a phase's builder and auditor results, oldest first; `total` counts them all."""

    run_id: str
    phase_id: str
    results: list[Annotated[BuilderResultEntry | AuditorResultEntry, Field(discriminator="kind")]]
    total: int
    limit: int
    offset: int
