"""GET /health: database, optional Qdrant, kill switches (reference shape, DECISIONS §3.6)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from typing import Any

import httpx
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from autopack import __version__
from autopack.core.database import get_engine
from autopack.core.ratelimit import storage_status
from autopack.core.settings import get_settings
from autopack.db.base import utcnow
from autopack.error_reports.reporter import redact_text

# The reference's pattern, kept as is: the executor compares this hash with its own.
_CREDENTIALS = re.compile(r"://([^:]+):([^@]+)@")


def database_identity(raw_url: str | None) -> str:
    """sha256 of the masked DATABASE_URL env string (reference default when unset), 12 hex chars."""
    url = raw_url if raw_url is not None else "sqlite:///./autopack.db"  # set-but-empty counts as set
    masked = _CREDENTIALS.sub("://***:***@", url).replace("\\", "/")
    return hashlib.sha256(masked.encode()).hexdigest()[:12]


def kill_switches() -> dict[str, bool]:
    """Only the exact value "1" turns a switch on (read from the environment on every call)."""
    return {
        "phase6_metrics": os.environ.get("AUTOPACK_ENABLE_PHASE6_METRICS", "0") == "1",
        "consolidated_metrics": os.environ.get("AUTOPACK_ENABLE_CONSOLIDATED_METRICS", "0") == "1",
    }


def reported_version(settings) -> str:
    """AUTOPACK_VERSION (a deployment's own label) when set, else the package version."""
    # The settings field defaults to "unknown"; only a value someone actually configured replaces ours.
    configured = settings.autopack_version if "autopack_version" in settings.model_fields_set else None
    return os.environ.get("AUTOPACK_VERSION") or configured or __version__


def check_database() -> str:
    """"connected", or "error: <first 50 chars>" (never a credential)."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
            conn.execute(text("SELECT id FROM runs LIMIT 1"))
        return "connected"
    except Exception as exc:
        return f"error: {redact_text(str(exc))[:50]}"


def check_qdrant(host: str | None) -> str:
    """"disabled" without QDRANT_HOST, else the result of GET {host}/healthz (2 s timeout)."""
    if not host:
        return "disabled"
    try:
        response = httpx.get(f"{host.rstrip('/')}/healthz", timeout=2.0)
    except Exception as exc:
        return f"error: {redact_text(str(exc))[:50]}"
    return "connected" if response.status_code == 200 else f"unhealthy (status {response.status_code})"


def run_checks() -> tuple[str, str, str | None]:
    """(database, qdrant, rate limit storage) — the blocking part of /health."""
    settings = get_settings()
    return (check_database(), check_qdrant(os.environ.get("QDRANT_HOST") or settings.qdrant_host),
            storage_status())


class CheckCache:
    """Dependency checks reused for `AUTOPACK_HEALTH_CACHE_SECONDS` (probes poll often; 0 = never)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._at = float("-inf")
        self._value: tuple[str, str, str | None] | None = None

    async def get(self) -> tuple[str, str, str | None]:
        """Fresh checks, or the last ones when younger than the cache window."""
        ttl = get_settings().health_cache_seconds
        if self._value is not None and time.monotonic() - self._at < ttl:
            return self._value
        async with self._lock:  # one probe at a time; waiters reuse its answer
            if self._value is not None and time.monotonic() - self._at < ttl:
                return self._value
            value = await run_in_threadpool(run_checks)
            self._value, self._at = value, time.monotonic()
            return value


_cache = CheckCache()


async def health_async() -> tuple[dict[str, Any], int]:
    """The health document, with dependency checks run in a worker thread (or reused)."""
    checks = await _cache.get()
    if debug_identity_on():
        return await run_in_threadpool(health, checks)
    return health(checks)


def debug_identity_on() -> bool:
    """DEBUG_DB_IDENTITY=1, read on every call as the reference does; ignored in production."""
    return os.environ.get("DEBUG_DB_IDENTITY") == "1" and not get_settings().is_production


def health(checks: tuple[str, str, str | None] | None = None) -> tuple[dict[str, Any], int]:
    """The health document and its HTTP status (503 when the database is unreachable)."""
    settings = get_settings()
    database, qdrant, rate_limits = checks if checks is not None else run_checks()
    if database != "connected":
        status, code = "unhealthy", 503
    elif qdrant not in ("disabled", "connected") or rate_limits not in (None, "connected"):
        status, code = "degraded", 200
    else:
        status, code = "healthy", 200
    body = {
        "status": status,
        "timestamp": utcnow().isoformat(),
        "database_identity": database_identity(os.environ.get("DATABASE_URL")),
        "database": database,
        "qdrant": qdrant,
        "kill_switches": kill_switches(),
        "version": reported_version(settings),
        "service": "autopack",
        "component": "supervisor_api",
    }
    if rate_limits is not None:  # only when a shared store (Redis) is configured
        body["rate_limit_storage"] = rate_limits
    if debug_identity_on():
        body["db_identity_detail"] = _identity_detail()
    return body, code


def _identity_detail() -> dict[str, Any]:
    """Debug identity without the URL's credentials (the reference leaked the password)."""
    from sqlalchemy import func, select

    from autopack.core.database import session_scope
    from autopack.db.models import Phase, Run
    url = get_settings().sqlalchemy_url
    detail: dict[str, Any] = {"database_url": redact_text(url),
                              "sqlite_file": url.split("///", 1)[1] if url.startswith("sqlite:///") else None}
    try:
        with session_scope(writer=False) as session:
            detail["runs"] = session.scalar(select(func.count()).select_from(Run))
            detail["phases"] = session.scalar(select(func.count()).select_from(Phase))
            detail["sample_run_ids"] = list(session.scalars(select(Run.id).order_by(Run.id).limit(5)))
    except Exception as exc:
        return {"db_identity_error": redact_text(str(exc))[:100]}
    return detail
