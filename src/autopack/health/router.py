"""Health and root documents."""

from __future__ import annotations

from fastapi import APIRouter

from autopack import __version__
from autopack.core.responses import json_response
from autopack.health import service

router = APIRouter(tags=["health"])


@router.get("/health", summary="Health with database, Qdrant and kill switch states")
async def health():
    """200 healthy/degraded, 503 unhealthy when the database is unreachable."""
    body, code = await service.health_async()
    return json_response(body, code)


@router.get("/", summary="Service description")
def root() -> dict:
    """The root document (package version, as the reference)."""
    return {"service": "Autopack Supervisor", "version": __version__,
            "description": "v7 autonomous build playbook orchestrator"}
