"""Bodies of PUT /config, POST /freeze and POST /unfreeze, and the status and configuration answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from autopack.autopilot.proposals import MAX_MONEY
from autopack.core.answers import Answer

Money = Annotated[float, Field(strict=True, gt=0, le=MAX_MONEY, allow_inf_nan=False)]
Ratio = Annotated[float, Field(strict=True, ge=0, le=1000, allow_inf_nan=False)]
Percent = Annotated[float, Field(strict=True, ge=0, le=100, allow_inf_nan=False)]
Flag = Annotated[bool, Field(strict=True)]


class CapsUpdate(BaseModel):
    """Caps to change; an explicit null clears a cap."""

    model_config = ConfigDict(extra="forbid")

    daily_max: Money | None = None
    campaign_max: Money | None = None
    cpa_ceiling: Money | None = None
    roas_floor: Ratio | None = None


class FlagsUpdate(BaseModel):
    """Feature flags to change."""

    model_config = ConfigDict(extra="forbid")

    action_dry_run: Flag | None = None
    custom_autopilot_rules: Flag | None = None


class ConfigUpdate(BaseModel):
    """PUT /config: a partial update of level, caps, feature flags and trust thresholds."""

    model_config = ConfigDict(extra="forbid")

    level: Annotated[int, Field(strict=True, ge=0, le=2)] | None = None
    enabled: Flag | None = None
    caps: CapsUpdate | None = None
    feature_flags: FlagsUpdate | None = None
    healthy_threshold: Percent | None = None
    degraded_threshold: Percent | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> ConfigUpdate:
        if not self.changes():
            raise ValueError("nothing to update: give at least one of level, enabled, caps, feature_flags, "
                             "healthy_threshold, degraded_threshold")
        return self

    def changes(self) -> dict[str, Any]:
        """Column → new value for every field the request set (caps may be cleared with null)."""
        out: dict[str, Any] = {}
        for key in ("level", "enabled", "healthy_threshold", "degraded_threshold"):
            if key in self.model_fields_set and getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.caps is not None:
            out.update({key: getattr(self.caps, key) for key in self.caps.model_fields_set})
        if self.feature_flags is not None:
            out.update({key: value for key in self.feature_flags.model_fields_set
                        if (value := getattr(self.feature_flags, key)) is not None})
        return out


class FreezeRequest(BaseModel):
    """POST /freeze: why all execution stops."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


class UnfreezeRequest(BaseModel):
    """POST /unfreeze: an optional note."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=500)] | None = None


# Answers (inside the /api/v1 envelope's `data`), key for key as the routes build them.


class Caps(Answer):
    """The four caps (None: no cap)."""

    daily_max: float | None
    campaign_max: float | None
    cpa_ceiling: float | None
    roas_floor: float | None


class FeatureFlags(Answer):
    """The tenant's feature flags."""

    action_dry_run: bool
    custom_autopilot_rules: bool


class AutopilotConfig(Answer):
    """Everything PUT /config can change, plus the freeze state."""

    autopilot_level: int
    autopilot_level_name: str
    enabled: bool
    caps: Caps
    feature_flags: FeatureFlags
    healthy_threshold: float
    degraded_threshold: float
    frozen: bool
    frozen_at: datetime | None
    frozen_by: str | None
    frozen_reason: str | None
    updated_at: datetime | None


class ConfigChanged(Answer):
    """PUT /config, POST /freeze, POST /unfreeze: what happened and the configuration now."""

    message: str
    config: AutopilotConfig


class AutopilotStatus(Answer):
    """GET /status: level, caps, pending actions, freeze, and why approved actions are held."""

    autopilot_level: int
    autopilot_level_name: str
    pending_actions: int
    caps: Caps
    enabled: bool
    frozen: bool
    frozen_at: datetime | None
    frozen_reason: str | None
    feature_flags: FeatureFlags
    healthy_threshold: float
    degraded_threshold: float
    approved_actions: int
    held: bool
    held_reasons: list[str]
