"""What an action proposes: the shared input of queueing, checks, dry-runs and execution."""

from __future__ import annotations

import hashlib
import math
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

ACTION_TYPES = (
    "budget_increase", "budget_decrease", "set_budget", "pause_campaign", "pause_adset",
    "pause_creative", "enable_campaign", "enable_adset", "enable_creative", "bid_increase",
    "bid_decrease",
)
BUDGET_TYPES = frozenset({"budget_increase", "budget_decrease", "set_budget"})
PLATFORMS = ("meta", "google", "tiktok", "snapchat")
ENTITY_TYPES = ("campaign", "adset", "creative")
MAX_MONEY = 1e9  # no ad budget is a billion a day; larger numbers are mistakes

ActionType = Literal[ACTION_TYPES]  # type: ignore[valid-type]
Platform = Literal[PLATFORMS]  # type: ignore[valid-type]
EntityType = Literal[ENTITY_TYPES]  # type: ignore[valid-type]
Text = Annotated[str, Field(min_length=1, max_length=255)]


def _check_numbers(value: Any, path: str = "action_json") -> None:
    """Reject NaN, infinities and absurd magnitudes anywhere in a JSON object."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{path} must be a finite number")
        if abs(value) > MAX_MONEY:
            raise ValueError(f"{path} is out of range (at most {MAX_MONEY:g} in magnitude)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_numbers(item, f"{path}[{i}]")


def first_number(data: dict[str, Any], *keys: str) -> float | None:
    """The first of `keys` in `data` holding a real number (booleans are not numbers), as a float."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


class ActionProposal(BaseModel):
    """An action as queued (POST /actions), checked, dry-run or executed."""

    model_config = ConfigDict(extra="forbid")

    action_type: ActionType
    entity_type: EntityType
    entity_id: Text
    entity_name: Annotated[str, Field(max_length=255)] = ""
    platform: Platform
    action_json: dict[str, Any] = Field(default_factory=dict)
    before_value: dict[str, Any] | None = None

    @field_validator("action_json", "before_value")
    @classmethod
    def _finite(cls, value: dict[str, Any] | None, info) -> dict[str, Any] | None:
        if value is not None:
            try:
                size = len(orjson.dumps(value))
            except TypeError:  # integers beyond 64 bits, nesting deeper than 255: refuse, never a 500
                raise ValueError(f"{info.field_name} holds an out-of-range integer or is nested too deeply") from None
            if size > 16_384:
                raise ValueError(f"{info.field_name} is too large (16 KiB at most)")
            _check_numbers(value, info.field_name)
        return value

    @property
    def current_budget(self) -> float | None:
        """The budget before the change (before_value.daily_budget / budget)."""
        return first_number(self.before_value or {}, "daily_budget", "budget")

    @property
    def new_budget(self) -> float | None:
        """The proposed daily budget: `new_budget` (contract) or `amount` (reference), or derived."""
        value = first_number(self.action_json, "new_budget", "amount", "budget")
        if value is None and self.change_percent is not None and self.current_budget is not None:
            value = round(self.current_budget * (1 + self.change_percent / 100), 2)
        return value

    @property
    def change_percent(self) -> float | None:
        """The proposed change in percent: `change_percent` (contract) or `percentage` (reference)."""
        value = first_number(self.action_json, "change_percent", "percentage")
        if value is None:
            new = first_number(self.action_json, "new_budget", "amount", "budget")
            if new is not None and self.current_budget:
                value = round((new - self.current_budget) / self.current_budget * 100, 4)
        return value

    def proposed_hash(self) -> str:
        """SHA-256 over what the action would change: binds confirmation tokens to these values."""
        canonical = orjson.dumps(
            {"action_type": self.action_type, "entity_type": self.entity_type,
             "entity_id": self.entity_id, "platform": self.platform, "action_json": self.action_json},
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(canonical).hexdigest()
