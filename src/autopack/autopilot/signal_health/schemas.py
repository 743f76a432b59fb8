"""Readings in (POST /signal-health), health and the trust gate's dry-run out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from autopack.autopilot.proposals import PLATFORMS, Platform
from autopack.core.answers import Answer

Component = Annotated[float, Field(strict=True, ge=0, le=100, allow_inf_nan=False)]


class Reading(BaseModel):
    """One platform's reading: EMQ, freshness, variance and anomaly, each 0–100."""

    model_config = ConfigDict(extra="forbid")

    platform: Platform
    emq: Component
    freshness: Component
    variance: Component
    anomaly: Component


class ReadingsRequest(BaseModel):
    """POST /signal-health: one reading per platform (at most one each)."""

    model_config = ConfigDict(extra="forbid")

    readings: Annotated[list[Reading], Field(min_length=1, max_length=len(PLATFORMS))]

    @field_validator("readings")
    @classmethod
    def _one_per_platform(cls, readings: list[Reading]) -> list[Reading]:
        platforms = [r.platform for r in readings]
        if len(set(platforms)) != len(platforms):
            raise ValueError("at most one reading per platform")
        return readings


# Answers (inside the /api/v1 envelope's `data`), key for key as the routes build them.

HealthStatus = Literal["healthy", "degraded", "critical", "no_data"]


class PlatformHealth(Answer):
    """Score, status and components of the tenant (overall) or one platform; why when not healthy."""

    score: float | None
    status: HealthStatus
    components: dict[str, float]
    healthy_threshold: float
    degraded_threshold: float
    reasons: list[str]
    platform: str | None
    recorded_at: datetime | None


class SignalHealth(Answer):
    """GET /signal-health: overall and per platform (`platform` when one was asked for)."""

    overall: PlatformHealth
    platforms: dict[str, PlatformHealth]
    platform: PlatformHealth | None = None


class RecordedReading(Answer):
    """A reading just stored."""

    id: int
    platform: Platform
    recorded_at: datetime


class SignalHealthRecorded(Answer):
    """POST /signal-health: the readings stored and the health they result in."""

    recorded: list[RecordedReading]
    overall: PlatformHealth
    platforms: dict[str, PlatformHealth]


class ActionPreview(Answer):
    """The simulated action."""

    action_type: str
    entity_type: str
    entity_id: str
    entity_name: str | None
    platform: Platform
    details: dict[str, Any]


class DryRunResult(Answer):
    """POST /actions/dry-run: the trust gate's decision; nothing executed, one audit row written."""

    would_execute: bool
    decision_type: Literal["execute", "hold", "block"]
    signal_health_score: float | None
    signal_health_status: HealthStatus
    gate_passed: bool
    gate_reasons: list[str]
    healthy_threshold: float
    degraded_threshold: float
    action_preview: ActionPreview
    warnings: list[str]
    enforcement_outcome: str
    audit_log_id: str
    message: str
