"""The health document and the root (service) document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from autopack.core.answers import Answer


class KillSwitches(Answer):
    """Metric switches read from the environment (on only for the exact value "1")."""

    phase6_metrics: bool
    consolidated_metrics: bool


class ServiceHealth(Answer):
    """GET /health (200 healthy or degraded, 503 unhealthy): the reference's keys, in its order."""

    status: Literal["healthy", "degraded", "unhealthy"]
    timestamp: datetime
    database_identity: str
    database: str
    qdrant: str
    kill_switches: KillSwitches
    version: str
    service: str
    component: str
    rate_limit_storage: str | None = None  # only with a shared store (Redis)
    db_identity_detail: dict[str, Any] | None = None  # only with DEBUG_DB_IDENTITY=1 outside production


class ServiceDocument(Answer):
    """GET /: what this service is, and links (`docs` only while the API docs are served)."""

    service: str
    version: str
    description: str
    links: dict[str, str]
