"""The console's routes under /ui (one include per page family), its static files and the tenant switch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from autopack.core.errors import NotFound
from autopack.web import approvals, audit_usage, autopilot, login, runs, storage, uploads_research
from autopack.web.deps import PageRoute, SignedIn, see_other
from autopack.web.render import page_headers

STATIC = Path(__file__).parent / "static"
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
# Only the files shipped in static/, read once: a name is a key here or a 404 (no path is ever joined).
_FILES = {p.name: (p.read_bytes(), _TYPES[p.suffix]) for p in STATIC.iterdir() if p.suffix in _TYPES}

router = APIRouter(prefix="/ui", include_in_schema=False, route_class=PageRoute)


@router.get("/static/{name}")
def static_file(name: str):
    """The console's own stylesheet and scripts."""
    found = _FILES.get(name)
    if found is None:
        raise NotFound("No such file")
    return page_headers(Response(found[0], media_type=found[1], headers={"Cache-Control": "public, max-age=300"}))


@router.get("")
def home(_: SignedIn):
    """The console starts at the runs inbox."""
    return see_other("/ui/runs")


@router.get("/tenant")
def switch_tenant(_: SignedIn, tenant_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None):
    """The header's tenant switcher (a plain GET form): to the tenant's autopilot page."""
    return see_other(f"/ui/tenants/{tenant_id}/autopilot" if tenant_id else "/ui/runs")


for family in (login, runs, approvals, autopilot, audit_usage, storage, uploads_research):
    router.include_router(family.router)
