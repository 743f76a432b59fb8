"""Event stream endpoints (server-sent events): one run, one tenant's autopilot, everything."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query

from autopack.auth.deps import Principal, require_superuser
from autopack.autopilot.api import ViewerRead
from autopack.core.database import run_in_read_thread
from autopack.core.errors import BadRequest, NotFound
from autopack.events import service
from autopack.events.service import ALL_EVENTS, EventFilter
from autopack.events.stream import EventStreamResponse, event_stream

router = APIRouter(tags=["events"])

LastEventId = Annotated[str | None, Header(alias="Last-Event-ID", description="resume after this id")]
AfterQuery = Annotated[int | None, Query(ge=0, le=2**63 - 1, description="resume after this id")]
Once = Annotated[bool, Query(description="send the backlog, then close")]


def _after(header: str | None, query: int | None) -> int:
    # The header wins: a browser reconnecting sends it with the URL it first opened.
    if header is None or not header.strip():
        return query or 0
    try:
        value = int(header.strip())
    except ValueError:
        raise BadRequest("Last-Event-ID must be an event id") from None
    if not 0 <= value < 2**63:
        raise BadRequest("Last-Event-ID must be an event id")
    return value


@router.get("/runs/{run_id}/events", response_class=EventStreamResponse)
async def run_events(run_id: str, last_event_id_header: LastEventId = None,
                     last_event_id: AfterQuery = None, once: Once = False):
    """A run's events as `text/event-stream` (public like GET /runs/{run_id})."""
    after = _after(last_event_id_header, last_event_id)
    if not await run_in_read_thread(service.run_exists, run_id):
        raise NotFound(f"Run {run_id} not found")
    return event_stream(EventFilter(run_id=run_id), after, once)


@router.get("/api/v1/tenant/{tenant_id}/autopilot/events", response_class=EventStreamResponse)
async def tenant_events(context: ViewerRead, last_event_id_header: LastEventId = None,
                        last_event_id: AfterQuery = None, once: Once = False):
    """The tenant's events (autopilot actions, enforcement, freeze) as `text/event-stream`."""
    after = _after(last_event_id_header, last_event_id)
    return event_stream(EventFilter(tenant_id=context.tenant_id), after, once)


@router.get("/events", response_class=EventStreamResponse)
async def all_events(_: Annotated[Principal, Depends(require_superuser)],
                     last_event_id_header: LastEventId = None, last_event_id: AfterQuery = None,
                     once: Once = False):
    """Every event of the control plane (the instance key or a superuser)."""
    after = _after(last_event_id_header, last_event_id)
    return event_stream(ALL_EVENTS, after, once)
