"""/api/auth/oauth: credential health (reference §2.9), mounted; plus credential registration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from autopack.auth.deps import Principal, require_user
from autopack.core.database import ReadSession, WriteSession
from autopack.core.errors import Forbidden
from autopack.core.ratelimit import rate_limit
from autopack.core.responses import json_response
from autopack.core.settings import get_settings
from autopack.oauth import service
from autopack.oauth.schemas import (
    PROVIDER_PATTERN,
    CredentialCreate,
    CredentialHealth,
    CredentialOut,
    EventsResponse,
    HealthReport,
    ProvidersResponse,
    RefreshQueued,
    StatusMessage,
)

router = APIRouter(prefix="/api/auth/oauth", tags=["oauth"])

CurrentUser = Annotated[Principal, Depends(require_user)]
Provider = Annotated[str, Path(pattern=PROVIDER_PATTERN, description="Provider name, e.g. github")]
ProviderFilter = Annotated[str | None, Query(pattern=PROVIDER_PATTERN)]
# Fields whose rejected input may be echoed in a 422; anything else (secrets, unknown keys) is redacted.
_PUBLIC_FIELDS = frozenset({"provider", "token_url", "client_id", "scopes", "expires_at",
                            "expires_in_seconds"})


_admin_rate_limit = rate_limit(lambda: get_settings().oauth_admin_rate_limit, "oauth_admin")
# Listed after the user in refresh/reset, so a caller is identified (401/403) before being counted.
AdminRateLimit = Annotated[None, Depends(_admin_rate_limit)]


def _superuser(message: str):
    """A Bearer user who must be a superuser, refused with the reference's 403 wording."""

    def check(user: CurrentUser) -> Principal:
        if not user.is_superuser:
            raise Forbidden(message)
        return user

    return Annotated[Principal, Depends(check)]


RefreshAdmin = _superuser("Admin privileges required for credential refresh")
ResetAdmin = _superuser("Admin privileges required for failure count reset")
CredentialAdmin = _superuser("Admin privileges required for credential management")


def _parse_credential(payload: Any) -> CredentialCreate:
    """Validate the body ourselves so a 422 never echoes a secret back."""
    try:
        return CredentialCreate.model_validate(payload)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            err = dict(err)
            if not err["loc"] or err["loc"][0] not in _PUBLIC_FIELDS:
                err["input"] = "[redacted]"
            err["loc"] = ("body", *err["loc"])
            errors.append(err)
        raise RequestValidationError(errors) from None


@router.get("/health", response_model=HealthReport)
def credential_health_report(user: CurrentUser, session: ReadSession):
    """Every credential's health, a summary and the last 20 events."""
    return json_response(service.health_report(session))


@router.get("/health/{provider}", response_model=CredentialHealth)
def provider_health(provider: Provider, user: CurrentUser, session: ReadSession):
    """One provider's health (status `unknown` when none is stored)."""
    return json_response(service.provider_health(session, provider))


@router.get("/events", response_model=EventsResponse)
def credential_events(user: CurrentUser, session: ReadSession, provider: ProviderFilter = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                      before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None):
    """The last `limit` events, oldest first; `before_id` pages further back (an addition)."""
    return json_response(service.list_events(session, provider=provider, limit=limit, before_id=before_id))


@router.post("/refresh/{provider}", response_model=RefreshQueued)
def refresh_credential(provider: Provider, user: RefreshAdmin, _: AdminRateLimit, session: WriteSession,
                       max_retries: Annotated[int, Query(ge=0, le=10)] = 3):
    """Queue a background refresh (superuser); a refresh worker claims it through the database."""
    queued = service.request_refresh(session, provider, max_retries=max_retries, actor=user.actor)
    return json_response(queued)


@router.post("/reset/{provider}", response_model=StatusMessage)
def reset_failure_count(provider: Provider, user: ResetAdmin, _: AdminRateLimit, session: WriteSession):
    """Reset the consecutive failure count (superuser)."""
    return json_response(service.reset_failure_count(session, provider, actor=user.actor))


@router.get("/providers", response_model=ProvidersResponse)
def list_providers(user: CurrentUser, session: ReadSession):
    """Registered providers with their status."""
    return json_response(service.list_providers(session))


@router.post("/credentials", status_code=201, response_model=CredentialOut,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": CredentialCreate.model_json_schema()}}}})
def register_credential(user: CredentialAdmin, session: WriteSession, payload: Annotated[Any, Body()]):
    """Register or replace a provider's credential (superuser, an addition); secrets are never returned."""
    cred = service.register_credential(session, _parse_credential(payload), actor=user.actor)
    return json_response(service.credential_out(cred), 201)


@router.delete("/credentials/{provider}", response_model=StatusMessage)
def remove_credential(provider: Provider, user: CredentialAdmin, session: WriteSession):
    """Remove a provider's credential (superuser, an addition); its events are kept."""
    return json_response(service.remove_credential(session, provider, actor=user.actor))
