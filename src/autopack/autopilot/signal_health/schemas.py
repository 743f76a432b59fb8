"""Request bodies of POST /signal-health."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from autopack.autopilot.proposals import PLATFORMS, Platform

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
