"""Per-tenant platform configuration: which adapter serves a platform, and its credentials.

`AUTOPACK_PLATFORM_CREDENTIALS` holds JSON, or the path of a file holding it:
`{"<tenant_id>" | "*": {"meta": {"base_url", "access_token", "ad_account_id", "api_version"},
"google": {"base_url", "access_token", "developer_token", "customer_id", "login_customer_id"}}}`.
A platform without an entry uses the `sandbox` adapter; `{"adapter": "sandbox"}` says so explicitly.
Tokens are kept out of every repr, log line and response.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from autopack.core.settings import get_settings

HTTP_ADAPTERS = ("meta", "google")


class CredentialsError(ValueError):
    """The platform configuration cannot be read (the message never contains a secret)."""


@dataclass(frozen=True)
class PlatformConfig:
    """One tenant's settings for one platform."""

    adapter: str
    base_url: str = ""
    account_id: str | None = None
    api_version: str | None = None
    login_customer_id: str | None = None
    access_token: str | None = field(default=None, repr=False)
    developer_token: str | None = field(default=None, repr=False)


SANDBOX = PlatformConfig(adapter="sandbox")


def _platform_config(platform: str, raw: Any) -> PlatformConfig:
    if not isinstance(raw, dict):
        raise CredentialsError(f"platform entry for {platform!r} must be an object")
    adapter = str(raw.get("adapter") or platform)
    if adapter == "sandbox":
        return SANDBOX
    if not raw.get("base_url"):
        raise CredentialsError(f"platform entry for {platform!r} needs base_url")
    account = raw.get("ad_account_id") or raw.get("customer_id") or raw.get("account_id")
    return PlatformConfig(adapter=adapter, base_url=str(raw["base_url"]),
                          account_id=str(account) if account is not None else None,
                          api_version=raw.get("api_version"), login_customer_id=raw.get("login_customer_id"),
                          access_token=raw.get("access_token"), developer_token=raw.get("developer_token"))


@lru_cache(maxsize=4)
def _parse(raw: str) -> dict[str, dict[str, PlatformConfig]]:
    text = raw.strip()
    if text and not text.startswith("{"):
        try:
            text = Path(text).read_text(encoding="utf-8")
        except OSError as exc:
            raise CredentialsError(f"AUTOPACK_PLATFORM_CREDENTIALS file unreadable ({type(exc).__name__})") from None
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError:
        raise CredentialsError("AUTOPACK_PLATFORM_CREDENTIALS is not valid JSON") from None
    if not isinstance(data, dict):
        raise CredentialsError("AUTOPACK_PLATFORM_CREDENTIALS must be a JSON object")
    parsed: dict[str, dict[str, PlatformConfig]] = {}
    for tenant, platforms in data.items():
        if not isinstance(platforms, dict):
            raise CredentialsError(f"entry for tenant {tenant!r} must be an object")
        parsed[str(tenant)] = {str(p).lower(): _platform_config(p, cfg) for p, cfg in platforms.items()}
    return parsed


def platform_config(tenant_id: int | str, platform: str) -> PlatformConfig:
    """The tenant's configuration for `platform` (its own entry, then `*`, then the sandbox)."""
    secret = get_settings().platform_credentials
    table = _parse(secret.get_secret_value() if secret else "")
    for key in (str(tenant_id), "*"):
        config = table.get(key, {}).get(platform.lower())
        if config is not None:
            return config
    return SANDBOX
