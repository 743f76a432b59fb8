"""Health and root documents."""

from __future__ import annotations

from fastapi import APIRouter, Request

from autopack import __version__
from autopack.core.answers import documented
from autopack.core.responses import json_response
from autopack.health import service
from autopack.health.schemas import ServiceDocument, ServiceHealth

router = APIRouter(tags=["health"])


@router.get("/health", summary="Health with database, Qdrant and kill switch states",
            responses=documented(ServiceHealth, 200, 503))
async def health():
    """200 healthy/degraded, 503 unhealthy when the database is unreachable."""
    body, code = await service.health_async()
    return json_response(body, code)


@router.get("/", summary="Service description", response_model=ServiceDocument)
def root(request: Request) -> dict:
    """The root document: the reference's keys (service, version, description) naming this product, and links."""
    links = {"health": "/health"}
    if request.app.docs_url:  # /docs is off in production unless AUTOPACK_DOCS_PUBLIC=1
        links["docs"] = request.app.docs_url
    return {"service": "Autopack", "version": __version__,
            "description": "A control plane for governed autonomy", "links": links}
