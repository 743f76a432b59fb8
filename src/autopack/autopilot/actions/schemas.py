"""Request bodies, query types and answers of the action endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autopack.autopilot.enforcement.schemas import Outcome, Violation
from autopack.autopilot.proposals import ActionProposal
from autopack.core.answers import Answer

ActionStatus = Literal["queued", "approved", "applying", "applied", "failed", "dismissed"]
MAX_APPROVE_ALL = 500
NUMBER_KEYS = ("new_budget", "amount", "budget", "change_percent", "percentage")


class CheckedProposal(ActionProposal):
    """A proposal whose budgets are not negative and whose change is not below -100%."""

    @model_validator(mode="after")
    def _sane_budgets(self) -> CheckedProposal:
        for where, data, keys in (("action_json", self.action_json, NUMBER_KEYS),
                                  ("before_value", self.before_value or {}, ("daily_budget", "budget"))):
            for key in keys:
                value = data.get(key)
                if key in data and value is not None and (isinstance(value, bool)
                                                          or not isinstance(value, (int, float))):
                    raise ValueError(f"{where}.{key} must be a number")
        for name, value in (("new_budget", self.new_budget), ("before_value.daily_budget", self.current_budget)):
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.change_percent is not None and self.change_percent < -100:
            raise ValueError("change_percent must be at least -100")
        return self

    def proposal(self) -> ActionProposal:
        """The plain shared proposal (what enforcement and the worker take)."""
        return ActionProposal.model_validate(self.model_dump(include=set(ActionProposal.model_fields)))


class QueueActionRequest(CheckedProposal):
    """POST /actions: a proposal, plus the confirmation token of a confirmed soft block."""

    confirmation_token: Annotated[str, Field(min_length=1, max_length=4096)] | None = None


class ApproveAllRequest(BaseModel):
    """POST /actions/approve-all: 1..500 action ids (DECISIONS §4.16)."""

    model_config = ConfigDict(extra="forbid")

    action_ids: Annotated[list[Annotated[str, Field(max_length=64)]],
                          Field(min_length=1, max_length=MAX_APPROVE_ALL)]


class ActionOut(Answer):
    """An action as every endpoint shows it (`service.action_view`)."""

    id: str
    date: dt.date
    action_type: str
    entity_type: str
    entity_id: str
    entity_name: str | None
    platform: str
    action_json: dict[str, Any]
    before_value: dict[str, Any] | None
    after_value: dict[str, Any] | None
    status: ActionStatus
    created_at: dt.datetime
    approved_at: dt.datetime | None
    applied_at: dt.datetime | None
    error: str | None
    requires_approval: bool
    auto_approved: bool
    reason: str | None
    warnings: list[str]
    created_by: str | None
    approved_by: str | None
    dismissed_at: dt.datetime | None
    dismissed_by: str | None


class ActionFilters(Answer):
    """The filters a page was asked for (None: not filtered)."""

    date: dt.date | None
    status: ActionStatus | None
    platform: str | None


class ActionPage(Answer):
    """GET /actions: a page, newest first; `next_cursor` is None on the last page."""

    actions: list[ActionOut]
    count: int
    filters: ActionFilters
    limit: int
    next_cursor: str | None


class ActionSummary(Answer):
    """GET /actions/summary: counts of the last `days` days' actions, zero-filled."""

    total: int
    by_status: dict[str, int]
    by_type: dict[str, int]
    pending_approval: int
    days: int


class EnforcementDecision(Answer):
    """What enforcement decided about a queued action."""

    outcome: Outcome
    confirmed: bool
    violations: list[Violation]
    audit_log_id: str | None


class ActionQueued(Answer):
    """POST /actions: the queued action and the approval policy's decision."""

    action: ActionOut
    auto_approved: bool
    requires_approval: bool
    reason: str | None
    warnings: list[str]
    enforcement: EnforcementDecision
    cooldown_ends_at: dt.datetime | None = None  # only when a cooldown was let through (advisory)


class ActionRead(Answer):
    """GET /actions/{id}."""

    action: ActionOut


class ActionDecided(ActionRead):
    """POST /actions/{id}/approve or /dismiss: the action after the decision."""

    message: str


class SkippedAction(Answer):
    """An id approve-all did not approve, and why."""

    id: str
    reason: Literal["not_queued", "not_found"]
    current_status: ActionStatus | None


class ApproveAllResult(Answer):
    """POST /actions/approve-all: what was approved, and the ids that were not (unknown or not queued)."""

    approved_count: int
    approved_ids: list[str]
    skipped: list[SkippedAction]
    message: str
