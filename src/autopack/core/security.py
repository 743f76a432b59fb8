"""API-key checks for the Autopack endpoints (reference semantics, constant-time)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader

from autopack.core.errors import AutopackError, Forbidden
from autopack.core.settings import get_settings

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)

INVALID_KEY = "Invalid or missing API key. Set X-API-Key header."
KEY_REQUIRED_IN_PRODUCTION = (
    "AUTOPACK_API_KEY must be configured in production mode. Set AUTOPACK_API_KEY environment variable."
)


def _key_matches(presented: str | None) -> bool:
    configured = get_settings().api_key
    if configured is None or presented is None:
        return False
    return hmac.compare_digest(presented.encode(), configured.get_secret_value().encode())


def verify_api_key(api_key: Annotated[str | None, Security(api_key_header)] = None) -> str | None:
    """X-API-Key as the contract defines it: required when a key is configured or in production."""
    settings = get_settings()
    if settings.api_key is None:
        if settings.is_production:
            raise AutopackError(KEY_REQUIRED_IN_PRODUCTION, status_code=500)
        return None
    if not _key_matches(api_key):
        raise Forbidden(INVALID_KEY)
    return "api_key"


def verify_write_access(api_key: Annotated[str | None, Security(api_key_header)] = None) -> str | None:
    """State-changing executor endpoints: open in development, key required in production (§3.15)."""
    if get_settings().is_production:
        return verify_api_key(api_key)
    return None


def verify_read_access(api_key: Annotated[str | None, Security(api_key_header)] = None) -> str | None:
    """Operator reads: open with AUTOPACK_PUBLIC_READ=1 outside production, else like verify_api_key."""
    settings = get_settings()
    if settings.public_read and not settings.is_production:
        return None
    return verify_api_key(api_key)


ApiKeyAuth = Depends(verify_api_key)
WriteAuth = Depends(verify_write_access)
ReadAuth = Depends(verify_read_access)
