"""Request and response models of the approval endpoints (the reference's field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from autopack.approvals.payload import MAX_PATCH_BYTES, check_info, check_text
from autopack.core.ids import check_id

RunId = Annotated[str, AfterValidator(lambda v: check_id(v, "run_id"))]
PhaseId = Annotated[str, AfterValidator(lambda v: check_id(v, "phase_id"))]


class ApprovalRequestIn(BaseModel):
    """`POST /approval/request`: free-form in the reference; keys other than these are ignored."""

    model_config = ConfigDict(extra="ignore")

    run_id: RunId
    phase_id: PhaseId
    context: Annotated[str, Field(max_length=128)] = "unknown"
    decision_info: dict[str, Any] | None = None
    deletion_info: dict[str, Any] | None = None
    patch_preview: str | None = None  # what the executor sends
    patch: str | None = None  # accepted too; patch_preview wins when both are present

    @field_validator("context")
    @classmethod
    def _context(cls, value: str) -> str:
        check_text(value, "context", 512)
        return value.strip() or "unknown"

    @field_validator("decision_info", "deletion_info")
    @classmethod
    def _info(cls, value: dict | None, info) -> dict | None:
        return check_info(value, info.field_name)

    @field_validator("patch_preview", "patch")
    @classmethod
    def _patch(cls, value: str | None, info) -> str | None:
        return check_text(value, info.field_name, MAX_PATCH_BYTES)


class ApprovalDecisionIn(BaseModel):
    """`POST /approval/{id}/approve|reject`: why (optional), and for a budget extension how much."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str | None, Field(max_length=2000)] = None
    # Approving a budget extension: how much to add to the exhausted limit (tokens, minutes or
    # phases); without it the request's proposed extension is added.
    amount: Annotated[int | None, Field(ge=1, le=2**31 - 1)] = None

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        value = check_text(value, "reason", 8000)
        if value is None:
            return None
        return value.strip() or None


class ApprovalRequestResponse(BaseModel):
    """The reference's answer: approved (auto mode) or pending with its timeout."""

    status: str
    reason: str
    approval_id: int
    telegram_sent: bool | None = None
    timeout_at: datetime | None = None
    payload_sha256: str


class ApprovalStatus(BaseModel):
    """`GET /approval/status/{id}` (and the answer to a web decision)."""

    approval_id: int
    run_id: str
    phase_id: str
    status: str
    requested_at: datetime
    responded_at: datetime | None
    timeout_at: datetime | None
    approval_reason: str | None
    rejected_reason: str | None
    response_method: str | None
    payload_sha256: str
    decided_by: str | None


class PendingApproval(BaseModel):
    """One entry of `GET /approval/pending`."""

    id: int
    run_id: str
    phase_id: str
    context: str
    requested_at: datetime
    timeout_at: datetime | None
    decision_info: dict | None
    deletion_info: dict | None
    telegram_sent: bool
    payload_sha256: str
    patch_preview: str | None


class PendingList(BaseModel):
    """`{"count", "requests"}`: count is the number of pending requests, requests one page of them."""

    count: int
    requests: list[PendingApproval]
