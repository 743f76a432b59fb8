"""Enforcement request bodies (strict numbers, ranges checked: 422 on nonsense) and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from autopack.autopilot.proposals import MAX_MONEY, ActionProposal, ActionType, EntityType, Platform
from autopack.autopilot.proposals import _check_numbers as check_numbers
from autopack.core.answers import Answer

Mode = Literal["advisory", "soft_block", "hard_block"]
Money = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=MAX_MONEY)]
Ratio = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=MAX_MONEY)]
Percent = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=10_000)]
RuleId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
NOT_NULL = ("enforcement_enabled", "default_mode", "budget_increase_limit_pct", "min_roas_threshold",
            "roas_lookback_days", "max_budget_changes_per_day", "min_hours_between_changes")


class SettingsUpdate(BaseModel):
    """PUT /settings: every field optional; an explicit null clears a nullable cap."""

    model_config = ConfigDict(extra="forbid")

    enforcement_enabled: StrictBool | None = None
    default_mode: Mode | None = None
    max_daily_budget: Money | None = None
    max_campaign_budget: Money | None = None
    budget_increase_limit_pct: Percent | None = None
    min_roas_threshold: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1000)] | None = None
    roas_lookback_days: Annotated[int, Field(strict=True, ge=1, le=90)] | None = None
    max_budget_changes_per_day: Annotated[int, Field(strict=True, ge=1, le=1000)] | None = None
    min_hours_between_changes: Annotated[int, Field(strict=True, ge=0, le=168)] | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> SettingsUpdate:
        nulls = [name for name in NOT_NULL if name in self.model_fields_set and getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """Only the fields the client sent."""
        return {name: getattr(self, name) for name in self.model_fields_set}


def _budget(values: dict[str, Any] | None, name: str) -> None:
    for key in ("daily_budget", "budget", "new_budget", "amount"):
        value = (values or {}).get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name}.{key} must be a number")  # noqa: TRY004 - pydantic wants ValueError
        if value < 0:
            raise ValueError(f"{name}.{key} must not be negative")
        if value > MAX_MONEY:
            raise ValueError(f"{name}.{key} must be at most {MAX_MONEY:g}")


class CheckRequest(BaseModel):
    """POST /check: the contract's body (`platform` optional, defaulting to meta)."""

    model_config = ConfigDict(extra="forbid")

    action_type: ActionType
    entity_type: EntityType
    entity_id: Annotated[str, Field(min_length=1, max_length=255)]
    proposed_value: dict[str, Any]
    current_value: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    platform: Platform = "meta"
    _proposal: ActionProposal = PrivateAttr()

    @field_validator("proposed_value", "current_value")
    @classmethod
    def _budgets(cls, value: dict[str, Any] | None, info) -> dict[str, Any] | None:
        _budget(value, info.field_name)
        return value

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                check_numbers(value, "metrics")
            except RecursionError:
                raise ValueError("metrics is nested too deeply") from None
        for key in ("roas", "cpa"):
            item = (value or {}).get(key)
            if item is None:
                continue
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                raise ValueError(f"metrics.{key} must be a number")  # noqa: TRY004 - pydantic wants ValueError
            if not 0 <= item <= MAX_MONEY:  # NaN fails both comparisons
                raise ValueError(f"metrics.{key} must be between 0 and {MAX_MONEY:g}")
        return value

    @model_validator(mode="after")
    def _as_proposal(self) -> CheckRequest:
        try:  # NaN, infinities and absurd magnitudes anywhere are refused here: 422, never a 500
            self._proposal = self._build()
        except ValidationError as exc:
            raise ValueError("; ".join(e["msg"] for e in exc.errors())) from None
        except (TypeError, RecursionError):
            raise ValueError("proposed_value or current_value is not a plain JSON object of sane values") from None
        return self

    def proposal(self) -> ActionProposal:
        """The shared proposal: proposed_value becomes action_json (budget as `new_budget`)."""
        return self._proposal

    def _build(self) -> ActionProposal:
        action_json = dict(self.proposed_value)
        for key in ("daily_budget", "budget"):
            if key in action_json and "new_budget" not in action_json:
                action_json["new_budget"] = action_json.pop(key)
        return ActionProposal(action_type=self.action_type, entity_type=self.entity_type,
                              entity_id=self.entity_id, platform=self.platform, action_json=action_json,
                              before_value=self.current_value)


class ConfirmRequest(BaseModel):
    """POST /confirm."""

    model_config = ConfigDict(extra="forbid")

    confirmation_token: Annotated[str, Field(min_length=1, max_length=4096)]
    override_reason: Annotated[str, Field(max_length=2000)] | None = None


class KillSwitchRequest(BaseModel):
    """POST /kill-switch: the reason is required (audited)."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool
    reason: Annotated[str, Field(min_length=1, max_length=2000)]

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reason must not be blank")
        return value.strip()


class RuleCreate(BaseModel):
    """POST /rules; rule_type is checked by the service (422 listing the valid types)."""

    model_config = ConfigDict(extra="forbid")

    rule_id: RuleId
    rule_type: Annotated[str, Field(min_length=1, max_length=40)]
    threshold_value: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=MAX_MONEY)]
    enforcement_mode: Mode = "advisory"
    enabled: StrictBool = True
    description: Annotated[str, Field(max_length=1000)] | None = None


# Answers (inside the /api/v1 envelope's `data`), key for key as the routes build them.

Outcome = Literal["allowed", "advisory", "soft_block", "hard_block"]


class Violation(Answer):
    """One broken rule: the contract's `type` plus `violation_type`, `rule_id`, `mode` (and `details`)."""

    type: str
    violation_type: str
    rule_id: str
    mode: Mode
    message: str
    threshold: float | None
    actual: float | None
    details: dict[str, Any] | None = None  # frequency caps only: counts, resets, cooldown end


class EnforcementRule(Answer):
    """A custom rule."""

    rule_id: str
    rule_type: str
    threshold_value: float
    enforcement_mode: Mode
    enabled: bool
    description: str | None


class EnforcementSettings(Answer):
    """The tenant's enforcement settings with its custom rules."""

    enforcement_enabled: bool
    default_mode: Mode
    max_daily_budget: float | None
    max_campaign_budget: float | None
    budget_increase_limit_pct: float
    min_roas_threshold: float
    roas_lookback_days: int
    max_budget_changes_per_day: int
    min_hours_between_changes: int
    rules: list[EnforcementRule]


class SettingsRead(Answer):
    """GET /settings: the settings and what each mode means."""

    settings: EnforcementSettings
    modes: dict[str, str]


class SettingsUpdated(Answer):
    """PUT /settings."""

    message: str
    settings: EnforcementSettings


class CheckResult(Answer):
    """POST /check: the decision; a soft block carries a single-use confirmation token."""

    allowed: bool
    mode: Mode
    outcome: Outcome
    violations: list[Violation]
    warnings: list[str]
    requires_confirmation: bool
    confirmation_token: str | None
    audit_log_id: str | None


class ConfirmationAccepted(Answer):
    """POST /confirm: the override is logged; queue the action again with the token."""

    message: str
    override_logged: bool
    audit_log_id: str
    action_type: str
    entity_type: str
    entity_id: str
    expires_at: datetime | None


class KillSwitchChanged(Answer):
    """POST /kill-switch."""

    message: str
    enforcement_enabled: bool
    changed_by_user_id: int | None
    changed_by: str
    reason: str
    audit_log_id: str


class InterventionLogEntry(Answer):
    """One row of the intervention log (the contract's entry plus `actor`)."""

    id: str
    timestamp: datetime
    action_type: str
    entity_type: str
    entity_id: str
    violation_type: str | None
    intervention_action: str
    enforcement_mode: str | None
    details: dict[str, Any]
    user_id: int | None
    override_reason: str | None
    actor: str | None


class InterventionLogFilters(Answer):
    """The page's query: days, limit and cursor always; a filter only when given."""

    days: int
    limit: int
    cursor: str | None
    intervention_action: str | None = None
    enforcement_mode: Mode | None = None
    action_type: str | None = None
    entity_id: str | None = None
    violation_type: str | None = None


class InterventionLogPage(Answer):
    """GET /audit-log: newest first; `next_cursor` is None on the last page."""

    logs: list[InterventionLogEntry]
    count: int
    next_cursor: str | None
    filters: InterventionLogFilters


class RuleAdded(Answer):
    """POST /rules."""

    message: str
    rule: EnforcementRule


class RuleDeleted(Answer):
    """DELETE /rules/{rule_id}."""

    message: str
