"""What the status endpoints show of a run's budgets."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class RunBudget(BaseModel):
    """A run's limits, what counts against them, and the hold while a human decides."""

    hold: str | None  # token_cap | max_duration_minutes | max_phases: no new phase starts
    held_at: datetime | None
    approval_id: int | None  # the "extend budget or stop" request (kept after a stop, for the record)
    tokens_counted: int  # the larger of the phases' tokens and the usage reported for the run
    token_cap: int
    usage_tokens: int
    phases_started: int
    max_phases: int
    max_duration_minutes: int
    deadline_at: datetime | None


class IncidentCapCrossed(BaseModel):
    """A phase whose tokens reached its own incident_token_cap."""

    phase_id: str
    name: str
    tokens_used: int
    incident_token_cap: int
