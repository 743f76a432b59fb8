"""Governance request and response models (reference field names, plus the decision record)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from autopack.core.ids import storable as _storable
from autopack.governance.paths import unsafe_reason
from autopack.runs.schemas import PhaseId, RunId

RiskLevel = Literal["low", "medium", "high", "critical"]


def _safe_path(value: str) -> str:
    reason = unsafe_reason(value)
    if reason:
        raise ValueError(reason)
    return value


SafePath = Annotated[str, Field(max_length=1000), AfterValidator(_safe_path)]
StoredText = Annotated[str, AfterValidator(_storable)]


class GovernanceRequestCreate(BaseModel):
    """POST /governance/request body: an executor that applies locally asks for a decision."""

    run_id: Annotated[RunId, AfterValidator(_storable)]
    phase_id: Annotated[PhaseId, AfterValidator(_storable)]
    requested_paths: Annotated[list[SafePath], Field(min_length=1, max_length=200)]
    justification: Annotated[StoredText, Field(max_length=10_000)] | None = None
    patch_content: StoredText | None = None
    risk_level: RiskLevel | None = None


class GovernanceRequestOut(BaseModel):
    """One governance request."""

    request_id: str
    run_id: str
    phase_id: str
    requested_paths: list[str]
    justification: str | None
    risk_level: str | None
    auto_approved: bool
    approved: bool | None
    approved_by: str | None
    created_at: datetime
    patch_sha256: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    applied: bool = False
    apply_error: str | None = None


class GovernanceRequestDetail(GovernanceRequestOut):
    """One request with the patch a human is asked to approve."""

    patch_content: str | None = None


class PendingPage(BaseModel):
    """GET /governance/pending: `count` and `pending_requests` as the reference, plus paging."""

    count: int
    pending_requests: list[GovernanceRequestOut]
    total: int
    limit: int
    offset: int


class DecisionResponse(BaseModel):
    """POST /governance/approve/{request_id} answer."""

    status: Literal["approved", "denied"]
    request_id: str
    message: str
    applied: bool
    apply_error: str | None = None
