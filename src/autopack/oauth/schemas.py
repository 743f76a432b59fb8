"""Request and response shapes of /api/auth/oauth (reference §2.9 field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

PROVIDER_PATTERN = r"^[a-z0-9_.-]{1,64}$"
ProviderName = Annotated[str, StringConstraints(pattern=PROVIDER_PATTERN)]
SECRET_FIELDS = ("client_secret", "refresh_token", "access_token")
MAX_SECRET_LENGTH = 8192


class CredentialCreate(BaseModel):
    """Register (or replace) a provider's credential. Secrets are write-only."""

    model_config = ConfigDict(extra="forbid")

    provider: ProviderName
    token_url: str = Field(min_length=1, max_length=2048)
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: str | None = Field(None, max_length=MAX_SECRET_LENGTH)
    refresh_token: str | None = Field(None, max_length=MAX_SECRET_LENGTH)
    access_token: str | None = Field(None, max_length=MAX_SECRET_LENGTH)
    expires_at: datetime | None = None
    expires_in_seconds: int | None = Field(None, ge=0, le=10 * 365 * 86400)
    scopes: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] = Field(
        default_factory=list, max_length=100)

    @field_validator("token_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("token_url must be an http(s) URL")
        return value


class CredentialHealth(BaseModel):
    """Health of one credential (reference CredentialHealth.to_dict)."""

    provider: str
    status: str
    last_refresh: datetime | None
    last_refresh_result: str | None
    expires_at: datetime | None
    consecutive_failures: int
    total_refreshes: int
    total_failures: int
    is_healthy: bool
    requires_attention: bool
    message: str


class CredentialOut(BaseModel):
    """A stored credential without its secrets."""

    provider: str
    token_url: str
    client_id: str
    scopes: list[str]
    expires_at: datetime | None
    has_client_secret: bool
    has_access_token: bool
    has_refresh_token: bool
    refresh_state: str
    created_at: datetime
    updated_at: datetime
    health: CredentialHealth


class HealthSummary(BaseModel):
    """Counts over every stored credential."""

    total_credentials: int
    healthy_count: int
    attention_required_count: int
    overall_healthy: bool


class CredentialEvent(BaseModel):
    """One lifecycle event; `id` is an addition (the paging cursor)."""

    id: int
    timestamp: datetime
    provider: str
    event_type: str
    result: str | None
    details: dict[str, Any]


class HealthReport(BaseModel):
    """GET /health."""

    generated_at: datetime
    summary: HealthSummary
    credentials: dict[str, CredentialHealth]
    recent_events: list[CredentialEvent]


class EventsResponse(BaseModel):
    """GET /events."""

    events: list[CredentialEvent]
    count: int
    provider_filter: str | None


class RefreshQueued(BaseModel):
    """POST /refresh/{provider}."""

    status: str
    provider: str
    max_retries: int
    message: str


class StatusMessage(BaseModel):
    """POST /reset/{provider}, DELETE /credentials/{provider}."""

    status: str
    provider: str
    message: str


class ProviderSummary(BaseModel):
    """One row of GET /providers."""

    provider: str
    status: str
    is_healthy: bool
    requires_attention: bool


class ProvidersResponse(BaseModel):
    """GET /providers."""

    providers: list[ProviderSummary]
    count: int
